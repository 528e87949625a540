import { invalidArgument, invalidConfig } from './errors.js';

/** Milliseconds, or a string of one integer and a unit: `'500ms'`, `'90s'`, `'30m'`, `'12h'`, `'7d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PATTERN = /^(\d{1,9})(ms|s|m|h|d)$/;

/**
 * Converts a {@link Duration} to milliseconds.
 *
 * @param field names the option in the error message, e.g. `'idleTimeout'`.
 * @throws SessionError `INVALID_CONFIG` (or `INVALID_ARGUMENT` when `code` says so) for anything that
 *   is not a non-negative safe integer of milliseconds or a well-formed duration string.
 * @example
 * parseDuration('30m', 'idleTimeout') // 1_800_000
 */
export function parseDuration(
  value: unknown,
  field: string,
  code: 'INVALID_CONFIG' | 'INVALID_ARGUMENT' = 'INVALID_CONFIG',
): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
  } else if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value.trim());
    // '999999999d' is 8.6e16 ms: past 2^53 a count of milliseconds is no longer exact.
    const ms = match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : Number.NaN;
    if (Number.isSafeInteger(ms)) return ms;
  }
  const problem = `must be a non-negative integer of milliseconds or a duration such as '90s', '30m', '12h' or '7d'; got ${describe(value)}`;
  if (code === 'INVALID_CONFIG') invalidConfig(field, problem);
  throw invalidArgument(`${field} ${problem}`);
}

// --- internal ---

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'number' ? String(value) : typeof value;
}
