/**
 * The storage contracts. The manager holds all policy (timeouts, throttling, events); a store only
 * persists records and makes each method below atomic. {@link SessionStore} is required; the
 * activity log ({@link ActivityStore}) and security alerts ({@link AlertStore}, with its
 * {@link CounterStore}) are optional capabilities, which a store may implement beside the sessions
 * or which separate stores may provide (`createSessionManager({ store, activityStore, alertStore })`).
 * Prove an implementation with the suites of `sessionkeeper/testing`: `runSessionConformance` for
 * the required part, `runActivityStoreConformance` and `runAlertStoreConformance` for each capability
 * it claims (or `runSessionStoreConformance` for all that it has).
 *
 * All instants are epoch milliseconds (UTC) passed in by the manager from its clock, never read from
 * the database or the system clock, so that expiry is testable with a manual clock and consistent
 * across app servers.
 */

/**
 * Milliseconds since the Unix epoch (UTC), as `Date.now()` returns. Sessions use numbers rather than
 * `Date` objects so that validation allocates nothing and a session costs less memory; convert with
 * `new Date(ms)` where a Date is wanted.
 */
export type EpochMs = number;

/** `active` and `revoked` are stored; `expired` is derived from the clock when a session is read. */
export type SessionStatus = 'active' | 'expired' | 'revoked';

/** A token hash that {@link SessionStore.rotateToken} replaced: whose it was and when. */
export interface RotatedToken {
  readonly sessionId: string;
  readonly userId: string;
  readonly rotatedAt: EpochMs;
}

/** Coarse device class of the client that created a session. */
export type DeviceClass =
  | 'desktop'
  | 'mobile'
  | 'tablet'
  | 'tv'
  | 'console'
  | 'wearable'
  | 'embedded'
  | 'bot'
  | 'unknown';

/**
 * What is known about the device behind a session (a `DeviceInfo` from `parseDevice()` for sessions
 * the manager creates). `class` feeds `stats().byDeviceClass`; `fingerprint` tells device changes.
 */
export interface SessionDevice {
  readonly class: DeviceClass;
  readonly label?: string;
  readonly fingerprint?: string;
  readonly [trait: string]: unknown;
}

/** JSON-compatible application data attached to a session. */
export type SessionMetadata = Readonly<Record<string, unknown>>;

/** A session as stored and returned. Never contains the token or its hash. */
export interface Session {
  /** Public identifier, safe to show and to use in URLs. Not a credential. */
  readonly id: string;
  readonly userId: string;
  readonly tenantId: string | null;
  /** `active` or `revoked` in the store; the manager reports `expired` for active ones past a deadline. */
  readonly status: SessionStatus;
  readonly createdAt: EpochMs;
  /** Last validation that was written (at most one write per `touchInterval`). */
  readonly lastActiveAt: EpochMs;
  /** Idle deadline: the session expires here unless used or extended. Never after `absoluteExpiresAt`. */
  readonly expiresAt: EpochMs;
  /** Hard deadline from creation; no touch or extend moves it. */
  readonly absoluteExpiresAt: EpochMs;
  readonly revokedAt: EpochMs | null;
  readonly revokeReason: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly device: SessionDevice | null;
  readonly metadata: SessionMetadata;
}

/** What the manager hands to {@link SessionStore.insert}: a new active session and its token hash. */
export interface NewSessionRecord extends Omit<Session, 'status' | 'revokedAt' | 'revokeReason'> {
  /** SHA-256 of the token, base64url. The only form in which a token reaches a store. */
  readonly tokenHash: string;
}

/** Per-user cap on concurrently active sessions, enforced by the store inside {@link SessionStore.insert}. */
export interface SessionLimit {
  readonly max: number;
  /** `evict-oldest` revokes the least recently active sessions (reason `'limit'`); `reject` refuses the new one. */
  readonly onLimit: 'evict-oldest' | 'reject';
}

