import { nanoid } from 'nanoid';
import type { ActivityCategory, ActivityQuery, ActivityRecord, ActivityStore, EpochMs, Session, SessionStore } from '../contracts.js';
import { parseDuration, type Duration } from '../duration.js';
import { invalidArgument, invalidConfig, SessionError, toStoreError } from '../errors.js';
import { ACTIVITY_CATEGORIES, createClassifier, extractResource, type CategoryRule } from './classify.js';
import { decodeCursor, MAX_DATE_MS, pageOf, toEpochMs } from '../internal/pagination.js';
import { FifoQueue } from '../internal/fifo-queue.js';
import { LruCache } from '../internal/lru-cache.js';
import { storeCall } from '../internal/store-call.js';
import { cleanText, isStorableText, MAX_ID_LENGTH, requireText } from '../internal/text.js';
import { redactDetails, redactString, sanitizePath } from './redact.js';

/** What `activity.record()` accepts. Every field is optional; unknown fields are ignored. */
export interface ActivityEvent {
  /** What happened. Default `'request'`. */
  type?: string;
  /** Default: classified from `method` and `path` by the configured rules. */
  category?: ActivityCategory;
  method?: string;
  /** Request path; the query string is dropped unless its parameters are allow-listed. */
  path?: string;
  status?: number;
  durationMs?: number;
  bytesIn?: number;
  bytesOut?: number;
  /** `'conversation:123'` or `{ type, id }`. Default: extracted from `path`. */
  resource?: string | { type: string; id: string };
  /** Application data; secrets and personal data (emails, card and phone numbers, ...) are redacted before storage. */
  details?: Record<string, unknown>;
  /** When it happened. Default: now. */
  at?: Date | EpochMs;
}

/** Options of the activity logger (`createSessionManager({ activity: { ... } })`). */
export interface ActivityOptions {
  /** Rows per multi-row insert; a full batch is written at once. Default 500. */
  batchSize?: number;
  /** Queued rows are written at least this often. Default `'1s'`. */
  flushInterval?: Duration;
  /** Rows held in memory at most; beyond it the oldest unwritten rows are dropped and counted. Default 10,000. */
  maxQueue?: number;
  /** Classification rules tried before the built-in ones. */
  categories?: CategoryRule[];
  /** Query parameters kept in stored paths, e.g. `['page', 'sort']`. Default: none. */
  allowQueryParams?: string[];
  /** First retry delay after a failed write; doubles per failure up to `maxRetryDelay`. Default `'100ms'`. */
  retryDelay?: Duration;
  /** Default `'30s'`. */
  maxRetryDelay?: Duration;
  /** Batches written at once. Postgres uses the extra connections; SQLite serialises them. Default 2. */
  concurrency?: number;
}

/** Counters of the logger since the manager was created. */
export interface ActivityStats {
  /** Rows waiting to be written (including a batch waiting to be retried). */
  queued: number;
  written: number;
  /** Rows dropped because the queue was full. */
  dropped: number;
  /** Failed write attempts (each is retried while the queue has room). */
  failed: number;
}

/** Options of `activity.list()`: one of `sessionId` or `userId`, and optional filters. */
export interface ActivityListOptions {
  sessionId?: string;
  userId?: string;
  since?: Date | EpochMs;
  until?: Date | EpochMs;
  category?: ActivityCategory;
  /** 1–1,000. Default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface ActivityPage {
  items: ActivityRecord[];
  /** Pass as `cursor` for the next (older) page; `null` on the last page. */
  nextCursor: string | null;
}

/** The activity log of a session manager: `sessions.activity`. */
export interface ActivityLog {
  /**
   * Queues an event for `session` (a Session, or its id). Never waits for storage and never throws
   * for a storage problem; it throws `INVALID_ARGUMENT` for a missing session id or event, and
   * `CLOSED` after the manager was closed.
   * @example
   * sessions.activity.record(session, { method: 'GET', path: '/api/v1/conversations/123', status: 200, durationMs: 12 });
   */
  record(session: Session | string, event: ActivityEvent): void;
  /**
   * Stored rows, newest first. Rows still queued are not included: `flush()` first to read your writes.
   * @example
   * const { items, nextCursor } = await sessions.activity.list({ userId, category: 'auth', limit: 20 });
   */
  list(options: ActivityListOptions): Promise<ActivityPage>;
  /** Writes everything queued now. Throws the store's error if a write fails; the rows stay queued. */
  flush(): Promise<void>;
  stats(): ActivityStats;
}

/** The manager's side of the logger: not part of the public surface. */
export interface ActivityLogController extends ActivityLog {
  /** Stops timers and writes what is queued. */
  close(): Promise<void>;
}

