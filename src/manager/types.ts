import type { ActivityLog, ActivityOptions } from '../activity/activity-logger.js';
import type { AlertCenter, AlertOptions } from '../alerts/types.js';
import type { Clock } from '../clock.js';
import type { ActivityStore, AlertStore, Session, SessionInvalidation, SessionStore } from '../contracts.js';
import type { DeviceHeaders } from '../device/index.js';
import type { Duration } from '../duration.js';
import type { SessionEventListener, SessionEvents } from '../events.js';
import type { IpPrivacyMode } from '../net/ip-privacy.js';
import type { SessionStats, StatsOptions } from '../stats.js';

/** Options of {@link createSessionManager}. Durations are milliseconds or strings such as `'30m'`. */
export interface SessionManagerOptions {
  /**
   * Where sessions live: `memoryStore()`, `sqliteStore()`, `postgresStore()` or your own
   * {@link SessionStore}. When it also offers the activity or alerts capability (the built-in
   * stores do), that capability is used unless `activityStore` / `alertStore` names another store.
   */
  store: SessionStore;
  /**
   * Where `sessions.activity` writes and reads rows, when not in `store`: any {@link ActivityStore},
   * e.g. `sqliteStore()` while sessions live in `memoryStore()`. Default: `store`, if it offers the
   * capability. Without one, activity is off (`activity.list()` throws `NOT_SUPPORTED`).
   */
  activityStore?: ActivityStore;
  /**
   * Where alerts and the rules' hit counters live, when not in `store`: any {@link AlertStore}.
   * Default: `store`, if it offers the capability. Without one, alerts are off (no rule runs,
   * `alerts.list()` throws `NOT_SUPPORTED`).
   */
  alertStore?: AlertStore;
  /**
   * `idleTimeout` and `absoluteTimeout` of a NIST SP 800-63B-4 authentication assurance level
   * (reauthentication, sections 2.1.3, 2.2.3 and 2.3.3): `'aal1'` 30 days absolute (idle as the
   * default), `'aal2'` 1 h idle and 24 h absolute, `'aal3'` 15 min idle and 12 h absolute. Either
   * timeout given explicitly wins over the preset's. Default: none.
   */
  preset?: SessionPreset;
  /** A session unused for this long expires. Default `'30m'` (or the preset's). */
  idleTimeout?: Duration;
  /** Hard cap on a session's life from creation; nothing extends past it. Default `'7d'` (or the preset's). */
  absoluteTimeout?: Duration;
  /** `validate()` writes `lastActiveAt` at most this often per session. Must be below `idleTimeout`. Default `'1m'`. */
  touchInterval?: Duration;
  /** Active sessions one user may hold at once. Default: unlimited. */
  maxSessionsPerUser?: number;
  /** What `create()` does at the limit: revoke the least recently active (`'evict-oldest'`, default) or throw `SESSION_LIMIT` (`'reject'`). */
  onLimit?: 'evict-oldest' | 'reject';
  /** Upper bound on one session's metadata as JSON, in bytes. Default 32 KiB. */
  maxMetadataBytes?: number;
  /** Source of the current time. Default: the system clock. Inject `manualClock().now` in tests. */
  clock?: Clock;
  /** Receives errors thrown by event listeners, which never reach the caller. Default: `console.error`. */
  onListenerError?: (error: unknown, event: keyof SessionEvents) => void;
  /**
   * Batching, classification and privacy options of `sessions.activity`; `false` turns activity off
   * (nothing is recorded, `activity.list()` throws `NOT_SUPPORTED`). Options given while no store
   * offers the activity capability throw `INVALID_CONFIG`.
   */
  activity?: ActivityOptions | false;
  /**
   * What is stored of client addresses: `'hash'` (HMAC-SHA256 under `ipHashKey`), `'truncate'`
   * (/24 or /48) or `'raw'`. Default: `'hash'` when `ipHashKey` is set, else `'truncate'`.
   */
  ipPrivacy?: IpPrivacyMode;
  /** Secret for `ipPrivacy: 'hash'`: at least 16 bytes or 32 characters. Keep it out of the database. */
  ipHashKey?: string | Uint8Array;
  /**
   * Security alerts: built-in rules to tune or turn off, your own rules, `onAlert` and `geo`. All
   * built-in rules are on by default (`impossibleTravel` only with `geo`); `false` turns alerts off.
   * Options given while no store offers the alerts capability throw `INVALID_CONFIG`.
   */
  alerts?: AlertOptions | false;
  /**
   * An in-process cache of successful validations, for any store: a hit answers `validate()` with
   * no store I/O. Off by default, and without it `validate()` reads the store on every call.
   * See {@link ValidationCacheOptions} for what a hit still checks and how stale it may be.
   * @example
   * createSessionManager({ store, cache: { ttl: '2s', max: 10_000, invalidation: redisInvalidation({ client }) } });
   */
  cache?: ValidationCacheOptions;
}

