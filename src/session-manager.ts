import { createActivityLog, type ActivityLog, type ActivityLogController, type ActivityOptions } from './activity/activity-logger.js';
import type { Clock } from './clock.js';
import { createAlertEngine, type AlertEngine } from './alerts/engine.js';
import type { AlertCenter, AlertOptions } from './alerts/types.js';
import { MAX_USER_AGENT_LENGTH, parseDevice, type DeviceHeaders, type DeviceInfo } from './device/index.js';
import { LruCache } from './device/lru-cache.js';
import { normalizeIp } from './net/ip-address.js';
import { toEpochMs } from './pagination.js';
import { createIpProtector, type IpPrivacyMode, type IpProtector } from './net/ip-privacy.js';
import type { EpochMs, RotatedToken, Session, SessionLimit, SessionStore } from './contracts.js';
import { parseDuration, type Duration } from './duration.js';
import { invalidArgument, invalidConfig, isSessionError, SessionError, toStoreError } from './errors.js';
import { SessionEmitter, type SessionEventListener, type SessionEvents } from './events.js';
import { EMPTY_METADATA, serializeMetadata } from './metadata.js';
import { computeStats, type SessionStats, type StatsOptions } from './stats.js';
import { generateSessionId, generateToken, hashToken, isWellFormedToken, TOKEN_LENGTH } from './token.js';

/** Options of {@link createSessionManager}. Durations are milliseconds or strings such as `'30m'`. */
export interface SessionManagerOptions {
  /** Where sessions live: `memoryStore()`, `sqliteStore()`, `postgresStore()` or your own {@link SessionStore}. */
  store: SessionStore;
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
  /** Batching, classification and privacy options of `sessions.activity`. */
  activity?: ActivityOptions;
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
   */
  alerts?: AlertOptions | false;
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

export interface SessionManager {
  /** The activity log: `record()` what a session does, `list()` it back. */
  readonly activity: ActivityLog;

  /** Security alerts raised by the rules: list, acknowledge and resolve them. */
  readonly alerts: AlertCenter;

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
   * `activityOlderThan`, activity rows older than that. Lab records are the provisioner's to delete
   * (`labs.cleanup()`).
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

