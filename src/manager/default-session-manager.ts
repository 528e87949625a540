import { createActivityLog, type ActivityLog, type ActivityLogController } from '../activity/activity-logger.js';
import { createAlertEngine, type AlertEngine } from '../alerts/engine.js';
import type { AlertCenter } from '../alerts/types.js';
import type { EpochMs, RotatedToken, Session, SessionStore } from '../contracts.js';
import { parseDevice, type DeviceInfo } from '../device/index.js';
import { parseDuration, type Duration } from '../duration.js';
import { invalidArgument, isSessionError, SessionError, toStoreError } from '../errors.js';
import { SessionEmitter, type SessionEventListener, type SessionEvents } from '../events.js';
import { EMPTY_METADATA, serializeMetadata } from '../metadata.js';
import { normalizeIp } from '../net/ip-address.js';
import { toEpochMs } from '../internal/pagination.js';
import { computeStats, type SessionStats, type StatsOptions } from '../stats.js';
import { generateSessionId, generateToken, hashToken, isWellFormedToken } from '../token.js';
import { storeCall } from '../internal/store-call.js';
import { optionalText, requireText } from '../internal/text.js';
import { CacheSync } from './cache-sync.js';
import { disabledActivityLog, disabledAlertEngine } from './capabilities.js';
import type { ResolvedConfig } from './config.js';
import {
  eventIp,
  malformation,
  notAString,
  notFound,
  revokeReason,
  truncateUserAgent,
  withStatus,
} from './input.js';
import type {
  CreateSessionInput,
  ExtendOptions,
  ManagerCapabilities,
  SessionManager,
  ValidateContext,
  ValidationResult,
} from './types.js';

const STATS_PAGE_SIZE = 1000;
const DEFAULT_CLEANUP_BATCH = 1000;

const MALFORMED: ValidationResult = Object.freeze({ ok: false, reason: 'malformed' });
const UNKNOWN: ValidationResult = Object.freeze({ ok: false, reason: 'unknown' });
const REVOKED: ValidationResult = Object.freeze({ ok: false, reason: 'revoked' });
const EXPIRED: ValidationResult = Object.freeze({ ok: false, reason: 'expired' });
const IDLE: ValidationResult = Object.freeze({ ok: false, reason: 'idle' });

/** The manager {@link createSessionManager} returns; all policy lives here, persistence in the stores. */
export class DefaultSessionManager implements SessionManager {
  readonly #config: ResolvedConfig;
  readonly #store: SessionStore;
  readonly #events: SessionEmitter;
  readonly #now: () => EpochMs;
  readonly #activity: ActivityLogController;
  readonly #alerts: AlertEngine;
  /** Which alert events any rule evaluates; read on every request, so kept as a field. */
  readonly #wants: AlertEngine['wants'];
  /** The validation cache and its channel, or `null` without `cache`. */
  readonly #sync: CacheSync | null;
  #closed = false;

  constructor(config: ResolvedConfig) {
    this.#config = config;
    this.#store = config.store;
    this.#now = config.now;
    this.#events = new SessionEmitter(config.onListenerError);
    const { features } = config;
    this.#activity =
      features.activity === null
        ? disabledActivityLog(features.reasons.activity)
        : createActivityLog(features.activity, config.store, config.now, config.activity);
    this.#alerts = this.#createAlerts(config);
    this.#wants = this.#alerts.wants;
    this.#sync = config.cache === null ? null : new CacheSync(config.cache);
    if (features.notice !== null) console.warn(features.notice);
  }

