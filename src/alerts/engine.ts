import type { Alert, AlertQuery, AlertStatus, AlertStore, EpochMs, RotatedToken, Session, SessionStore } from '../contracts.js';
import { LruCache } from '../internal/lru-cache.js';
import { parseDuration } from '../duration.js';
import { invalidArgument, invalidConfig, invalidConfigError, SessionError, toStoreError } from '../errors.js';
import { serializeMetadata } from '../metadata.js';
import type { IpProtector } from '../net/ip-privacy.js';
import { decodeCursor, pageOf, toEpochMs } from '../internal/pagination.js';
import { FifoQueue } from '../internal/fifo-queue.js';
import { storeCall } from '../internal/store-call.js';
import { isStorableText, MAX_ID_LENGTH, requireText } from '../internal/text.js';
import { generateAlertId } from '../token.js';
import { builtinRules } from './rules.js';
import { ALERT_SEVERITIES } from './severity.js';
import type {
  AlertAction,
  AlertCenter,
  AlertEngineStats,
  AlertEvent,
  AlertEventType,
  AlertFinding,
  AlertListOptions,
  AlertOptions,
  AlertPage,
  AlertQueueStats,
  AlertRule,
  AlertRuleContext,
  GeoLocation,
  GeoResolver,
} from './types.js';

/** What the engine needs from its manager. */
export interface AlertEngineHost {
  /** The sessions: rules read a user's sessions and rotated-token records here. */
  readonly store: SessionStore;
  /** Where alerts and hit counters live (may be the same object as `store`). */
  readonly alertStore: AlertStore;
  readonly now: () => EpochMs;
  readonly storedIp: IpProtector;
  /** Emits the manager's `alert` event. */
  emit(alert: Alert, created: boolean): void;
  /** Revoke through the manager, so that its events fire; a missing or ended session is not an error. */
  revoke(sessionId: string, reason: string): Promise<unknown>;
  revokeAll(userId: string, reason: string): Promise<unknown>;
}

/** The manager's side of the alert engine: `sessions.alerts` plus what the manager feeds it. */
export interface AlertEngine extends AlertCenter {
  /** Per event type: does any rule evaluate it? The manager builds only the events that are wanted. */
  readonly wants: Readonly<Record<AlertEventType, boolean>>;
  /**
   * Whether `validate()` should look up the rotated-token record of an unknown token before it
   * submits the event (the built-in revokedTokenReuse rule is on): that is what tells a replayed
   * token from a guess, and so which queue the event waits in.
   */
  readonly watchesRotatedTokens: boolean;
  /** The record of a rotated-away token hash; `undefined` (reported to `onError`) when the store fails. */
  lookupRotatedToken(tokenHash: string): Promise<RotatedToken | null | undefined>;
  /** Queues an event for evaluation; never throws, never waits. */
  submit(event: AlertEvent): void;
  /** Stops accepting events and waits for those under evaluation. */
  close(): Promise<void>;
}

/** Validates `options` once (INVALID_CONFIG names the field) and creates the engine. `false` turns every rule off. */
export function createAlertEngine(options: AlertOptions | false | undefined, host: AlertEngineHost): AlertEngine {
  return new Engine(resolveOptions(options), host);
}

// --- internal ---

const EVENT_TYPES: readonly AlertEventType[] = ['created', 'limitReached', 'validated', 'tokenRejected', 'rotated', 'revoked'];
const ACTIONS: readonly AlertAction[] = ['none', 'revoke', 'revokeAll'];
const ALERT_STATUSES: readonly AlertStatus[] = ['open', 'acknowledged', 'resolved'];
const MAX_EVIDENCE_BYTES = 16 * 1024;
const MAX_DEDUP_KEY = 512;
const GEO_CACHE_SIZE = 10_000;
/**
 * Events evaluated at once. Few, so that rules that query the store (counters, rotated tokens) hold
 * a few pool connections at most and validation keeps the rest, even under a flood of bad tokens.
 */
const EVALUATION_CONCURRENCY = 4;
/** Of those, guesses at most: one worker is always free for the other events. */
const GUESS_CONCURRENCY = EVALUATION_CONCURRENCY - 1;
/** Dropped events are reported at most this often (and on close). */
const DROP_REPORT_INTERVAL_MS = 60_000;