  /** Finishes alert evaluation, writes queued activity, then closes the store. Later calls throw `CLOSED`. */
  close(): Promise<void>;
}

/**
 * Creates a session manager over a store. Options are checked here, once: a bad one throws
 * `SessionError` with code `INVALID_CONFIG` naming the field.
 *
 * @example
 * const store = sqliteStore({ filename: 'sessions.db' });
 * await store.migrate();
 * const sessions = createSessionManager({ store, idleTimeout: '30m', absoluteTimeout: '7d' });
 */
export function createSessionManager(options: SessionManagerOptions): SessionManager {
  return new DefaultSessionManager(resolveConfig(options));
}

// --- internal ---

const MAX_ID_LENGTH = 255;
const MAX_REASON_LENGTH = 64;
const DEFAULT_MAX_METADATA_BYTES = 32 * 1024;
const STATS_PAGE_SIZE = 1000;
const DEFAULT_CLEANUP_BATCH = 1000;

const MALFORMED: ValidationResult = Object.freeze({ ok: false, reason: 'malformed' });
const UNKNOWN: ValidationResult = Object.freeze({ ok: false, reason: 'unknown' });
const REVOKED: ValidationResult = Object.freeze({ ok: false, reason: 'revoked' });
const EXPIRED: ValidationResult = Object.freeze({ ok: false, reason: 'expired' });
const IDLE: ValidationResult = Object.freeze({ ok: false, reason: 'idle' });

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

interface ResolvedConfig {
  store: SessionStore;
  idleMs: number;
  absoluteMs: number;
  touchMs: number;
  limit: SessionLimit | undefined;
  maxMetadataBytes: number;
  now: () => EpochMs;
  onListenerError: (error: unknown, event: keyof SessionEvents) => void;
  activity: ActivityOptions;
  protectIp: IpProtector;
  alerts: AlertOptions | false | undefined;
}

function resolveConfig(options: SessionManagerOptions): ResolvedConfig {
  if (options === null || typeof options !== 'object') invalidConfig('options', 'must be an object');
  const { store } = options;
  if (!store || typeof store.insert !== 'function' || typeof store.findByTokenHash !== 'function') {
    invalidConfig('store', 'must be a SessionStore such as memoryStore(), sqliteStore() or postgresStore()');
  }
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

  let limit: SessionLimit | undefined;
  if (options.maxSessionsPerUser !== undefined) {
    const max = options.maxSessionsPerUser;
    if (!Number.isSafeInteger(max) || max < 1) invalidConfig('maxSessionsPerUser', 'must be a positive integer');
    const onLimit = options.onLimit ?? 'evict-oldest';
    if (onLimit !== 'evict-oldest' && onLimit !== 'reject') invalidConfig('onLimit', "must be 'evict-oldest' or 'reject'");
    limit = Object.freeze({ max, onLimit });
  } else if (options.onLimit !== undefined) {
    invalidConfig('onLimit', 'has no effect without maxSessionsPerUser');
  }

  const maxMetadataBytes = options.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES;
  if (!Number.isSafeInteger(maxMetadataBytes) || maxMetadataBytes < 2) invalidConfig('maxMetadataBytes', 'must be an integer of at least 2');

  let now: () => EpochMs = Date.now;
  if (options.clock !== undefined) {
    const clock = options.clock;
    if (typeof clock !== 'function') invalidConfig('clock', 'must be a function returning a Date');
    now = () => {
      const ms = clock().getTime();
      if (Number.isNaN(ms)) throw new SessionError('INVALID_CONFIG', 'clock returned an invalid Date');
      return ms;
    };
  }
  if (options.onListenerError !== undefined && typeof options.onListenerError !== 'function') {
    invalidConfig('onListenerError', 'must be a function');
  }
  const onListenerError =
    options.onListenerError ?? ((error, event) => console.error(`sessionkeeper: a '${event}' listener threw`, error));

  const protectIp = createIpProtector({ ipPrivacy: options.ipPrivacy, ipHashKey: options.ipHashKey });
  return { store, idleMs, absoluteMs, touchMs, limit, maxMetadataBytes, now, onListenerError, activity: options.activity ?? {}, protectIp, alerts: options.alerts };
}

class DefaultSessionManager implements SessionManager {
  readonly #config: ResolvedConfig;
  readonly #store: SessionStore;
  readonly #events: SessionEmitter;
  readonly #now: () => EpochMs;
  readonly #activity: ActivityLogController;
  readonly #alerts: AlertEngine;
  /** Which alert events any rule evaluates; read on every request, so kept as a field. */
  readonly #wants: AlertEngine['wants'];
  #closed = false;

