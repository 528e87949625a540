import type { ActivityOptions } from '../activity/activity-logger.js';
import type { AlertOptions } from '../alerts/types.js';
import type { EpochMs, SessionInvalidation, SessionLimit, SessionStore } from '../contracts.js';
import { parseDuration, type Duration } from '../duration.js';
import { invalidConfig, SessionError } from '../errors.js';
import type { SessionEvents } from '../events.js';
import { createIpProtector, type IpProtector } from '../net/ip-privacy.js';
import { resolveFeatureStores, type FeatureStores } from './capabilities.js';
import type { SessionManagerOptions, SessionPreset } from './types.js';

/** A manager's options after validation: what the manager and its features read. */
export interface ResolvedConfig {
  readonly store: SessionStore;
  /** The activity and alert stores, or `null` where the feature is off. */
  readonly features: FeatureStores;
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly touchMs: number;
  readonly limit: SessionLimit | undefined;
  readonly maxMetadataBytes: number;
  readonly now: () => EpochMs;
  readonly onListenerError: (error: unknown, event: keyof SessionEvents) => void;
  readonly activity: ActivityOptions;
  readonly protectIp: IpProtector;
  readonly alerts: AlertOptions | false | undefined;
  /** The validation cache, or `null` when off. */
  readonly cache: ResolvedCache | null;
}

/** `cache` of the options, checked. */
export interface ResolvedCache {
  readonly ttlMs: number;
  readonly max: number;
  readonly invalidation: SessionInvalidation | null;
  readonly onError: (error: unknown) => void;
}

/** Checks `options` once; a bad one throws `INVALID_CONFIG` naming the field. */
export function resolveConfig(options: SessionManagerOptions): ResolvedConfig {
  if (options === null || typeof options !== 'object') invalidConfig('options', 'must be an object');
  const { store } = options;
  if (!store || typeof store.insert !== 'function' || typeof store.findByTokenHash !== 'function') {
    invalidConfig('store', 'must be a SessionStore such as memoryStore(), sqliteStore() or postgresStore()');
  }
  const { idleMs, absoluteMs, touchMs } = resolveTimeouts(options);
  const maxMetadataBytes = options.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES;
  if (!Number.isSafeInteger(maxMetadataBytes) || maxMetadataBytes < 2) invalidConfig('maxMetadataBytes', 'must be an integer of at least 2');
  if (options.onListenerError !== undefined && typeof options.onListenerError !== 'function') {
    invalidConfig('onListenerError', 'must be a function');
  }
  const onListenerError =
    options.onListenerError ?? ((error, event) => console.error(`sessionkeeper: a '${event}' listener threw`, error));
  const protectIp = createIpProtector({ ipPrivacy: options.ipPrivacy, ipHashKey: options.ipHashKey });
  const features = resolveFeatureStores(options);
  return {
    store,
    features,
    idleMs,
    absoluteMs,
    touchMs,
    limit: resolveLimit(options),
    maxMetadataBytes,
    now: resolveClock(options),
    onListenerError,
    activity: options.activity === false ? {} : (options.activity ?? {}),
    protectIp,
    alerts: options.alerts,
    cache: resolveCache(options),
  };
}

// --- internal ---

const DEFAULT_MAX_METADATA_BYTES = 32 * 1024;

interface PresetTimeouts {
  readonly idleTimeout?: Duration;
  readonly absoluteTimeout: Duration;
}

/**
 * The upper bounds NIST SP 800-63B-4 gives for reauthentication (sections 2.1.3, 2.2.3, 2.3.3).
 * AAL1 requires no inactivity timeout, so it keeps the default one.
 */
const PRESETS: Readonly<Record<SessionPreset, PresetTimeouts>> = Object.freeze({
  aal1: { absoluteTimeout: '30d' },
  aal2: { idleTimeout: '1h', absoluteTimeout: '24h' },
  aal3: { idleTimeout: '15m', absoluteTimeout: '12h' },
});

