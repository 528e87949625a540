import type { AlertSeverity } from '../contracts.js';

export const ALERT_SEVERITIES: readonly AlertSeverity[] = ['info', 'low', 'medium', 'high', 'critical'];

/** The more severe of two severities: a folded alert keeps the worst its occurrences reported. */
export function higherSeverity(a: AlertSeverity, b: AlertSeverity): AlertSeverity {
  return ALERT_SEVERITIES.indexOf(b) > ALERT_SEVERITIES.indexOf(a) ? b : a;
}