/**
 * Creates the logger a manager exposes as `sessions.activity`: rows go to `store`, and the user of
 * an event recorded with a bare session id is looked up in `sessions` (the two may be one object).
 */
export function createActivityLog(
  store: ActivityStore,
  sessions: Pick<SessionStore, 'findById'>,
  now: () => EpochMs,
  options: ActivityOptions = {},
): ActivityLogController {
  return new ActivityLogger(store, sessions, now, resolveOptions(options));
}

// --- internal ---

interface ResolvedOptions {
  batchSize: number;
  flushIntervalMs: number;
  maxQueue: number;
  classify: (method: string | null, path: string | null) => ActivityCategory;
  allowQueryParams: ReadonlySet<string>;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  concurrency: number;
}

/** An event as captured by record(): cheap copies only; classification and redaction wait for the flush. */
interface Pending {
  sessionId: string;
  userId: string | null | undefined;
  ts: EpochMs;
  event: ActivityEvent;
}

const USER_CACHE_SIZE = 10_000;
const SEQUENCE_SPAN = 36 ** 4;

function resolveOptions(options: ActivityOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') invalidConfig('activity', 'must be an object');
  const batchSize = options.batchSize ?? 500;
  const maxQueue = options.maxQueue ?? 10_000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    invalidConfig('activity.batchSize', 'must be an integer from 1 to 10000');
  }
  if (!Number.isSafeInteger(maxQueue) || maxQueue < batchSize) {
    invalidConfig('activity.maxQueue', 'must be an integer of at least activity.batchSize');
  }
  const concurrency = options.concurrency ?? 2;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 16) {
    invalidConfig('activity.concurrency', 'must be an integer from 1 to 16');
  }
  const flushIntervalMs = parseDuration(options.flushInterval ?? '1s', 'activity.flushInterval');
  if (flushIntervalMs < 10) invalidConfig('activity.flushInterval', 'must be at least 10 ms');
  for (const rule of options.categories ?? []) {
    if (!ACTIVITY_CATEGORIES.includes(rule?.category) || (typeof rule.path !== 'string' && !(rule.path instanceof RegExp))) {
      invalidConfig('activity.categories', `rules each need a category (${ACTIVITY_CATEGORIES.join(', ')}) and a path (string prefix or RegExp)`);
    }
  }
  return {
    batchSize,
    flushIntervalMs,
    maxQueue,
    classify: createClassifier(options.categories ?? []),
    allowQueryParams: new Set(options.allowQueryParams ?? []),
    retryDelayMs: parseDuration(options.retryDelay ?? '100ms', 'activity.retryDelay'),
    maxRetryDelayMs: parseDuration(options.maxRetryDelay ?? '30s', 'activity.maxRetryDelay'),
    concurrency,
  };
}

class ActivityLogger implements ActivityLogController {
  readonly #store: ActivityStore;
  readonly #sessions: Pick<SessionStore, 'findById'>;
  readonly #now: () => EpochMs;
  readonly #options: ResolvedOptions;
  readonly #queue = new FifoQueue<Pending>();
  /** Built batches whose write failed, oldest first; retried with the same ids, so never doubled. */
  #retry: ActivityRecord[][] = [];
  /** Batches being built or written, and how many rows they hold. */
  readonly #inflight = new Set<Promise<void>>();
  #inflightRows = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #attempts = 0;
  #scheduled = false;
  #interval: NodeJS.Timeout | null = null;
  readonly #userIds = new LruCache<string | null>(USER_CACHE_SIZE);
  readonly #counters = { written: 0, dropped: 0, failed: 0 };
  #sequence = 0;
  #closed = false;

  constructor(store: ActivityStore, sessions: Pick<SessionStore, 'findById'>, now: () => EpochMs, options: ResolvedOptions) {
    this.#store = store;
    this.#sessions = sessions;
    this.#now = now;
    this.#options = options;
  }