  #createAlerts(config: ResolvedConfig): AlertEngine {
    const alertStore = config.features.alerts;
    if (alertStore === null) return disabledAlertEngine(config.features.reasons.alerts);
    return createAlertEngine(config.alerts, {
      store: config.store,
      alertStore,
      now: config.now,
      storedIp: config.protectIp,
      emit: (alert, created) => this.#events.emit('alert', { alert, created }),
      revoke: (sessionId, reason) => this.revoke(sessionId, { reason }),
      revokeAll: (userId, reason) => this.revokeAll(userId, { reason }),
    });
  }

  get activity(): ActivityLog {
    return this.#activity;
  }

  get alerts(): AlertCenter {
    return this.#alerts;
  }

  get capabilities(): ManagerCapabilities {
    return this.#config.features.capabilities;
  }

  async create(input: CreateSessionInput): Promise<{ session: Session; token: string }> {
    this.#assertOpen();
    if (input === null || typeof input !== 'object') throw invalidArgument('create() expects an object with a userId');
    const userId = requireText(input.userId, 'userId');
    const tenantId = optionalText(input.tenantId, 'tenantId');
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
    if (evicted.length > 0) this.#changed(evicted.map((old) => old.id));
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
      result = await storeCall('create', insert);
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
    const cache = this.#sync?.cache;
    if (cache !== undefined) {
      const now = this.#now();
      const hit = cache.get(tokenHash, now);
      // Past the idle deadline or due for a touch, the store decides (another server may have touched it).
      if (hit !== undefined && now < hit.expiresAt && now - hit.lastActiveAt < this.#config.touchMs) {
        return this.#accepted(hit, now, hit.lastActiveAt, context);
      }
      if (hit !== undefined) cache.forget(tokenHash);
    }
    const seq = cache?.seq ?? 0;
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
      const touched = await storeCall('validate', () => this.#store.touch(current.id, now, this.#idleDeadline(current, now)));
      // null means it was revoked or deleted between the read and the write.
      if (touched === null) return REVOKED;
      session = touched;
    }
    cache?.fill(tokenHash, session, seq, now);
    return this.#accepted(session, now, previousActiveAt, context);
  }

  /** The outcome for an active session: device and alert checks run only with a context. */
  #accepted(session: Session, now: EpochMs, previousActiveAt: EpochMs, context: ValidateContext | undefined): ValidationResult {
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
    const id = requireText(sessionId, 'sessionId');
    const byMs = parseDuration(by, 'extend() duration', 'INVALID_ARGUMENT');
    if (byMs === 0) throw invalidArgument('extend() duration must be greater than zero');
    if (options !== undefined && (options === null || typeof options !== 'object')) throw invalidArgument('extend() options must be an object');
    const maxIdleMs = options?.maxIdle === undefined ? undefined : parseDuration(options.maxIdle, 'extend() maxIdle', 'INVALID_ARGUMENT');
    const now = this.#now();
    // Without maxIdle, no cap but the absolute deadline, which the store applies itself.
    const maxIdleExpiresAt = maxIdleMs === undefined ? Number.MAX_SAFE_INTEGER : now + Math.max(this.#config.idleMs, maxIdleMs);
    const session = await storeCall('extend', () => this.#store.extend(id, byMs, now, maxIdleExpiresAt));
    if (session === null) throw await this.#whyNotActive(id, now);
    this.#changed([session.id]);
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
    const current = await storeCall('rotate', () => this.#store.findByTokenHash(currentHash));
    if (current === null || current.status !== 'active' || now >= current.expiresAt) {
      throw new SessionError('SESSION_NOT_FOUND', 'No active session holds this token; it may be expired, revoked or already rotated');
    }
    const next = generateToken();
    const session = await storeCall('rotate', () =>
      this.#store.rotateToken(currentHash, hashToken(next), now, this.#idleDeadline(current, now)),
    );
    if (session === null) {
      throw new SessionError('SESSION_NOT_FOUND', 'No active session holds this token; it was rotated or revoked concurrently');
    }
    this.#changed([session.id]);
    this.#events.emit('rotated', { session });
    if (this.#wants.rotated) this.#alerts.submit({ type: 'rotated', at: now, session });
    return { session, token: next };
  }

  async update(sessionId: string, changes: { metadata: Record<string, unknown> }): Promise<Session> {
    this.#assertOpen();
    const id = requireText(sessionId, 'sessionId');
    if (changes === null || typeof changes !== 'object' || changes.metadata === undefined) {
      throw invalidArgument('update() expects { metadata: { ... } }');
    }
    const patch = JSON.parse(serializeMetadata(changes.metadata, this.#config.maxMetadataBytes));
    const now = this.#now();
    const session = await storeCall('update', () => this.#store.mergeMetadata(id, patch, now, this.#config.maxMetadataBytes));
    if (session === null) throw await this.#whyNotActive(id, now);
    this.#changed([session.id]);
    return session;
  }

  async revoke(sessionId: string, options?: { reason?: string }): Promise<Session> {
    this.#assertOpen();
    const id = requireText(sessionId, 'sessionId');
    const reason = revokeReason(options?.reason, 'revoked');
    const now = this.#now();
    let revoked: Session | null;
    try {
      revoked = await storeCall('revoke', () => this.#store.revoke(id, reason, now));
    } finally {
      // Also when the store failed: the write may have happened all the same. Revoking a revoked
      // session publishes again, which an operator can use when a message may have been lost.
      this.#changed([id]);
    }
    if (revoked !== null) {
      this.#revoked(revoked, reason, now);
      return revoked;
    }
    const existing = await storeCall('revoke', () => this.#store.findById(id));
    if (existing === null) throw notFound(id);
    return existing;
  }

  async revokeAll(userId: string, options?: { except?: string; reason?: string }): Promise<number> {
    this.#assertOpen();
    const user = requireText(userId, 'userId');
    const except = options?.except === undefined ? undefined : requireText(options.except, 'except');
    const reason = revokeReason(options?.reason, 'revoked');
    const now = this.#now();
    const revoked = await storeCall('revokeAll', () => this.#store.revokeAll(user, reason, now, except));
    this.#changed(revoked.map((session) => session.id));
    for (const session of revoked) this.#revoked(session, reason, now);
    return revoked.length;
  }

  async get(sessionId: string): Promise<Session | null> {
    this.#assertOpen();
    const id = requireText(sessionId, 'sessionId');
    const session = await storeCall('get', () => this.#store.findById(id));
    return session === null ? null : this.#observed(session, this.#now());
  }

  async list(userId: string, options?: { includeInactive?: boolean }): Promise<Session[]> {
    this.#assertOpen();
    const user = requireText(userId, 'userId');
    const now = this.#now();
    const sessions = await storeCall('list', () => this.#store.listByUser(user, options?.includeInactive ? undefined : now));
    return sessions.map((session) => this.#observed(session, now));
  }

  async count(userId: string): Promise<number> {
    this.#assertOpen();
    const user = requireText(userId, 'userId');
    return storeCall('count', () => this.#store.countActive(user, this.#now()));
  }

  async stats(options: StatsOptions = {}): Promise<SessionStats> {
    this.#assertOpen();
    if (options === null || typeof options !== 'object') throw invalidArgument('stats() expects an options object');
    const userId = options.userId === undefined ? undefined : requireText(options.userId, 'userId');
    const since = options.since === undefined ? undefined : toEpochMs(options.since, 'since');
    const now = this.#now();
    // scan() is called inside #call so that a store which throws synchronously is wrapped too.
    return storeCall('stats', () => computeStats(this.#store.scan({ userId, createdSince: since }, STATS_PAGE_SIZE), now));
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
    const { activity, alerts } = this.#config.features;
    const sessions = await this.#deleteInBatches((limit) => this.#store.deleteEndedBefore(now - olderThanMs, limit), batchSize);
    await this.#deleteInBatches((limit) => this.#store.deleteRotatedTokensBefore(now - olderThanMs, limit), batchSize);
    if (alerts !== null) await this.#deleteInBatches((limit) => alerts.deleteCountersBefore(now, limit), batchSize);
    if (alerts !== null) await this.#deleteInBatches((limit) => alerts.deleteAlertsBefore(now - olderThanMs, limit), batchSize);
    if (activityMs !== undefined && activity !== null) {
      await this.#deleteInBatches((limit) => activity.deleteActivityBefore(now - activityMs, limit), batchSize);
    }
    return sessions;
  }

  async #deleteInBatches(deleteSome: (limit: number) => Promise<number>, batchSize: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await storeCall('cleanup', () => deleteSome(batchSize));
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
      // The stores are closed even when the last activity could not be written; the error still surfaces.
      await this.#closeStores();
    }
  }

  /** Sessions this manager changed: dropped from the validation cache here and on the other servers. */
  #changed(sessionIds: readonly string[]): void {
    this.#sync?.changed(sessionIds);
  }

  /** Closes each distinct store once, the session store last; the first failure is rethrown. */
  async #closeStores(): Promise<void> {
    const { activity, alerts } = this.#config.features;
    const stores = new Set<{ close(): Promise<void> }>();
    for (const store of [alerts, activity]) {
      if (store !== null && store !== (this.#store as object) && typeof (store as { close?: unknown }).close === 'function') {
        stores.add(store as unknown as { close(): Promise<void> });
      }
    }
    stores.add(this.#store);
    // The invalidation channel first, so that no message arrives once the stores are gone.
    const closers: { close(): Promise<void> }[] = this.#sync === null ? [...stores] : [this.#sync, ...stores];
    let failure: { error: unknown } | null = null;
    for (const store of closers) {
      try {
        await store.close();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== null) throw failure.error;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionError('CLOSED', 'The session manager is closed');
  }

  /** Runs a store call, turning driver failures into STORE_UNAVAILABLE. */
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
    const existing = await storeCall('lookup', () => this.#store.findById(id));
    if (existing === null) return notFound(id);
    const status = this.#observed(existing, now).status;
    return new SessionError('SESSION_INACTIVE', `Session ${id} is ${status}`);
  }
}