/**
 * Options of {@link SessionManagerOptions.cache}. A hit is refused once the session's idle or
 * absolute deadline has passed by the manager's clock, and goes to the store when a touch is due
 * (`touchInterval`) or its idle deadline passed (another server may have touched it). Only active
 * sessions are cached: unknown, revoked and expired tokens always reach the store.
 *
 * Every change this manager makes (revoke, revokeAll, rotate, update, extend, evictions at the
 * session limit) drops the session here and is published on `invalidation`, whose messages drop it
 * on the other servers. Without `invalidation`, or while it is down, a change made on another server
 * is seen here within `ttl`.
 */
export interface ValidationCacheOptions {
  /**
   * How long an entry is served before the store is asked again: the bound on staleness when an
   * invalidation message is lost or there is no `invalidation`. Must be greater than zero. Default `'2s'`.
   */
  ttl?: Duration;
  /** Most entries held; the least recently used go first. Default `10_000`. */
  max?: number;
  /**
   * The channel over which servers sharing the store tell each other what changed:
   * `redisInvalidation()` or `postgresInvalidation()`, or your own. Closed by `close()`. Until it
   * has subscribed (and for good if subscribing fails), nothing is cached. Default: none, for a
   * single server (or staleness up to `ttl` across servers).
   */
  invalidation?: SessionInvalidation;
  /**
   * Receives what the invalidation channel could not do (a publish or the subscription failed).
   * A failed publish never fails the change that caused it: the store write has happened, and the
   * other servers see it within `ttl`. Default: `console.error`.
   */
  onError?: (error: unknown) => void;
}

/** A named set of timeouts; see {@link SessionManagerOptions.preset}. */
export type SessionPreset = 'aal1' | 'aal2' | 'aal3';

/** Options of {@link SessionManager.extend}. */
export interface ExtendOptions {
  /**
   * Bounds the idle deadline, however often or concurrently `extend()` is called: it ends at most
   * `maxIdle` from now, or `idleTimeout` from now if that is longer (the window any request gives the
   * session anyway). A deadline already further out is kept, never shortened. Pass it whenever `by`
   * comes from a client, as the self-service route does with `maxExtend`. Default: only the absolute
   * deadline bounds it.
   */
  maxIdle?: Duration;
}

/** Input of {@link SessionManager.create}. */
export interface CreateSessionInput {
  userId: string;
  tenantId?: string | null;
  /** The client address (see `clientIp()`); stored as `ipPrivacy` says, never raw unless `'raw'`. */
  ip?: string | null;
  /** Cut to 512 characters before it is stored; parsed into `session.device`. */
  userAgent?: string | null;
  /** The request headers: User-Agent Client Hints (`Sec-CH-UA*`) refine `session.device`. */
  headers?: DeviceHeaders | null;
  metadata?: Record<string, unknown>;
}

/** Request facts passed to {@link SessionManager.validate}; recorded context for device and alert checks. */
export interface ValidateContext {
  /** The client address (see `clientIp()`); never stored by validate. One that is not an address is ignored. */
  ip?: string | null;
  userAgent?: string | null;
  headers?: DeviceHeaders | null;
}

/**
 * Why a token was refused: `malformed` (not a sessionkeeper token: empty, oversized, wrong format),
 * `unknown` (no session holds it), `expired` (past the absolute deadline), `idle` (past the idle
 * deadline) or `revoked`.
 */
export type InvalidReason = 'malformed' | 'unknown' | 'expired' | 'idle' | 'revoked';

/** The outcome of {@link SessionManager.validate}. An invalid token is an expected outcome, not an error. */
export type ValidationResult =
  | {
      readonly ok: true;
      readonly session: Session;
      /**
       * Present when the context carried a user agent or headers and the session has a device:
       * whether the request's device fingerprint differs from the one that created the session.
       */
      readonly deviceChanged?: boolean;
    }
  | { readonly ok: false; readonly reason: InvalidReason };

/**
 * Which optional features a manager runs, decided once from its stores and options: a feature is
 * on when some store offers its capability and it was not turned off (`activity: false`).
 * (`alerts: false` with an alert store keeps alerts on for listing; only the rules are off.)
 */
export interface ManagerCapabilities {
  readonly activity: boolean;
  readonly alerts: boolean;
}

export interface SessionManager {
  /**
   * The activity log: `record()` what a session does, `list()` it back. When activity is off (see
   * {@link SessionManager.capabilities}), `record()` does nothing and `list()` throws `NOT_SUPPORTED`.
   */
  readonly activity: ActivityLog;

  /**
   * Security alerts raised by the rules: list, acknowledge and resolve them. When alerts are off,
   * `list()`, `acknowledge()` and `resolve()` throw `NOT_SUPPORTED`.
   */
  readonly alerts: AlertCenter;

  /** Which optional features this manager runs, from the capabilities of its stores. */
  readonly capabilities: ManagerCapabilities;

  /**
   * Starts a session and returns it with its token. The token is shown only here and by `rotate()`:
   * send it to the client (cookie or bearer) and never store or log it.
   * @throws SessionError `INVALID_ARGUMENT`, `INVALID_METADATA`, `SESSION_LIMIT` (with `onLimit: 'reject'`)
   * @example
   * const { session, token } = await sessions.create({ userId: 'u1', ip, userAgent });
   */
  create(input: CreateSessionInput): Promise<{ session: Session; token: string }>;