interface ResolvedRule {
  readonly rule: AlertRule;
  readonly windowMs: number;
  readonly action: AlertAction;
}

interface ResolvedOptions {
  readonly rules: readonly ResolvedRule[];
  readonly onAlert: ((alert: Alert) => void | Promise<void>) | undefined;
  readonly geo: GeoResolver | undefined;
  readonly onError: (error: unknown, source: string) => void;
  readonly maxPending: number;
  readonly watchesRotatedTokens: boolean;
}

function defaultOnError(error: unknown, source: string): void {
  // Drop reports are counts, already one line: no "failed", no stack.
  if (source === 'queue') console.warn(`sessionkeeper: ${(error as Error).message}`);
  else console.error(`sessionkeeper: alert ${source} failed`, error);
}

function resolveOptions(options: AlertOptions | false | undefined): ResolvedOptions {
  if (options === false) return { rules: [], onAlert: undefined, geo: undefined, onError: defaultOnError, maxPending: 0, watchesRotatedTokens: false };
  const o = options ?? {};
  if (o === null || typeof o !== 'object') invalidConfig('alerts', 'must be an options object or false');
  for (const field of ['onAlert', 'geo', 'onError'] as const) {
    if (o[field] !== undefined && typeof o[field] !== 'function') invalidConfig(`alerts.${field}`, 'must be a function');
  }
  const maxPending = o.maxPending ?? 10_000;
  if (!Number.isSafeInteger(maxPending) || maxPending < 1) invalidConfig('alerts.maxPending', 'must be a positive integer');
  if (o.custom !== undefined && !Array.isArray(o.custom)) invalidConfig('alerts.custom', 'must be an array of rules');

  const rules: ResolvedRule[] = [];
  const types = new Set<string>();
  const builtin = builtinRules(o.rules, o.geo !== undefined);
  for (const [i, rule] of [...builtin, ...(o.custom ?? [])].entries()) {
    const field = `alerts rule ${typeof rule?.type === 'string' ? `'${rule.type}'` : `#${i}`}`;
    if (rule === null || typeof rule !== 'object' || typeof rule.evaluate !== 'function') invalidConfig(field, 'must be an object with type and evaluate(event, ctx)');
    if (typeof rule.type !== 'string' || !/^[A-Za-z][\w.:-]{0,47}$/.test(rule.type)) invalidConfig(field, 'needs a type: a name of up to 48 letters, digits, _ . : -');
    if (types.has(rule.type)) invalidConfig(field, 'has the same type as another rule');
    types.add(rule.type);
    if (rule.events !== undefined && (!Array.isArray(rule.events) || !rule.events.every((e: unknown) => EVENT_TYPES.includes(e as AlertEventType)))) {
      invalidConfig(`${field} events`, `must be a list of ${EVENT_TYPES.join(', ')}`);
    }
    const action = rule.action ?? 'none';
    if (!ACTIONS.includes(action)) invalidConfig(`${field} action`, `must be one of ${ACTIONS.join(', ')}`);
    rules.push({ rule, windowMs: parseDuration(rule.window ?? '1h', `${field} window`), action });
  }
  return {
    rules,
    onAlert: o.onAlert,
    geo: o.geo,
    onError: o.onError ?? defaultOnError,
    maxPending,
    watchesRotatedTokens: builtin.some((rule) => rule.type === 'revokedTokenReuse'),
  };
}