/** Filter for {@link SessionStore.scan}. */
export interface ScanFilter {
  readonly userId?: string;
  /** Only sessions created at or after this instant. */
  readonly createdSince?: EpochMs;
}

/**
 * A session is *active at `now`* when it is not revoked, `now < expiresAt` and `now < absoluteExpiresAt`.
 * Every method below that mentions "active" uses exactly this definition with the `now` it is given.
 *
 * Errors: a method throws `SessionError` with code `STORE_NOT_MIGRATED` when its tables are missing,
 * `STORE_UNAVAILABLE` (with the driver's error as `cause`) when the backend fails, and `CLOSED` after
 * {@link SessionStore.close}. A method that throws has changed nothing.
 */
export interface SessionStore {
  /** Short backend name for messages and benchmarks, e.g. `'memory'`, `'sqlite'`, `'postgres'`. */
  readonly kind: string;

  /**
   * Which optional capabilities this object offers (see {@link StoreCapabilities}). A flag set to
   * `false` turns a capability off even where the methods exist; an absent flag means "detected":
   * the capability is on when every method of its interface is present.
   */
  readonly capabilities?: StoreCapabilities;

  /**
   * Creates or upgrades the schema to this version. Idempotent and safe to call concurrently from
   * several processes (SQL stores take the migrator's lock). The memory store has nothing to do.
   */
  migrate(): Promise<void>;

  /**
   * Inserts a new active session. With `limit`, in one atomic step (transaction plus a per-user lock,
   * or a critical section): counts the user's sessions active at `now`; if adding one would exceed
   * `limit.max`, either throws `SESSION_LIMIT` having written nothing (`reject`), or revokes with reason
   * `'limit'` and `revokedAt = now` just enough of them, least recently active first (ties: earliest
   * created first), so that the new one fits (`evict-oldest`). The new session itself is never evicted.
   * Under concurrent inserts for one user, the user never ends with more than `max` active sessions.
   *
   * @returns the stored session and the sessions revoked to make room (empty without eviction).
   */
  insert(record: NewSessionRecord, now: EpochMs, limit?: SessionLimit): Promise<{ session: Session; evicted: Session[] }>;

  /** The session whose token hashes to `tokenHash`, in any status; `null` if none. One indexed lookup. */
  findByTokenHash(tokenHash: string): Promise<Session | null>;

  /** The session with this id, in any status; `null` if none. */
  findById(id: string): Promise<Session | null>;