  constructor(config: ResolvedConfig) {
    this.#config = config;
    this.#store = config.store;
    this.#now = config.now;
    this.#events = new SessionEmitter(config.onListenerError);
    this.#activity = createActivityLog(config.store, config.now, config.activity);
    this.#alerts = createAlertEngine(config.alerts, {
      store: config.store,
      now: config.now,
      storedIp: config.protectIp,
      emit: (alert, created) => this.#events.emit('alert', { alert, created }),
      revoke: (sessionId, reason) => this.revoke(sessionId, { reason }),
      revokeAll: (userId, reason) => this.revokeAll(userId, { reason }),
    });
    this.#wants = this.#alerts.wants;
  }

  get activity(): ActivityLog {
    return this.#activity;
  }

  get alerts(): AlertCenter {
    return this.#alerts;
  }

  async create(input: CreateSessionInput): Promise<{ session: Session; token: string }> {
    this.#assertOpen();
    if (input === null || typeof input !== 'object') throw invalidArgument('create() expects an object with a userId');
    const userId = requireId(input.userId, 'userId');
    const tenantId = optionalString(input.tenantId, 'tenantId', MAX_ID_LENGTH);
    const ip = this.#storedIp(input.ip);
    const clientIp = ip !== null && (this.#wants.created || this.#wants.limitReached) ? normalizeIp(input.ip) : null;
    const userAgent = truncateUserAgent(input.userAgent);
    const device = userAgent === null && input.headers == null ? null : parseDevice({ userAgent, headers: input.headers });
    const metadata =
      input.metadata === undefined ? EMPTY_METADATA : JSON.parse(serializeMetadata(input.metadata, this.#config.maxMetadataBytes));

    const now = this.#now();
    const absoluteExpiresAt = now + this.#config.absoluteMs;
    const token = generateToken();
    const { session, evicted } = await this.#insert(userId, clientIp, now, () =>
      this.#store.insert(
        {
          id: generateSessionId(),
          tokenHash: hashToken(token),
          userId,
          tenantId,
          createdAt: now,
          lastActiveAt: now,
          expiresAt: Math.min(now + this.#config.idleMs, absoluteExpiresAt),
          absoluteExpiresAt,
          ip,
          userAgent,
          device,
          metadata,
        },
        now,
        this.#config.limit,
      ),
    );
    for (const old of evicted) this.#revoked(old, 'limit', now);
    this.#events.emit('created', { session });
    if (this.#wants.created) this.#alerts.submit({ type: 'created', at: now, session, ip: clientIp });
    return { session, token };
  }

  /** The store's insert, telling the alert rules when the per-user limit was met. */
  async #insert(
    userId: string,
    ip: string | null,
    now: EpochMs,
    insert: () => Promise<{ session: Session; evicted: Session[] }>,
  ): Promise<{ session: Session; evicted: Session[] }> {
    const max = this.#config.limit?.max ?? 0;
    let result: { session: Session; evicted: Session[] };
    try {
      result = await this.#call('create', insert);
    } catch (err) {
      if (this.#wants.limitReached && isSessionError(err, 'SESSION_LIMIT')) {
        this.#alerts.submit({ type: 'limitReached', at: now, userId, max, outcome: 'rejected', evicted: [], ip });
      }
      throw err;
    }
    if (result.evicted.length > 0 && this.#wants.limitReached) {
      this.#alerts.submit({ type: 'limitReached', at: now, userId, max, outcome: 'evicted', evicted: result.evicted, ip });
    }
    return result;
  }

  async validate(token: string, context?: ValidateContext): Promise<ValidationResult> {
    // The hot path: no closures, one store read, and a write at most once per touchInterval. Alert
    // events are built only when a rule evaluates them, and evaluated after this returns.
    this.#assertOpen();
    if (!isWellFormedToken(token)) {
      if (typeof token !== 'string') throw notAString(token);
      if (this.#wants.tokenRejected) this.#rejected('malformed', null, null, context);
      return MALFORMED;
    }
    const tokenHash = hashToken(token);
    let session: Session | null;
    try {
      session = await this.#store.findByTokenHash(tokenHash);
    } catch (err) {
      throw toStoreError(err, 'validate');
    }
    if (session === null) {
      if (this.#wants.tokenRejected) await this.#rejectedUnknown(tokenHash, context);
      return UNKNOWN;
    }
    if (session.status === 'revoked') {
      if (this.#wants.tokenRejected) this.#rejected('revoked', tokenHash, session, context);
      return REVOKED;
    }
    const now = this.#now();
    if (now >= session.expiresAt) {
      const absolute = now >= session.absoluteExpiresAt;
      this.#events.emit('expired', { session: withStatus(session, 'expired'), cause: absolute ? 'absolute' : 'idle' });
      if (this.#wants.tokenRejected) this.#rejected('expired', tokenHash, session, context);
      return absolute ? EXPIRED : IDLE;
    }
    const previousActiveAt = session.lastActiveAt;
    if (now - previousActiveAt >= this.#config.touchMs) {
      const current = session;
      const touched = await this.#call('validate', () => this.#store.touch(current.id, now, this.#idleDeadline(current, now)));
      // null means it was revoked or deleted between the read and the write.
      if (touched === null) return REVOKED;
      session = touched;
    }
    if (context == null) return { ok: true, session };
    // Parsing is cached by user agent and hints, so this costs a lookup for a returning client.
    const device: DeviceInfo | null =
      (session.device !== null || this.#wants.validated) && (context.userAgent != null || context.headers != null)
        ? parseDevice({ userAgent: context.userAgent, headers: context.headers })
        : null;
    if (this.#wants.validated) this.#alerts.submit({ type: 'validated', at: now, session, previousActiveAt, ip: eventIp(context.ip), device });
    if (device === null || session.device === null) return { ok: true, session };
    return { ok: true, session, deviceChanged: device.fingerprint !== session.device.fingerprint };
  }

  #rejected(
    reason: 'malformed' | 'unknown' | 'revoked' | 'expired',
    tokenHash: string | null,
    session: Session | null,
    context: ValidateContext | undefined,
    rotated?: RotatedToken | null,
  ): void {
    this.#alerts.submit({ type: 'tokenRejected', at: this.#now(), reason, tokenHash, session, rotated, attempts: 1, ip: eventIp(context?.ip) });
  }

  /**
   * An unknown token is a guess or a replayed rotated-away one, and only the store can tell which.
   * Asking here, on the failure path only (one indexed read), lets the engine queue guesses apart,
   * so that a flood of them cannot push a replayed token out of its queue.
   */
  async #rejectedUnknown(tokenHash: string, context: ValidateContext | undefined): Promise<void> {
    const rotated = this.#alerts.watchesRotatedTokens ? await this.#alerts.lookupRotatedToken(tokenHash) : undefined;
    this.#rejected('unknown', tokenHash, null, context, rotated);
  }

  async extend(sessionId: string, by: Duration, options?: ExtendOptions): Promise<Session> {
    this.#assertOpen();
    const id = requireId(sessionId, 'sessionId');
    const byMs = parseDuration(by, 'extend() duration', 'INVALID_ARGUMENT');
    if (byMs === 0) throw invalidArgument('extend() duration must be greater than zero');
    if (options !== undefined && (options === null || typeof options !== 'object')) throw invalidArgument('extend() options must be an object');
    const maxIdleMs = options?.maxIdle === undefined ? undefined : parseDuration(options.maxIdle, 'extend() maxIdle', 'INVALID_ARGUMENT');
    const now = this.#now();
    // Without maxIdle, no cap but the absolute deadline, which the store applies itself.
    const maxIdleExpiresAt = maxIdleMs === undefined ? Number.MAX_SAFE_INTEGER : now + Math.max(this.#config.idleMs, maxIdleMs);
    const session = await this.#call('extend', () => this.#store.extend(id, byMs, now, maxIdleExpiresAt));
    if (session === null) throw await this.#whyNotActive(id, now);
    this.#events.emit('extended', { session });
    return session;
  }

  async rotate(token: string): Promise<{ session: Session; token: string }> {
    this.#assertOpen();
    if (!isWellFormedToken(token)) {
      if (typeof token !== 'string') throw notAString(token);
      throw new SessionError('SESSION_NOT_FOUND', `No session holds this token: it is not a sessionkeeper token (${malformation(token)})`);
    }
    const currentHash = hashToken(token);
    const now = this.#now();
    const current = await this.#call('rotate', () => this.#store.findByTokenHash(currentHash));
    if (current === null || current.status !== 'active' || now >= current.expiresAt) {
      throw new SessionError('SESSION_NOT_FOUND', 'No active session holds this token; it may be expired, revoked or already rotated');
    }
    const next = generateToken();
    const session = await this.#call('rotate', () =>
      this.#store.rotateToken(currentHash, hashToken(next), now, this.#idleDeadline(current, now)),
    );
    if (session === null) {
      throw new SessionError('SESSION_NOT_FOUND', 'No active session holds this token; it was rotated or revoked concurrently');
    }
    this.#events.emit('rotated', { session });
    if (this.#wants.rotated) this.#alerts.submit({ type: 'rotated', at: now, session });
    return { session, token: next };
  }

  async update(sessionId: string, changes: { metadata: Record<string, unknown> }): Promise<Session> {
    this.#assertOpen();
    const id = requireId(sessionId, 'sessionId');
    if (changes === null || typeof changes !== 'object' || changes.metadata === undefined) {
      throw invalidArgument('update() expects { metadata: { ... } }');
    }
    const patch = JSON.parse(serializeMetadata(changes.metadata, this.#config.maxMetadataBytes));
    const now = this.#now();
    const session = await this.#call('update', () => this.#store.mergeMetadata(id, patch, now, this.#config.maxMetadataBytes));
    if (session === null) throw await this.#whyNotActive(id, now);
    return session;
  }

  async revoke(sessionId: string, options?: { reason?: string }): Promise<Session> {
    this.#assertOpen();
    const id = requireId(sessionId, 'sessionId');
    const reason = revokeReason(options?.reason, 'revoked');
    const now = this.#now();
    const revoked = await this.#call('revoke', () => this.#store.revoke(id, reason, now));
    if (revoked !== null) {
      this.#revoked(revoked, reason, now);
      return revoked;
    }
    const existing = await this.#call('revoke', () => this.#store.findById(id));
    if (existing === null) throw notFound(id);
    return existing;
  }

  async revokeAll(userId: string, options?: { except?: string; reason?: string }): Promise<number> {
    this.#assertOpen();
    const user = requireId(userId, 'userId');
    const except = options?.except === undefined ? undefined : requireId(options.except, 'except');
    const reason = revokeReason(options?.reason, 'revoked');
    const now = this.#now();
    const revoked = await this.#call('revokeAll', () => this.#store.revokeAll(user, reason, now, except));
    for (const session of revoked) this.#revoked(session, reason, now);
    return revoked.length;
  }

  async get(sessionId: string): Promise<Session | null> {
    this.#assertOpen();
    const id = requireId(sessionId, 'sessionId');
    const session = await this.#call('get', () => this.#store.findById(id));
    return session === null ? null : this.#observed(session, this.#now());
  }

  async list(userId: string, options?: { includeInactive?: boolean }): Promise<Session[]> {
    this.#assertOpen();
    const user = requireId(userId, 'userId');
    const now = this.#now();
    const sessions = await this.#call('list', () => this.#store.listByUser(user, options?.includeInactive ? undefined : now));
    return sessions.map((session) => this.#observed(session, now));
  }

  async count(userId: string): Promise<number> {
    this.#assertOpen();
    const user = requireId(userId, 'userId');
    return this.#call('count', () => this.#store.countActive(user, this.#now()));
  }

  async stats(options: StatsOptions = {}): Promise<SessionStats> {
    this.#assertOpen();
    if (options === null || typeof options !== 'object') throw invalidArgument('stats() expects an options object');
    const userId = options.userId === undefined ? undefined : requireId(options.userId, 'userId');
    const since = options.since === undefined ? undefined : toEpochMs(options.since, 'since');
    const now = this.#now();
    // scan() is called inside #call so that a store which throws synchronously is wrapped too.
    return this.#call('stats', () => computeStats(this.#store.scan({ userId, createdSince: since }, STATS_PAGE_SIZE), now));
  }

  async cleanup(options: { olderThan?: Duration; activityOlderThan?: Duration; batchSize?: number } = {}): Promise<number> {
    this.#assertOpen();
    if (options === null || typeof options !== 'object') throw invalidArgument('cleanup() expects an options object');
    const olderThanMs = parseDuration(options.olderThan ?? '30d', 'cleanup() olderThan', 'INVALID_ARGUMENT');
    const activityMs =
      options.activityOlderThan === undefined ? undefined : parseDuration(options.activityOlderThan, 'cleanup() activityOlderThan', 'INVALID_ARGUMENT');
    const batchSize = options.batchSize ?? DEFAULT_CLEANUP_BATCH;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
      throw invalidArgument('cleanup() batchSize must be an integer from 1 to 100000');
    }
    const now = this.#now();
    const sessions = await this.#deleteInBatches((limit) => this.#store.deleteEndedBefore(now - olderThanMs, limit), batchSize);
    await this.#deleteInBatches((limit) => this.#store.deleteRotatedTokensBefore(now - olderThanMs, limit), batchSize);
    await this.#deleteInBatches((limit) => this.#store.deleteCountersBefore(now, limit), batchSize);
    await this.#deleteInBatches((limit) => this.#store.deleteAlertsBefore(now - olderThanMs, limit), batchSize);
    if (activityMs !== undefined) {
      await this.#deleteInBatches((limit) => this.#store.deleteActivityBefore(now - activityMs, limit), batchSize);
    }
    return sessions;
  }

  async #deleteInBatches(deleteSome: (limit: number) => Promise<number>, batchSize: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.#call('cleanup', () => deleteSome(batchSize));
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }

  on<E extends keyof SessionEvents>(event: E, listener: SessionEventListener<E>): () => void {
    return this.#events.on(event, listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Rules may still act (revoke) while they finish, so the manager closes after them.
    await this.#alerts.close();
    this.#closed = true;
    this.#events.clear();
    try {
      await this.#activity.close();
    } finally {
      // The store is closed even when the last activity could not be written; the error still surfaces.
      await this.#store.close();
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionError('CLOSED', 'The session manager is closed');
  }

  /** Runs a store call, turning driver failures into STORE_UNAVAILABLE. */
  async #call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, operation);
    }
  }

  /** What is stored for a client address; a value that is not an address is a caller's mistake. */
  #storedIp(value: unknown): string | null {
    if (value === undefined || value === null || value === '') return null;
    const stored = typeof value === 'string' && value.length <= 64 ? this.#config.protectIp(value) : null;
    if (stored === null) throw invalidArgument('ip must be an IPv4 or IPv6 address (see clientIp())');
    return stored;
  }

  #revoked(session: Session, reason: string, at: EpochMs): void {
    this.#events.emit('revoked', { session, reason });
    if (this.#wants.revoked) this.#alerts.submit({ type: 'revoked', at, session, reason });
  }

  #idleDeadline(session: Session, now: EpochMs): EpochMs {
    return Math.min(now + this.#config.idleMs, session.absoluteExpiresAt);
  }

  /** Stores only know active/revoked; a read reports `expired` once a deadline has passed. */
  #observed(session: Session, now: EpochMs): Session {
    return session.status === 'active' && now >= session.expiresAt ? withStatus(session, 'expired') : session;
  }

  async #whyNotActive(id: string, now: EpochMs): Promise<SessionError> {
    const existing = await this.#call('lookup', () => this.#store.findById(id));
    if (existing === null) return notFound(id);
    const status = this.#observed(existing, now).status;
    return new SessionError('SESSION_INACTIVE', `Session ${id} is ${status}`);
  }
}

function withStatus(session: Session, status: Session['status']): Session {
  return { ...session, status };
}

/** A token that is not a string is the caller's bug: client input is always a string. */
function notAString(token: unknown): SessionError {
  return new SessionError('INVALID_TOKEN', `A token must be a string, not ${token === null ? 'null' : `a ${typeof token}`}`);
}

/** What is wrong with a string that is not a token, for messages; never the string itself. */
function malformation(token: string): string {
  return token.length === 0 ? 'empty' : token.length > TOKEN_LENGTH ? 'too long' : 'wrong format';
}

/** A request's address for the alert rules: normalised, or null when absent or not an address. */
function eventIp(ip: unknown): string | null {
  if (typeof ip !== 'string' || ip.length === 0) return null;
  // Clients repeat: a cache hit is one Map lookup where parsing costs about a microsecond.
  let normalized = normalizedIps.get(ip);
  if (normalized === undefined) {
    normalized = normalizeIp(ip) ?? '';
    normalizedIps.set(ip, normalized);
  }
  return normalized === '' ? null : normalized;
}

const normalizedIps = new LruCache<string>(4096);

function requireId(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH || !isStorableText(value)) {
    throw invalidArgument(`${field} must be a non-empty string of at most ${MAX_ID_LENGTH} characters, without NUL or unpaired surrogates`);
  }
  return value;
}

function optionalString(value: unknown, field: string, maxLength: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > maxLength || !isStorableText(value)) {
    throw invalidArgument(`${field} must be a string of at most ${maxLength} characters, without NUL or unpaired surrogates`);
  }
  return value;
}

/**
 * Every store must round-trip the text exactly: Postgres rejects NUL in text, and an unpaired
 * surrogate has no UTF-8 form, so SQL stores would read back U+FFFD.
 */
function isStorableText(value: string): boolean {
  return !value.includes('\0') && value.isWellFormed();
}

function truncateUserAgent(input: unknown): string | null {
  if (input === undefined || input === null || input === '') return null;
  if (typeof input !== 'string') throw invalidArgument('userAgent must be a string');
  // A user agent is whatever the client sent: clean it rather than refuse the sign-in.
  const value = isStorableText(input) ? input : input.replaceAll('\0', '').toWellFormed();
  if (value.length <= MAX_USER_AGENT_LENGTH) return value;
  // Never cut between the two halves of a surrogate pair: a lone surrogate is not valid UTF-8, so a
  // SQL store would read back U+FFFD where the memory store returns the half character.
  const last = value.charCodeAt(MAX_USER_AGENT_LENGTH - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? MAX_USER_AGENT_LENGTH - 1 : MAX_USER_AGENT_LENGTH;
  return value.slice(0, end);
}

function revokeReason(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_REASON_LENGTH || !isStorableText(value)) {
    throw invalidArgument(`reason must be a non-empty string of at most ${MAX_REASON_LENGTH} characters`);
  }
  return value;
}

function notFound(id: string): SessionError {
  return new SessionError('SESSION_NOT_FOUND', `No session with id ${id}`);
}