class Engine implements AlertEngine {
  readonly wants: Readonly<Record<AlertEventType, boolean>>;
  readonly watchesRotatedTokens: boolean;
  readonly #options: ResolvedOptions;
  readonly #host: AlertEngineHost;
  readonly #rulesByEvent = new Map<AlertEventType, ResolvedRule[]>();
  /** Every event but guesses; drained first. */
  readonly #events: Queue;
  /** Guesses: malformed tokens, and unknown ones that were never rotated away. */
  readonly #guesses: Queue;
  #workers = 0;
  /** Events taken by a worker and not yet fully evaluated, and how many of them are guesses. */
  #busy = 0;
  #busyGuesses = 0;
  #idleWaiters: Array<() => void> = [];
  readonly #geoCache = new LruCache<GeoLocation | null>(GEO_CACHE_SIZE);
  readonly #stats = { raised: 0, folded: 0, errors: 0 };
  /** When drops were last reported (monotonic ms), and the timer that reports the ones since. */
  #reportedAt = -Infinity;
  #reportTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: ResolvedOptions, host: AlertEngineHost) {
    this.#options = options;
    this.#host = host;
    this.#events = new Queue(options.maxPending);
    this.#guesses = new Queue(options.maxPending);
    this.watchesRotatedTokens = options.watchesRotatedTokens;
    const wants = {} as Record<AlertEventType, boolean>;
    for (const type of EVENT_TYPES) {
      const rules = options.rules.filter((r) => r.rule.events === undefined || r.rule.events.includes(type));
      this.#rulesByEvent.set(type, rules);
      wants[type] = rules.length > 0;
    }
    this.wants = Object.freeze(wants);
  }

  submit(event: AlertEvent): void {
    if (this.#closed) return;
    let queue = this.#events;
    let foldKey: string | null = null;
    if (event.type === 'tokenRejected') {
      if (event.reason === 'malformed' || (event.reason === 'unknown' && event.rotated == null)) {
        queue = this.#guesses;
        // By the address as stored, which is also what tokenBruteForce counts by.
        foldKey = event.ip === null ? '' : (this.#host.storedIp(event.ip) ?? '');
      } else {
        foldKey = `${event.reason}:${event.session?.id ?? event.rotated?.sessionId}`;
      }
    }
    const outcome = queue.add(event, foldKey);
    if (outcome === 'dropped') this.#dropped();
    else if (outcome === 'queued' && this.#workers < EVALUATION_CONCURRENCY && (queue === this.#events || this.#busyGuesses < GUESS_CONCURRENCY)) {
      this.#workers++;
      // A microtask: rules never run inside the operation that produced the event.
      queueMicrotask(() => void this.#work());
    }
  }

  async lookupRotatedToken(tokenHash: string): Promise<RotatedToken | null | undefined> {
    try {
      return await this.#host.store.findRotatedToken(tokenHash);
    } catch (error) {
      this.#report(toStoreError(error, 'validate'), 'rotated token lookup');
      return undefined;
    }
  }

  async list(options: AlertListOptions = {}): Promise<AlertPage> {
    if (options === null || typeof options !== 'object') throw invalidArgument('alerts.list() expects an options object');
    const limit = options.limit ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw invalidArgument('alerts.list() limit must be an integer from 1 to 1000');
    if (options.userId !== undefined) requireText(options.userId, 'alerts.list() userId');
    if (options.status !== undefined && !ALERT_STATUSES.includes(options.status)) {
      throw invalidArgument(`alerts.list() status must be one of ${ALERT_STATUSES.join(', ')}`);
    }
    if (options.severity !== undefined && !ALERT_SEVERITIES.includes(options.severity)) {
      throw invalidArgument(`alerts.list() severity must be one of ${ALERT_SEVERITIES.join(', ')}`);
    }
    const query: AlertQuery = {
      ...(options.userId !== undefined ? { userId: options.userId } : {}),
      ...(options.status !== undefined ? { status: options.status } : {}),
      ...(options.severity !== undefined ? { severity: options.severity } : {}),
      ...(options.since !== undefined ? { since: toEpochMs(options.since, 'alerts.list() since') } : {}),
      ...(options.cursor !== undefined ? { before: alertPosition(options.cursor) } : {}),
      limit: limit + 1,
    };
    const rows = await storeCall('alerts.list', () => this.#host.alertStore.listAlerts(query));
    return pageOf(rows, limit, (alert) => ({ time: alert.createdAt, id: alert.id }));
  }

  acknowledge(alertId: string, options?: { note?: string }): Promise<Alert> {
    return this.#setStatus(alertId, 'acknowledged', options);
  }

  resolve(alertId: string, options?: { note?: string }): Promise<Alert> {
    return this.#setStatus(alertId, 'resolved', options);
  }

  flush(): Promise<void> {
    // Workers drain the queue, including what actions submit (a revocation is an event).
    if (this.#workers === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stats(): AlertEngineStats {
    const events = this.#events.stats();
    const guesses = this.#guesses.stats();
    return {
      pending: events.waiting + guesses.waiting + this.#busy,
      dropped: events.dropped + guesses.dropped,
      ...this.#stats,
      queues: { events, guesses },
    };
  }

  /**
   * One worker: takes events until none are left, other events before guesses, and a guess only
   * while fewer than GUESS_CONCURRENCY are being evaluated. A rule that answers synchronously with
   * no finding (the common case) costs no promise; the worker awaits only rules that are async or fire.
   */
  async #work(): Promise<void> {
    try {
      for (;;) {
        let event = this.#events.take();
        const guess = event === undefined;
        if (guess && this.#busyGuesses < GUESS_CONCURRENCY) event = this.#guesses.take();
        if (event === undefined) return;
        const evaluation = this.#evaluate(event);
        if (evaluation === undefined) continue;
        this.#busy++;
        if (guess) this.#busyGuesses++;
        try {
          await evaluation;
        } finally {
          this.#busy--;
          if (guess) this.#busyGuesses--;
        }
      }
    } finally {
      this.#workers--;
      if (this.#workers === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }

  /** Runs the event's rules in order; returns without a promise when every rule answered synchronously with nothing. */
  #evaluate(event: AlertEvent): Promise<void> | undefined {
    const rules = this.#rulesByEvent.get(event.type)!;
    for (let i = 0; i < rules.length; i++) {
      const resolved = rules[i]!;
      let result: ReturnType<AlertRule['evaluate']>;
      try {
        result = resolved.rule.evaluate(event, new RuleContext(this, resolved.rule.type, event));
      } catch (error) {
        this.#report(error, `rule '${resolved.rule.type}'`);
        continue;
      }
      if (result == null) continue;
      // From here on, asynchronous: this rule and the rest.
      return this.#finish(event, rules, i, result);
    }
    return undefined;
  }

  async #finish(event: AlertEvent, rules: readonly ResolvedRule[], index: number, first: ReturnType<AlertRule['evaluate']>): Promise<void> {
    for (let i = index; i < rules.length; i++) {
      const resolved = rules[i]!;
      let finding: AlertFinding | null | undefined;
      try {
        finding = i === index ? await first : await resolved.rule.evaluate(event, new RuleContext(this, resolved.rule.type, event));
      } catch (error) {
        this.#report(error, `rule '${resolved.rule.type}'`);
        continue;
      }
      if (finding != null) await this.#raise(resolved, finding, event.at);
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    if (this.#reportTimer !== null) clearTimeout(this.#reportTimer);
    this.#reportTimer = null;
    this.#reportDrops();
  }

  /** Counts are exact in stats(); the log gets one line at most once a minute, so a flood cannot flood it. */
  #dropped(): void {
    if (this.#reportTimer !== null) return;
    const wait = this.#reportedAt + DROP_REPORT_INTERVAL_MS - performance.now();
    if (wait <= 0) this.#reportDrops();
    else this.#reportTimer = setTimeout(() => this.#reportDrops(), wait).unref();
  }

  #reportDrops(): void {
    this.#reportTimer = null;
    const events = this.#events.takeUnreported();
    const guesses = this.#guesses.takeUnreported();
    if (events + guesses === 0) return;
    this.#reportedAt = performance.now();
    const { dropped } = this.stats();
    const message =
      `alert evaluation queue full: dropped ${events} events and ${guesses} token guesses` +
      `${dropped === events + guesses ? '' : ` since the last report (${dropped} in all)`}; see sessions.alerts.stats()`;
    const report = new SessionError('ALERT_QUEUE_FULL', message, { details: { events, guesses, dropped } });
    // A count, not a failure somewhere in the code: one line wherever it is printed.
    report.stack = `${report.name}: ${message}`;
    try {
      this.#options.onError(report, 'queue');
    } catch {
      // The reporter itself failed; there is nowhere left to report to.
    }
  }

  async #setStatus(alertId: string, status: 'acknowledged' | 'resolved', options: { note?: string } | undefined): Promise<Alert> {
    const method = status === 'resolved' ? 'resolve' : 'acknowledge';
    requireText(alertId, `alerts.${method}() alertId`);
    const note = options?.note;
    if (note !== undefined && (typeof note !== 'string' || note.length > 1000 || !isStorableText(note))) {
      throw invalidArgument(`alerts.${method}() note must be a string of at most 1000 characters`);
    }
    const at = this.#host.now();
    const updated = await storeCall(`alerts.${method}`, () => this.#host.alertStore.setAlertStatus(alertId, status, at, note));
    if (updated === null) throw new SessionError('ALERT_NOT_FOUND', `No alert with id ${alertId}`);
    return updated;
  }

  async #raise({ rule, windowMs, action }: ResolvedRule, finding: AlertFinding, at: EpochMs): Promise<void> {
    let alert: Alert;
    let created: boolean;
    try {
      const sessionId = finding.sessionId ?? null;
      const occurrence = {
        id: generateAlertId(),
        userId: checkFindingText(finding.userId, 'userId', true),
        sessionId: checkFindingText(sessionId, 'sessionId', true),
        type: rule.type,
        severity: checkSeverity(finding.severity),
        evidence: checkEvidence(finding.evidence, action),
        dedupKey: finding.dedupKey === undefined ? `${rule.type}:${finding.userId ?? ''}:${sessionId ?? ''}` : checkDedupKey(finding.dedupKey),
        at,
      };
      ({ alert, created } = await this.#host.alertStore.raiseAlert(occurrence, windowMs));
    } catch (error) {
      this.#report(error, `rule '${rule.type}'`);
      return;
    }
    this.#stats[created ? 'raised' : 'folded']++;
    await this.#act(rule.type, action, alert);
    this.#host.emit(alert, created);
    if (created && this.#options.onAlert !== undefined) {
      try {
        await this.#options.onAlert(alert);
      } catch (error) {
        this.#report(error, 'onAlert');
      }
    }
  }

  async #act(type: string, action: AlertAction, alert: Alert): Promise<void> {
    const reason = `alert:${type}`;
    try {
      if (action === 'revoke' && alert.sessionId !== null) await this.#host.revoke(alert.sessionId, reason);
      else if (action === 'revokeAll' && alert.userId !== null) await this.#host.revokeAll(alert.userId, reason);
    } catch (error) {
      this.#report(error, `action '${action}' of rule '${type}'`);
    }
  }

  async geo(ip: string): Promise<GeoLocation | null> {
    const resolver = this.#options.geo;
    if (resolver === undefined) return null;
    const cached = this.#geoCache.get(ip);
    if (cached !== undefined) return cached;
    let place: GeoLocation | null = null;
    try {
      const result = await resolver(ip);
      if (result != null) {
        if (!isPlace(result)) throw invalidConfigError('alerts.geo', `returned ${JSON.stringify(result)?.slice(0, 200)}, not { lat, lon } in degrees`);
        place = result;
      }
    } catch (error) {
      // Not cached: the resolver may work next time.
      this.#report(error, 'geo resolver');
      return null;
    }
    this.#geoCache.set(ip, place);
    return place;
  }

  get host(): AlertEngineHost {
    return this.#host;
  }

  #report(error: unknown, source: string): void {
    this.#stats.errors++;
    try {
      this.#options.onError(error, source);
    } catch {
      // The reporter itself failed; there is nowhere left to report to.
    }
  }

}

/**
 * Events waiting for a worker, oldest first, at most `max`: a new event beyond it is dropped. A rejected
 * token with a fold key joins the waiting event of that key instead of taking a place of its own.
 */
class Queue {
  readonly #max: number;
  readonly #items = new FifoQueue<Waiting>();
  /** Waiting events by fold key; an event leaves it when a worker takes it. */
  readonly #byKey = new Map<string, Waiting>();
  #dropped = 0;
  #folded = 0;
  #unreported = 0;

  constructor(max: number) {
    this.#max = max;
  }

  add(event: AlertEvent, foldKey: string | null): 'queued' | 'folded' | 'dropped' {
    if (foldKey !== null) {
      const waiting = this.#byKey.get(foldKey);
      if (waiting !== undefined) {
        // The newest event is kept: it is the one whose time the rules should see.
        waiting.attempts += (event as { attempts: number }).attempts;
        waiting.event = event;
        this.#folded++;
        return 'folded';
      }
    }
    if (this.#items.length >= this.#max) {
      this.#dropped++;
      this.#unreported++;
      return 'dropped';
    }
    const entry: Waiting = { event, foldKey, attempts: event.type === 'tokenRejected' ? event.attempts : 1 };
    this.#items.push(entry);
    if (foldKey !== null) this.#byKey.set(foldKey, entry);
    return 'queued';
  }

  take(): AlertEvent | undefined {
    const entry = this.#items.shift();
    if (entry === undefined) return undefined;
    if (entry.foldKey === null) return entry.event;
    this.#byKey.delete(entry.foldKey);
    const event = entry.event as Extract<AlertEvent, { type: 'tokenRejected' }>;
    return entry.attempts === event.attempts ? event : { ...event, attempts: entry.attempts };
  }

  stats(): AlertQueueStats {
    return { waiting: this.#items.length, dropped: this.#dropped, folded: this.#folded };
  }

  /** Drops since the last call. */
  takeUnreported(): number {
    const count = this.#unreported;
    this.#unreported = 0;
    return count;
  }
}

interface Waiting {
  event: AlertEvent;
  readonly foldKey: string | null;
  attempts: number;
}

/** What one evaluation sees; the counter and lookups go through the manager's store. */
class RuleContext implements AlertRuleContext {
  readonly #engine: Engine;
  readonly #type: string;
  readonly #event: AlertEvent;

  constructor(engine: Engine, type: string, event: AlertEvent) {
    this.#engine = engine;
    this.#type = type;
    this.#event = event;
  }

  count(key: string, windowMs: number, hits = 1): Promise<number> {
    if (!Number.isSafeInteger(hits) || hits < 1) return Promise.reject(invalidArgument('ctx.count() hits must be a positive integer'));
    return this.#engine.host.alertStore.hitCounter(`${this.#type}:${key}`, this.#event.at, windowMs, hits);
  }

  geo(ip: string): Promise<GeoLocation | null> {
    return this.#engine.geo(ip);
  }

  sessionsOf(userId: string): Promise<Session[]> {
    return this.#engine.host.store.listByUser(userId);
  }

  findRotatedToken(tokenHash: string): Promise<RotatedToken | null> {
    const event = this.#event;
    if (event.type === 'tokenRejected' && event.rotated !== undefined && event.tokenHash === tokenHash) return Promise.resolve(event.rotated);
    return this.#engine.host.store.findRotatedToken(tokenHash);
  }

  storedIp(ip: string | null): string | null {
    return ip === null ? null : this.#engine.host.storedIp(ip);
  }
}

function isPlace(value: unknown): value is GeoLocation {
  const { lat, lon } = value as GeoLocation;
  return typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
}

// A rule's finding is the rule author's input: what no store can hold is their mistake, reported
// as INVALID_ARGUMENT, never a STORE_UNAVAILABLE from the write.
function checkFindingText(value: unknown, field: string, nullable: boolean): string | null {
  if (value === null && nullable) return null;
  return requireText(value, `finding ${field}`, MAX_ID_LENGTH);
}

function checkSeverity(value: unknown): Alert['severity'] {
  if (!ALERT_SEVERITIES.includes(value as Alert['severity'])) throw invalidArgument(`finding severity must be one of ${ALERT_SEVERITIES.join(', ')}`);
  return value as Alert['severity'];
}

function checkDedupKey(value: unknown): string {
  return requireText(value, 'finding dedupKey', MAX_DEDUP_KEY);
}

/** Evidence as stored: plain JSON within 16 KiB, with the action taken noted for the reviewer. */
function checkEvidence(evidence: unknown, action: AlertAction): Record<string, unknown> {
  const json = serializeMetadata(evidence, MAX_EVIDENCE_BYTES, 'finding evidence');
  const parsed = JSON.parse(json) as Record<string, unknown>;
  return action === 'none' ? parsed : { ...parsed, action };
}


function alertPosition(cursor: unknown): { createdAt: EpochMs; id: string } {
  const { time, id } = decodeCursor(cursor, 'alr_', 'alerts.list()');
  return { createdAt: time, id };
}
