import type { Alert, AlertQuery, AlertStatus, EpochMs, Session, SessionStore } from '../contracts.js';
import { LruCache } from '../device/lru-cache.js';
import { parseDuration } from '../duration.js';
import { invalidArgument, invalidConfig, SessionError, toStoreError } from '../errors.js';
import { serializeMetadata } from '../metadata.js';
import type { IpProtector } from '../net/ip-privacy.js';
import { decodeCursor, encodeCursor, toEpochMs } from '../pagination.js';
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
  AlertRule,
  AlertRuleContext,
  GeoLocation,
  GeoResolver,
} from './types.js';

/** What the engine needs from its manager. */
export interface AlertEngineHost {
  readonly store: SessionStore;
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
const MAX_TEXT = 255;
const MAX_DEDUP_KEY = 512;
const GEO_CACHE_SIZE = 10_000;
/**
 * Events evaluated at once. Few, so that rules that query the store (counters, rotated tokens) hold
 * a few pool connections at most and validation keeps the rest, even under a flood of bad tokens.
 */
const EVALUATION_CONCURRENCY = 4;

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
}

function resolveOptions(options: AlertOptions | false | undefined): ResolvedOptions {
  const defaultOnError = (error: unknown, source: string) => console.error(`sessionkeeper: alert ${source} failed`, error);
  if (options === false) return { rules: [], onAlert: undefined, geo: undefined, onError: defaultOnError, maxPending: 0 };
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
  for (const [i, rule] of [...builtinRules(o.rules, o.geo !== undefined), ...(o.custom ?? [])].entries()) {
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
  return { rules, onAlert: o.onAlert, geo: o.geo, onError: o.onError ?? defaultOnError, maxPending };
}

class Engine implements AlertEngine {
  readonly wants: Readonly<Record<AlertEventType, boolean>>;
  readonly #options: ResolvedOptions;
  readonly #host: AlertEngineHost;
  readonly #rulesByEvent = new Map<AlertEventType, ResolvedRule[]>();
  /** Events waiting for a worker; `#head` is the next one (an array shifted by index, not by copying). */
  #queue: AlertEvent[] = [];
  #head = 0;
  #workers = 0;
  /** Events taken by a worker and not yet fully evaluated. */
  #busy = 0;
  #idleWaiters: Array<() => void> = [];
  readonly #geoCache = new LruCache<GeoLocation | null>(GEO_CACHE_SIZE);
  readonly #stats = { dropped: 0, raised: 0, folded: 0, errors: 0 };
  #closed = false;

  constructor(options: ResolvedOptions, host: AlertEngineHost) {
    this.#options = options;
    this.#host = host;
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
    if (this.#pending() >= this.#options.maxPending) {
      const dropped = ++this.#stats.dropped;
      // 1st, 10th, 100th, ...: enough to notice a flood without flooding the log.
      if (Number.isInteger(Math.log10(dropped))) {
        this.#report(new Error(`evaluation queue full (${this.#options.maxPending} events waiting): ${dropped} dropped so far`), 'queue');
      }
      return;
    }
    this.#queue.push(event);
    if (this.#workers < EVALUATION_CONCURRENCY) {
      this.#workers++;
      // A microtask: rules never run inside the operation that produced the event.
      queueMicrotask(() => void this.#work());
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
    const rows = await this.#storeCall('alerts.list', () => this.#host.store.listAlerts(query));
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.createdAt, last.id) : null };
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
    return { pending: this.#pending(), ...this.#stats };
  }

  #pending(): number {
    return this.#queue.length - this.#head + this.#busy;
  }

  /**
   * One worker: takes events until none are left. A rule that answers synchronously with no finding
   * (the common case) costs no promise; the worker awaits only rules that are async or fire.
   */
  async #work(): Promise<void> {
    try {
      while (this.#head < this.#queue.length) {
        const event = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined!;
        if (this.#head === this.#queue.length) {
          this.#queue = [];
          this.#head = 0;
        } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
          // Under load that never lets the queue empty, drop the consumed front now and then.
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        const evaluation = this.#evaluate(event);
        if (evaluation === undefined) continue;
        this.#busy++;
        try {
          await evaluation;
        } finally {
          this.#busy--;
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
        result = resolved.rule.evaluate(event, new RuleContext(this, resolved.rule.type, event.at));
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
        finding = i === index ? await first : await resolved.rule.evaluate(event, new RuleContext(this, resolved.rule.type, event.at));
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
  }

  async #setStatus(alertId: string, status: 'acknowledged' | 'resolved', options: { note?: string } | undefined): Promise<Alert> {
    const method = status === 'resolved' ? 'resolve' : 'acknowledge';
    requireText(alertId, `alerts.${method}() alertId`);
    const note = options?.note;
    if (note !== undefined && (typeof note !== 'string' || note.length > 1000 || note.includes('\0') || !note.isWellFormed())) {
      throw invalidArgument(`alerts.${method}() note must be a string of at most 1000 characters`);
    }
    const at = this.#host.now();
    const updated = await this.#storeCall(`alerts.${method}`, () => this.#host.store.setAlertStatus(alertId, status, at, note));
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
      ({ alert, created } = await this.#host.store.raiseAlert(occurrence, windowMs));
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
        if (!isPlace(result)) throw new TypeError(`geo resolver returned ${JSON.stringify(result)}, not { lat, lon } in degrees`);
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

  async #storeCall<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, operation);
    }
  }
}

/** What one evaluation sees; the counter and lookups go through the manager's store. */
class RuleContext implements AlertRuleContext {
  readonly #engine: Engine;
  readonly #type: string;
  readonly #at: EpochMs;

  constructor(engine: Engine, type: string, at: EpochMs) {
    this.#engine = engine;
    this.#type = type;
    this.#at = at;
  }

  count(key: string, windowMs: number): Promise<number> {
    return this.#engine.host.store.hitCounter(`${this.#type}:${key}`, this.#at, windowMs);
  }

  geo(ip: string): Promise<GeoLocation | null> {
    return this.#engine.geo(ip);
  }

  sessionsOf(userId: string): Promise<Session[]> {
    return this.#engine.host.store.listByUser(userId);
  }

  findRotatedToken(tokenHash: string) {
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

function checkFindingText(value: unknown, field: string, nullable: boolean): string | null {
  if (value === null && nullable) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TEXT) throw new TypeError(`finding ${field} must be a string of 1 to ${MAX_TEXT} characters${nullable ? ' or null' : ''}`);
  return value;
}

function checkSeverity(value: unknown): Alert['severity'] {
  if (!ALERT_SEVERITIES.includes(value as Alert['severity'])) throw new TypeError(`finding severity must be one of ${ALERT_SEVERITIES.join(', ')}`);
  return value as Alert['severity'];
}

function checkDedupKey(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_DEDUP_KEY) throw new TypeError(`finding dedupKey must be a string of 1 to ${MAX_DEDUP_KEY} characters`);
  return value;
}

/** Evidence as stored: plain JSON within 16 KiB, with the action taken noted for the reviewer. */
function checkEvidence(evidence: unknown, action: AlertAction): Record<string, unknown> {
  const json = serializeMetadata(evidence, MAX_EVIDENCE_BYTES, 'finding evidence');
  const parsed = JSON.parse(json) as Record<string, unknown>;
  return action === 'none' ? parsed : { ...parsed, action };
}

function requireText(value: unknown, field: string): void {
  // NUL and lone surrogates: no store can hold them (Postgres refuses NUL in a text parameter).
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TEXT || value.includes('\0') || !value.isWellFormed()) {
    throw invalidArgument(`${field} must be a non-empty string of at most ${MAX_TEXT} characters, without NUL or unpaired surrogates`);
  }
}

function alertPosition(cursor: unknown): { createdAt: EpochMs; id: string } {
  const { time, id } = decodeCursor(cursor, 'alr_', 'alerts.list()');
  return { createdAt: time, id };
}