function resolveTimeouts(options: SessionManagerOptions): { idleMs: number; absoluteMs: number; touchMs: number } {
  let preset: PresetTimeouts | undefined;
  if (options.preset !== undefined) {
    if (typeof options.preset !== 'string' || !Object.hasOwn(PRESETS, options.preset)) {
      invalidConfig('preset', `must be one of ${Object.keys(PRESETS).map((name) => `'${name}'`).join(', ')}`);
    }
    preset = PRESETS[options.preset];
  }
  const idleMs = parseDuration(options.idleTimeout ?? preset?.idleTimeout ?? '30m', 'idleTimeout');
  const absoluteMs = parseDuration(options.absoluteTimeout ?? preset?.absoluteTimeout ?? '7d', 'absoluteTimeout');
  const touchMs = parseDuration(options.touchInterval ?? '1m', 'touchInterval');
  if (idleMs === 0) invalidConfig('idleTimeout', 'must be greater than zero');
  if (absoluteMs === 0) invalidConfig('absoluteTimeout', 'must be greater than zero');
  if (touchMs >= idleMs) {
    invalidConfig('touchInterval', `(${touchMs} ms) must be shorter than idleTimeout (${idleMs} ms), or active sessions would expire between writes`);
  }
  return { idleMs, absoluteMs, touchMs };
}

function resolveLimit(options: SessionManagerOptions): SessionLimit | undefined {
  if (options.maxSessionsPerUser === undefined) {
    if (options.onLimit !== undefined) invalidConfig('onLimit', 'has no effect without maxSessionsPerUser');
    return undefined;
  }
  const max = options.maxSessionsPerUser;
  if (!Number.isSafeInteger(max) || max < 1) invalidConfig('maxSessionsPerUser', 'must be a positive integer');
  const onLimit = options.onLimit ?? 'evict-oldest';
  if (onLimit !== 'evict-oldest' && onLimit !== 'reject') invalidConfig('onLimit', "must be 'evict-oldest' or 'reject'");
  return Object.freeze({ max, onLimit });
}

function resolveCache(options: SessionManagerOptions): ResolvedCache | null {
  const { cache } = options;
  if (cache === undefined) return null;
  if (cache === null || typeof cache !== 'object') invalidConfig('cache', 'must be an object such as { ttl: \'2s\', max: 10000 }');
  const ttlMs = parseDuration(cache.ttl ?? '2s', 'cache.ttl');
  if (ttlMs === 0) invalidConfig('cache.ttl', 'must be greater than zero');
  const max = cache.max ?? 10_000;
  if (!Number.isSafeInteger(max) || max < 1 || max > 100_000_000) invalidConfig('cache.max', 'must be an integer from 1 to 100000000');
  const { invalidation } = cache;
  if (
    invalidation !== undefined &&
    (invalidation === null ||
      typeof invalidation !== 'object' ||
      typeof invalidation.publish !== 'function' ||
      typeof invalidation.subscribe !== 'function' ||
      typeof invalidation.close !== 'function')
  ) {
    invalidConfig('cache.invalidation', 'must be a SessionInvalidation such as redisInvalidation() or postgresInvalidation()');
  }
  if (cache.onError !== undefined && typeof cache.onError !== 'function') invalidConfig('cache.onError', 'must be a function');
  const onError = cache.onError ?? ((error: unknown) => console.error('sessionkeeper: the validation cache\'s invalidation channel failed', error));
  return Object.freeze({ ttlMs, max, invalidation: invalidation ?? null, onError });
}

function resolveClock(options: SessionManagerOptions): () => EpochMs {
  if (options.clock === undefined) return Date.now;
  const clock = options.clock;
  if (typeof clock !== 'function') invalidConfig('clock', 'must be a function returning a Date');
  return () => {
    const ms = clock().getTime();
    if (Number.isNaN(ms)) invalidConfig('clock', 'returned an invalid Date');
    return ms;
  };
}