  /**
   * Records activity: sets `lastActiveAt = at` and `expiresAt = max(expiresAt, idleExpiresAt)` if the
   * session is active at `at`. Never moves either value backwards.
   * @returns the updated session, or `null` if it is missing or not active at `at` (nothing written).
   */
  touch(id: string, at: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null>;

  /**
   * Moves `expiresAt` forward by `byMs` if the session is active at `now`, to at most
   * `maxIdleExpiresAt` and `absoluteExpiresAt`, and never backwards: a deadline already beyond
   * `maxIdleExpiresAt` stays as it is. That is, `expiresAt` becomes
   * `min(expiresAt + byMs, absoluteExpiresAt, max(expiresAt, maxIdleExpiresAt))`, computed from the
   * stored value in the same atomic step as the write (one `UPDATE`, a critical section), so that
   * concurrent extends add up to the cap and never pass it.
   * @returns the updated session (unchanged when already at a cap), or `null` if it is missing or not
   * active (nothing written).
   */
  extend(id: string, byMs: number, now: EpochMs, maxIdleExpiresAt: EpochMs): Promise<Session | null>;

  /**
   * Compare-and-swap of the token hash: replaces `currentHash` by `nextHash` if the session holding
   * `currentHash` is active at `now`, and records activity at `now` as {@link SessionStore.touch} does
   * with `idleExpiresAt`. Under concurrent calls with the same `currentHash`, exactly one succeeds.
   * In the same atomic step the store remembers `currentHash` as rotated away at `now` (see
   * {@link SessionStore.findRotatedToken}).
   * @returns the updated session, or `null` if no active session holds `currentHash`.
   */
  rotateToken(currentHash: string, nextHash: string, now: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null>;

  /**
   * The record of a token hash that `rotateToken` replaced, or `null` (never rotated, or deleted by
   * {@link SessionStore.deleteRotatedTokensBefore} or, in a store that reclaims memory by itself, by
   * that: the memory store's `retainEnded`). The record outlives the session's own deletion. Lets the
   * alert engine tell a stolen old token from a guess.
   */
  findRotatedToken(tokenHash: string): Promise<RotatedToken | null>;

  /**
   * Deletes up to `limit` rotated-token records with `rotatedAt < cutoff`.
   * @returns how many were deleted (the manager calls again while it equals `limit`).
   */
  deleteRotatedTokensBefore(cutoff: EpochMs, limit: number): Promise<number>;

  /**
   * Atomically merges `patch` into the metadata (top-level keys; a key set to `null` is stored as null)
   * if the session is active at `now`. Concurrent merges of different keys all survive.
   * `serializedLimit` is the byte limit for the merged JSON; exceeding it throws `INVALID_METADATA`
   * and writes nothing.
   * @returns the updated session, or `null` if it is missing or not active.
   */
  mergeMetadata(id: string, patch: SessionMetadata, now: EpochMs, serializedLimit: number): Promise<Session | null>;

  /**
   * Marks the session revoked with `reason` at `at` unless it already is.
   * @returns the revoked session, or `null` if it is missing or was already revoked.
   */
  revoke(id: string, reason: string, at: EpochMs): Promise<Session | null>;

  /**
   * Revokes every session of `userId` active at `at`, except `exceptId`, atomically with respect to
   * concurrent inserts of that user (an insert lands entirely before or after it). Sessions that
   * already ended stay as they are.
   * @returns the sessions it revoked.
   */
  revokeAll(userId: string, reason: string, at: EpochMs, exceptId?: string): Promise<Session[]>;

  /**
   * The user's sessions, most recently active first; with `activeAt`, only those active at that instant.
   * Ended sessions are included for as long as the store keeps them: until `cleanup()` deletes them,
   * or, for a store that reclaims memory by itself (the memory store's `retainEnded`), until then.
   */
  listByUser(userId: string, activeAt?: EpochMs): Promise<Session[]>;

  /** Number of the user's sessions active at `now`. */
  countActive(userId: string, now: EpochMs): Promise<number>;

  /**
   * Every session matching `filter`, in pages of at most `pageSize`, in a stable order. Used for
   * statistics; sessions written during the scan may or may not be seen.
   */
  scan(filter: ScanFilter, pageSize: number): AsyncIterable<Session[]>;

  /**
   * Deletes up to `limit` sessions that ended before `cutoff`, a session ending at the earlier of its
   * `revokedAt` and `expiresAt`: so those revoked before it, and those whose `expiresAt` is before it.
   * Sessions active at `cutoff` are never deleted.
   * @returns how many rows were deleted (the manager calls again while it equals `limit`).
   */
  deleteEndedBefore(cutoff: EpochMs, limit: number): Promise<number>;

  /** Releases what the store opened itself (never a pool or database handle the caller passed in). */
  close(): Promise<void>;
}

/** What kind of thing a request did; used to filter activity and by the alert rules. */
export type ActivityCategory = 'auth' | 'session' | 'data' | 'admin' | 'security' | 'profile' | 'other';

/** One stored activity row: something a session did. Written in batches by the activity logger. */
export interface ActivityRecord {
  /** Unique, opaque. With `ts` it orders rows for cursor pagination. */
  readonly id: string;
  readonly sessionId: string;
  /** The session's user; `null` when the session was already gone when the row was written. */
  readonly userId: string | null;
  /** When it happened (epoch ms). */
  readonly ts: EpochMs;
  /** What happened, e.g. `'request'`, `'login'`, `'export'`. */
  readonly type: string;
  readonly category: ActivityCategory;
  readonly method: string | null;
  /** Path without query string (unless allow-listed parameters), with secrets redacted. */
  readonly path: string | null;
  readonly status: number | null;
  readonly durationMs: number | null;
  readonly bytesIn: number | null;
  readonly bytesOut: number | null;
  /** e.g. `'conversation'` and `'123'` for `/api/v1/conversations/123`. */
  readonly resourceType: string | null;
  readonly resourceId: string | null;
  /** Application details, after redaction of secrets and personal data. */
  readonly details: Readonly<Record<string, unknown>> | null;
}

/** Filter of {@link ActivityStore.listActivity}: exactly one of `sessionId` and `userId`. */
export interface ActivityQuery {
  readonly sessionId?: string;
  readonly userId?: string;
  /** Rows with `ts >= since`. */
  readonly since?: EpochMs;
  /** Rows with `ts < until`. */
  readonly until?: EpochMs;
  readonly category?: ActivityCategory;
  /** Keyset position: only rows strictly older than this `(ts, id)` in the order below. */
  readonly before?: { readonly ts: EpochMs; readonly id: string };
  readonly limit: number;
}

/**
 * Storage of activity rows: the optional `activity` capability. Implemented beside the sessions
 * (the built-in stores) or by a separate store passed as `activityStore`.
 */
export interface ActivityStore {
  /** As on {@link SessionStore.capabilities}: `activity: false` turns this capability off. */
  readonly capabilities?: StoreCapabilities;

  /**
   * Writes all `rows` or none (one multi-row statement or one transaction). A row whose id is
   * already stored is skipped, so retrying a batch whose outcome was unknown duplicates nothing.
   */
  insertActivity(rows: readonly ActivityRecord[]): Promise<void>;

  /** Rows matching `query`, newest first (`ts` descending, then `id` descending), at most `limit`. */
  listActivity(query: ActivityQuery): Promise<ActivityRecord[]>;

  /**
   * Deletes up to `limit` rows with `ts < cutoff`.
   * @returns how many were deleted (the manager calls again while it equals `limit`).
   */
  deleteActivityBefore(cutoff: EpochMs, limit: number): Promise<number>;
}

export type AlertSeverity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';

/** A security alert. Repeats of one `dedupKey` inside the rule's window fold into one alert. */
export interface Alert {
  readonly id: string;
  /** The user concerned; `null` for alerts about a client rather than an account (token guessing). */
  readonly userId: string | null;
  readonly sessionId: string | null;
  /** The rule that raised it, e.g. `'sessionHijack'`. */
  readonly type: string;
  /** The highest severity of the folded occurrences. */
  readonly severity: AlertSeverity;
  readonly status: AlertStatus;
  readonly createdAt: EpochMs;
  /** When the latest folded occurrence happened. */
  readonly lastSeenAt: EpochMs;
  /** What the latest occurrence saw (JSON). */
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly dedupKey: string;
  /** Occurrences folded into this alert (1 for a fresh one). */
  readonly count: number;
  /** When it was acknowledged or resolved, and the note given then. */
  readonly updatedAt: EpochMs | null;
  readonly note: string | null;
}

/** One occurrence to record with {@link AlertStore.raiseAlert}. */
export interface AlertOccurrence {
  /** Used only if a new alert is created. */
  readonly id: string;
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly type: string;
  readonly severity: AlertSeverity;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly dedupKey: string;
  readonly at: EpochMs;
}

/** Filter of {@link AlertStore.listAlerts}. */
export interface AlertQuery {
  readonly userId?: string;
  readonly status?: AlertStatus;
  readonly severity?: AlertSeverity;
  /** Alerts created at or after this instant. */
  readonly since?: EpochMs;
  /** Keyset position: only alerts strictly older than this `(createdAt, id)`. */
  readonly before?: { readonly createdAt: EpochMs; readonly id: string };
  readonly limit: number;
}

/**
 * Storage of alerts and of the rules' hit counters: the optional `alerts` capability. Implemented
 * beside the sessions (the built-in stores) or by a separate store passed as `alertStore`.
 */
export interface AlertStore extends CounterStore {
  /** As on {@link SessionStore.capabilities}: `alerts: false` turns this capability off. */
  readonly capabilities?: StoreCapabilities;

  /**
   * Records an occurrence atomically: folds it into the newest alert with the same `dedupKey` that is
   * not resolved and was last seen at or after `at - windowMs` (count + 1, `lastSeenAt = at`,
   * evidence replaced, severity raised to the higher one), or else inserts a new open alert with
   * count 1. Concurrent occurrences of one `dedupKey` (also from several processes) never create
   * more than one alert per window.
   * @returns the stored alert and whether it was created (`false` when folded).
   */
  raiseAlert(occurrence: AlertOccurrence, windowMs: number): Promise<{ alert: Alert; created: boolean }>;

  /** Alerts matching `query`, newest first (`createdAt` descending, then `id` descending). */
  listAlerts(query: AlertQuery): Promise<Alert[]>;

  /**
   * Moves an alert to `status` atomically, with `updatedAt = at` and `note` when given: to
   * `acknowledged` only from `open`, to `resolved` from anything but `resolved`, to `open` never
   * (reopening is a new occurrence). Otherwise it changes nothing.
   * @returns the alert as stored after the call; `null` if no alert has this id.
   */
  setAlertStatus(id: string, status: 'acknowledged' | 'resolved', at: EpochMs, note?: string): Promise<Alert | null>;

  /**
   * Deletes up to `limit` alerts that are over by `cutoff`: every alert last seen before `cutoff`,
   * whatever its status, and every resolved alert whose resolution (`updatedAt`) is before `cutoff`.
   * An open or acknowledged alert last seen at or after `cutoff` is kept however old it is, so an
   * attack that keeps recurring keeps its alert (and its count).
   * @returns how many were deleted (the manager calls again while it equals `limit`).
   */
  deleteAlertsBefore(cutoff: EpochMs, limit: number): Promise<number>;
}

/**
 * Sliding-window hit counters for the alert rules that count (token guessing, rapid creation); part
 * of the {@link AlertStore} capability. A store shared by several app servers (Postgres) shares the counts;
 * the memory store's counts are per process.
 */
export interface CounterStore {
  /**
   * Adds `hits` hits (a positive integer, default 1) to `key` at `at` and returns the key's hits in
   * the window ending at `at`, these included. The window is counted in ten buckets of
   * `ceil(windowMs / 10)` ms (bucket `floor(at / bucketMs)`): the hits of the current bucket and the
   * nine before it. So a hit is counted for at least its first `9 * bucketMs` ms and never once it
   * is `10 * bucketMs` ms old (`windowMs` when that is a multiple of 10). A key is always used with
   * the same `windowMs`. Concurrent hits are all counted; each caller sees at least its own.
   */
  hitCounter(key: string, at: EpochMs, windowMs: number, hits?: number): Promise<number>;

  /**
   * Deletes up to `limit` counter buckets that no window reaching `cutoff` or later can count: bucket
   * `b` is counted by windows ending before `(b + 10) * bucketMs`, and deleted once that instant is at
   * or before `cutoff`.
   * @returns how many were deleted (the manager calls again while it equals `limit`).
   */
  deleteCountersBefore(cutoff: EpochMs, limit: number): Promise<number>;
}

/**
 * The optional capabilities of a store, as flags (kysely's `supportsReturning` style). Each flag
 * defaults to "detected": on when the object has every method of the capability's interface.
 */
export interface StoreCapabilities {
  /** {@link ActivityStore}: `sessions.activity` can store and list rows. */
  readonly activity?: boolean;
  /** {@link AlertStore} (with {@link CounterStore}): the alert rules can raise, count and list alerts. */
  readonly alerts?: boolean;
}

/** A store with every optional capability, as `memoryStore()`, `sqliteStore()` and `postgresStore()` are. */
export interface FullSessionStore extends SessionStore, ActivityStore, AlertStore {}

/**
 * A channel between app servers that share a store, over which each tells the others which sessions
 * it changed, so that their validation caches (`cache` of `createSessionManager`) drop them. Built
 * in: `redisInvalidation()` (`sessionkeeper/redis`) and `postgresInvalidation()`
 * (`sessionkeeper/postgres`). Delivery is best effort: a message may be lost, which is why cache
 * entries also expire after `cache.ttl`, and why a channel that may have lost messages says so.
 */
export interface SessionInvalidation {
  /**
   * Tells every subscriber (this process included) that these sessions changed or ended. Resolves
   * once the message is handed to the broker; rejects when it could not be (the manager reports it
   * to `cache.onError` and never fails the write that caused it). An empty list sends nothing.
   */
  publish(sessionIds: readonly string[]): Promise<void>;
  /**
   * Starts delivery: `onInvalidate` receives the ids of every later `publish()` of any subscriber.
   * `null` means messages may have been lost (the connection dropped or came back): the whole
   * cache must be dropped. Resolves once delivery has started; called once per channel.
   */
  subscribe(onInvalidate: (sessionIds: readonly string[] | null) => void): Promise<void>;
  /** Stops delivery and releases what the channel opened itself (never the caller's client or pool). */
  close(): Promise<void>;
}

/**
 * Which optional capabilities `store` offers: its `capabilities` flags where set, else whether it
 * has every method of the capability's interface. Any object (or `null`) may be asked.
 *
 * @example
 * storeCapabilities(memoryStore()); // { activity: true, alerts: true }
 */
export function storeCapabilities(store: unknown): { readonly activity: boolean; readonly alerts: boolean } {
  return { activity: isActivityStore(store), alerts: isAlertStore(store) };
}

/**
 * True when `store` offers the activity capability ({@link ActivityStore}).
 *
 * @example
 * if (isActivityStore(store)) await store.deleteActivityBefore(cutoff, 1000);
 */
export function isActivityStore(store: unknown): store is ActivityStore {
  return hasCapability(store, 'activity', ACTIVITY_METHODS);
}

/**
 * True when `store` offers the alerts capability ({@link AlertStore}, counters included).
 *
 * @example
 * if (isAlertStore(store)) await store.listAlerts({ limit: 10 });
 */
export function isAlertStore(store: unknown): store is AlertStore {
  return hasCapability(store, 'alerts', ALERT_METHODS);
}

/** The methods of each optional capability, for detection and for messages naming what is missing. */
export const CAPABILITY_METHODS: Readonly<Record<keyof StoreCapabilities, readonly string[]>> = Object.freeze({
  activity: ['insertActivity', 'listActivity', 'deleteActivityBefore'],
  alerts: ['raiseAlert', 'listAlerts', 'setAlertStatus', 'deleteAlertsBefore', 'hitCounter', 'deleteCountersBefore'],
});

// --- internal ---

const ACTIVITY_METHODS = CAPABILITY_METHODS.activity;
const ALERT_METHODS = CAPABILITY_METHODS.alerts;

function hasCapability(store: unknown, name: keyof StoreCapabilities, methods: readonly string[]): boolean {
  if (store === null || (typeof store !== 'object' && typeof store !== 'function')) return false;
  const object = store as Record<string, unknown> & { capabilities?: StoreCapabilities };
  if (object.capabilities?.[name] === false) return false;
  return methods.every((method) => typeof object[method] === 'function');
}