  /**
   * Checks a token. Active sessions come back with `ok: true`; at most once per `touchInterval` this
   * also records activity, sliding the idle deadline. Any string a client sends is an outcome, never
   * an exception: one that is not a sessionkeeper token (empty, oversized, wrong format) is
   * `{ ok: false, reason: 'malformed' }`, refused on its shape before it is hashed or looked up.
   * @throws SessionError `INVALID_TOKEN` when `token` is not a string: a bug in the caller, not client input.
   * @example
   * const r = await sessions.validate(token);
   * if (!r.ok) return res.status(401).json({ reason: r.reason });
   */
  validate(token: string, context?: ValidateContext): Promise<ValidationResult>;

  /**
   * Moves the idle deadline of an active session forward by `by`, never past its absolute deadline
   * and, with `maxIdle`, never further than that from now (see {@link ExtendOptions}).
   * @throws SessionError `SESSION_NOT_FOUND`, `SESSION_INACTIVE`, `INVALID_ARGUMENT`
   * @example
   * await sessions.extend(session.id, '1h');
   * await sessions.extend(session.id, req.body.by, { maxIdle: '1h' }); // a client's request: bounded
   */
  extend(sessionId: string, by: Duration, options?: ExtendOptions): Promise<Session>;

  /**
   * Replaces the token of an active session (after login, privilege change, or periodically). The old
   * token stops working at once; of concurrent rotations of one token exactly one succeeds. A string
   * that is not a sessionkeeper token is one no session holds: `SESSION_NOT_FOUND`, as in `validate()`.
   * @throws SessionError `SESSION_NOT_FOUND` (no active session holds this token), `INVALID_TOKEN` (not a string)
   * @example
   * const { token: next } = await sessions.rotate(token);
   */
  rotate(token: string): Promise<{ session: Session; token: string }>;

  /**
   * Merges `metadata` into the session's metadata atomically (top-level keys); concurrent updates of
   * different keys all survive.
   * @throws SessionError `SESSION_NOT_FOUND`, `SESSION_INACTIVE`, `INVALID_METADATA`
   * @example
   * await sessions.update(session.id, { metadata: { cart: 3 } });
   */
  update(sessionId: string, changes: { metadata: Record<string, unknown> }): Promise<Session>;

  /**
   * Revokes one session. Revoking an already revoked session returns it unchanged.
   * @throws SessionError `SESSION_NOT_FOUND`
   * @example
   * await sessions.revoke(session.id, { reason: 'logout' });
   */
  revoke(sessionId: string, options?: { reason?: string }): Promise<Session>;

  /**
   * Revokes all of a user's active sessions, optionally but one (e.g. "log out my other devices").
   * @returns how many sessions were revoked.
   * @example
   * await sessions.revokeAll(userId, { except: session.id, reason: 'security_logout' });
   */
  revokeAll(userId: string, options?: { except?: string; reason?: string }): Promise<number>;

  /** The session with this id in any status, or `null`. */
  get(sessionId: string): Promise<Session | null>;

  /** The user's sessions, most recently active first; only active ones unless `includeInactive`. */
  list(userId: string, options?: { includeInactive?: boolean }): Promise<Session[]>;

  /** Number of the user's active sessions. */
  count(userId: string): Promise<number>;

  /**
   * Counts, durations, peak concurrency and distributions over the sessions still stored (optionally
   * of one user, or created since an instant). Scans the matching sessions: meant for dashboards,
   * not for every request.
   */
  stats(options?: StatsOptions): Promise<SessionStats>;

  /**
   * Deletes, in batches, sessions that ended (expired or revoked) more than `olderThan` ago, and
   * with them the records of rotated-away tokens and alerts that old (an alert last seen, or
   * resolved, before then; one that keeps recurring stays), expired alert counters, and with
   * `activityOlderThan`, activity rows older than that. Capabilities the stores lack are skipped. Lab
   * records are the provisioner's to delete (`labs.cleanup()`).
   * @returns how many sessions were deleted (other rows are not counted).
   * @example
   * setInterval(() => sessions.cleanup({ olderThan: '30d', activityOlderThan: '90d' }), 3_600_000).unref();
   */
  cleanup(options?: { olderThan?: Duration; activityOlderThan?: Duration; batchSize?: number }): Promise<number>;

  /**
   * Subscribes to lifecycle events. Listeners run after the change is stored; what they throw goes
   * to `onListenerError`, never to the caller.
   * @returns a function that unsubscribes.
   */
  on<E extends keyof SessionEvents>(event: E, listener: SessionEventListener<E>): () => void;

  /**
   * Finishes alert evaluation, writes queued activity, then closes the stores (`store`, and
   * `activityStore` / `alertStore` when they are other objects). Later calls throw `CLOSED`.
   */
  close(): Promise<void>;
}
