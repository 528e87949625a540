import type { ActivityLogController, ActivityPage, ActivityStats } from '../activity/activity-logger.js';
import type { AlertEngine } from '../alerts/engine.js';
import type { AlertEngineStats, AlertEventType, AlertPage } from '../alerts/types.js';
import {
  CAPABILITY_METHODS,
  isActivityStore,
  isAlertStore,
  type ActivityStore,
  type Alert,
  type AlertStore,
  type StoreCapabilities,
} from '../contracts.js';
import { invalidConfig, SessionError } from '../errors.js';
import type { ManagerCapabilities, SessionManagerOptions } from './types.js';

/** The stores of a manager's optional features; `null` where the feature is off. */
export interface FeatureStores {
  readonly activity: ActivityStore | null;
  readonly alerts: AlertStore | null;
  readonly capabilities: ManagerCapabilities;
  /** Why each feature is off, for its NOT_SUPPORTED errors (unused while it is on). */
  readonly reasons: { readonly activity: string; readonly alerts: string };
  /**
   * The one message saying which features are off for want of a store, for the manager to print
   * once; `null` when every feature is on or was turned off on purpose.
   */
  readonly notice: string | null;
}

/**
 * Picks the store of each optional feature: the one named for it (`activityStore`, `alertStore`),
 * else `store` if it offers the capability. A feature the user configured (activity or alert
 * options) without any store for it is a mistake: `INVALID_CONFIG`. One merely absent is off.
 */
export function resolveFeatureStores(options: SessionManagerOptions): FeatureStores {
  const activity = pickStore(options, 'activity', 'activityStore', isActivityStore);
  const alerts = pickStore(options, 'alerts', 'alertStore', isAlertStore);
  const activityOn = activity !== null && options.activity !== false;
  if (activity === null && options.activity !== undefined && options.activity !== false) {
    invalidConfig('activity', `is configured, but no store offers the activity capability (${methodList('activity')}): pass activityStore, or a store that has it`);
  }
  if (alerts === null && options.alerts !== undefined && options.alerts !== false) {
    invalidConfig('alerts', `is configured, but no store offers the alerts capability (${methodList('alerts')}): pass alertStore, or a store that has it`);
  }
  const missing: Feature[] = [];
  if (activity === null && options.activity === undefined) missing.push('activity');
  if (alerts === null && options.alerts === undefined) missing.push('alerts');
  return {
    activity: activityOn ? activity : null,
    alerts,
    capabilities: Object.freeze({ activity: activityOn, alerts: alerts !== null }),
    reasons: { activity: offReason('activity', options.activity === false), alerts: offReason('alerts', options.alerts === false) },
    notice: missing.length === 0 ? null : offNotice(options.store.kind, missing),
  };
}

/**
 * `sessions.activity` of a manager without an activity store: recording does nothing (the HTTP
 * middleware records every request, and that must keep working), reading throws NOT_SUPPORTED.
 */
export function disabledActivityLog(reason: string): ActivityLogController {
  let closed = false;
  return {
    record() {
      if (closed) throw new SessionError('CLOSED', 'The session manager is closed');
    },
    list(): Promise<ActivityPage> {
      return Promise.reject(notSupported('activity.list()', reason));
    },
    flush: () => Promise.resolve(),
    stats: (): ActivityStats => ({ queued: 0, written: 0, dropped: 0, failed: 0 }),
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}

/** The alert engine of a manager without an alert store: no rule runs, reading throws NOT_SUPPORTED. */
export function disabledAlertEngine(reason: string): AlertEngine {
  const none = { created: false, limitReached: false, validated: false, tokenRejected: false, rotated: false, revoked: false };
  return {
    wants: Object.freeze(none satisfies Record<AlertEventType, boolean>),
    watchesRotatedTokens: false,
    lookupRotatedToken: () => Promise.resolve(null),
    submit() {},
    close: () => Promise.resolve(),
    list: (): Promise<AlertPage> => Promise.reject(notSupported('alerts.list()', reason)),
    acknowledge: (): Promise<Alert> => Promise.reject(notSupported('alerts.acknowledge()', reason)),
    resolve: (): Promise<Alert> => Promise.reject(notSupported('alerts.resolve()', reason)),
    flush: () => Promise.resolve(),
    stats: (): AlertEngineStats => {
      const queue = { waiting: 0, dropped: 0, folded: 0 };
      return { pending: 0, dropped: 0, raised: 0, folded: 0, errors: 0, queues: { events: { ...queue }, guesses: { ...queue } } };
    },
  };
}

// --- internal ---

type Feature = 'activity' | 'alerts';

/** The one line a manager prints when features are off for want of a store. */
function offNotice(kind: unknown, missing: readonly Feature[]): string {
  const store = typeof kind === 'string' && kind.length > 0 ? `the ${kind} store` : 'the store';
  const one = missing.length === 1;
  return (
    `sessionkeeper: ${store} has no ${missing.join(' or ')} capability, so ${missing.map((f) => `sessions.${f}`).join(' and ')} ` +
    `${one ? 'is' : 'are'} off (their listing throws NOT_SUPPORTED). Pass ${missing.map((f) => STORE_OPTION[f]).join(' / ')} ` +
    `to turn ${one ? 'it' : 'them'} on, or ${missing.map((f) => `${f}: false`).join(' / ')} to silence this.`
  );
}

const STORE_OPTION: Readonly<Record<Feature, string>> = { activity: 'activityStore', alerts: 'alertStore' };

/** Why a feature is off, for its NOT_SUPPORTED message. */
function offReason(feature: Feature, turnedOff: boolean): string {
  if (turnedOff) return `${feature} is turned off (${feature}: false)`;
  return `no store offers the ${feature} capability (pass ${STORE_OPTION[feature]} to createSessionManager)`;
}

/** The store for one capability, or null; a store that claims a capability it lacks is INVALID_CONFIG. */
function pickStore<S>(
  options: SessionManagerOptions,
  capability: keyof StoreCapabilities,
  field: 'activityStore' | 'alertStore',
  has: (store: unknown) => store is S,
): S | null {
  const named: unknown = options[field];
  if (named !== undefined) {
    if (!has(named)) invalidConfig(field, `must implement the ${capability} capability (${methodList(capability)})`);
    return named;
  }
  const { store } = options;
  if (store.capabilities?.[capability] === true && !has(store)) {
    invalidConfig('store', `declares capabilities.${capability} but lacks some of ${methodList(capability)}`);
  }
  return has(store) ? store : null;
}

function methodList(capability: keyof StoreCapabilities): string {
  return CAPABILITY_METHODS[capability].join(', ');
}

function notSupported(call: string, reason: string): SessionError {
  return new SessionError('NOT_SUPPORTED', `${call} is not available: ${reason}`);
}