  record(session: Session | string, event: ActivityEvent): void {
    // After close() nothing would ever write the event: say so instead of queueing it.
    if (this.#closed) throw new SessionError('CLOSED', 'The session manager is closed');
    const sessionId = typeof session === 'string' ? session : session?.id;
    if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_ID_LENGTH || !isStorableText(sessionId)) {
      throw new SessionError('INVALID_ARGUMENT', 'activity.record() needs a session or a session id');
    }
    if (event === null || typeof event !== 'object') throw new SessionError('INVALID_ARGUMENT', 'activity.record() needs an event object');
    const at = event.at instanceof Date ? event.at.getTime() : event.at;
    // Stores keep whole milliseconds (Postgres refuses 1.5 or 1e300 in a bigint, and one such row
    // would fail its batch for good); what no Date can hold counts as now, as a missing `at` does.
    const ts = typeof at === 'number' && Math.abs(at) <= MAX_DATE_MS ? Math.trunc(at) : this.#now();
    // A user id that no store can hold is looked up by the session id instead.
    const userId = typeof session === 'string' || typeof session.userId !== 'string' || !isStorableText(session.userId) ? undefined : session.userId;
    this.#queue.push({ sessionId, userId, ts, event });
    if (this.#size() > this.#options.maxQueue) this.#dropOldest();
    this.#interval ??= setInterval(() => this.#pump(true), this.#options.flushIntervalMs).unref();
    if (!this.#scheduled && this.#queued() >= this.#options.batchSize) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#pump(false);
      });
    }
  }

  async list(options: ActivityListOptions): Promise<ActivityPage> {
    if (options === null || typeof options !== 'object') throw invalidArgument('activity.list() expects an options object');
    const { sessionId, userId } = options;
    if ((sessionId === undefined) === (userId === undefined)) throw invalidArgument('activity.list() needs exactly one of sessionId and userId');
    for (const [field, value] of [['sessionId', sessionId], ['userId', userId]] as const) {
      if (value !== undefined) requireText(value, `activity.list() ${field}`);
    }
    const limit = options.limit ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw invalidArgument('activity.list() limit must be an integer from 1 to 1000');
    if (options.category !== undefined && !ACTIVITY_CATEGORIES.includes(options.category)) {
      throw invalidArgument(`activity.list() category must be one of ${ACTIVITY_CATEGORIES.join(', ')}`);
    }
    const query: ActivityQuery = {
      ...(sessionId !== undefined ? { sessionId } : { userId: userId! }),
      ...(options.since !== undefined ? { since: toEpochMs(options.since, 'activity.list() since') } : {}),
      ...(options.until !== undefined ? { until: toEpochMs(options.until, 'activity.list() until') } : {}),
      ...(options.category !== undefined ? { category: options.category } : {}),
      ...(options.cursor !== undefined ? { before: activityPosition(options.cursor) } : {}),
      limit: limit + 1,
    };
    const rows = await storeCall('activity.list', () => this.#store.listActivity(query));
    return pageOf(rows, limit, (row) => ({ time: row.ts, id: row.id }));
  }

  async flush(): Promise<void> {
    while (this.#size() > 0) {
      this.#clearRetryTimer();
      // Unlike the background writers, flush() reports a failure to its caller (rows stay queued).
      this.#pump(true, true);
      const outcomes = await Promise.allSettled([...this.#inflight]);
      const failure = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failure !== undefined) throw toStoreError((failure as PromiseRejectedResult).reason, 'activity.flush');
    }
  }

  stats(): ActivityStats {
    return { queued: this.#size(), ...this.#counters };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#interval !== null) clearInterval(this.#interval);
    this.#interval = null;
    try {
      await this.flush();
    } finally {
      this.#clearRetryTimer();
    }
  }

  #queued(): number {
    return this.#queue.length;
  }

  #size(): number {
    let retrying = 0;
    for (const batch of this.#retry) retrying += batch.length;
    return this.#queued() + retrying + this.#inflightRows;
  }

  /** Drops the oldest row not being written: first from failed batches, then from the queue. */
  #dropOldest(): void {
    const oldest = this.#retry[0];
    if (oldest !== undefined) {
      oldest.shift();
      if (oldest.length === 0) this.#retry.shift();
    } else if (!this.#queue.dropOldest()) {
      return;
    }
    this.#counters.dropped++;
  }

  /**
   * Starts writers up to `concurrency`: for failed batches and full batches, and with `partial` for
   * whatever is queued. Several batches in flight keep a database with spare cores busy.
   */
  #pump(partial: boolean, ignoreBackoff = false): void {
    while (this.#inflight.size < this.#options.concurrency && (ignoreBackoff || this.#retryTimer === null)) {
      const retrying = this.#retry.length > 0;
      const queued = this.#queued();
      if (!retrying && (queued === 0 || (!partial && queued < this.#options.batchSize))) return;
      const write = this.#write();
      this.#inflight.add(write);
      write.then(
        () => {
          this.#inflight.delete(write);
          this.#pump(false);
        },
        () => this.#inflight.delete(write),
      );
    }
  }

  /** Writes one batch: the oldest failed one, else the next rows of the queue. */
  async #write(): Promise<void> {
    let batch = this.#retry.shift();
    let pending: Pending[] | null = null;
    if (batch === undefined) {
      pending = this.#queue.shiftMany(this.#options.batchSize);
    }
    const rows = batch?.length ?? pending!.length;
    this.#inflightRows += rows;
    try {
      if (batch === undefined) {
        await this.#resolveUserIds(pending!);
        batch = pending!.map((p) => this.#toRecord(p));
      }
      await this.#store.insertActivity(batch);
      this.#counters.written += batch.length;
      this.#attempts = 0;
    } catch (err) {
      this.#counters.failed++;
      if (batch !== undefined) {
        this.#retry.unshift(batch);
      } else {
        // The user lookup failed before the batch was built: its events go back to the front.
        this.#queue.unshiftMany(pending!);
      }
      this.#scheduleRetry();
      throw err;
    } finally {
      this.#inflightRows -= rows;
      while (this.#size() > this.#options.maxQueue) this.#dropOldest();
    }
  }

  /** Events recorded with a bare session id get their user from the store, cached per session. */
  async #resolveUserIds(pending: Pending[]): Promise<void> {
    // This batch's answers are kept apart from the bounded cache, which may drop some of them
    // before the last loop when the batch holds more sessions than the cache does.
    const found = new Map<string, string | null | undefined>();
    for (const p of pending) if (p.userId === undefined && !found.has(p.sessionId)) found.set(p.sessionId, this.#userIds.get(p.sessionId));
    await Promise.all(
      [...found].map(async ([id, userId]) => {
        if (userId !== undefined) return;
        const session = await this.#sessions.findById(id);
        found.set(id, session?.userId ?? null);
        this.#userIds.set(id, session?.userId ?? null);
      }),
    );
    for (const p of pending) if (p.userId === undefined) p.userId = found.get(p.sessionId) ?? null;
  }

  #toRecord(p: Pending): ActivityRecord {
    const e = p.event;
    const method = typeof e.method === 'string' && e.method.length > 0 ? cleanText(e.method.slice(0, 16).toUpperCase()) : null;
    const path = typeof e.path === 'string' && e.path.length > 0 ? cleanText(sanitizePath(e.path, this.#options.allowQueryParams)) : null;
    const resource = toResource(e.resource) ?? extractResource(path === null ? null : stripQuery(path));
    const category = e.category !== undefined && ACTIVITY_CATEGORIES.includes(e.category) ? e.category : this.#options.classify(method, path);
    return {
      id: this.#nextId(p.ts),
      sessionId: p.sessionId,
      userId: p.userId ?? null,
      ts: p.ts,
      type: typeof e.type === 'string' && e.type.length > 0 ? cleanText(e.type.slice(0, 64)) : 'request',
      category,
      method,
      path,
      status: integerOrNull(e.status),
      durationMs: integerOrNull(typeof e.durationMs === 'number' ? Math.round(e.durationMs) : undefined),
      bytesIn: integerOrNull(e.bytesIn),
      bytesOut: integerOrNull(e.bytesOut),
      resourceType: resource === null ? null : cleanText(redactString(resource.type).slice(0, 64)),
      resourceId: resource === null ? null : cleanText(redactString(resource.id).slice(0, 128)),
      details: redactDetails(e.details),
    };
  }

  /**
   * Time-ordered ids (time, a counter, then randomness): rows are appended to the primary-key index
   * instead of scattered over it, which triples SQLite's insert rate and helps Postgres too.
   */
  #nextId(ts: EpochMs): string {
    this.#sequence = (this.#sequence + 1) % SEQUENCE_SPAN;
    return `act_${Math.max(0, Math.trunc(ts)).toString(36).padStart(9, '0')}${this.#sequence.toString(36).padStart(4, '0')}${nanoid(8)}`;
  }

  #scheduleRetry(): void {
    this.#clearRetryTimer();
    const delay = Math.min(this.#options.maxRetryDelayMs, this.#options.retryDelayMs * 2 ** this.#attempts);
    this.#attempts = Math.min(this.#attempts + 1, 30);
    // Jitter spreads the retries of many app servers after a shared database comes back.
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#pump(true);
    }, delay * (0.5 + Math.random() / 2)).unref();
  }

  #clearRetryTimer(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }
}

function toResource(value: ActivityEvent['resource']): { type: string; id: string } | null {
  if (typeof value === 'string') {
    const colon = value.indexOf(':');
    return colon > 0 ? { type: value.slice(0, colon), id: value.slice(colon + 1) } : null;
  }
  if (value !== null && typeof value === 'object' && typeof value.type === 'string' && typeof value.id === 'string') return value;
  return null;
}

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

function integerOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function activityPosition(cursor: unknown): { ts: EpochMs; id: string } {
  const { time, id } = decodeCursor(cursor, 'act_', 'activity.list()');
  return { ts: time, id };
}
