import type { Alert, AlertSeverity, EpochMs, RotatedToken, Session } from '../contracts.js';
import type { DeviceInfo } from '../device/index.js';
import type { Duration } from '../duration.js';

/**
 * What the alert rules watch: one event per manager operation, built only when an enabled rule
 * listens to its type. `ip` is the request's client address as given to the manager (normalised);
 * it lives only in memory — rules put `ctx.storedIp(ip)` into evidence, never `ip` itself.
 */
export type AlertEvent =
  | {
      /** `create()` stored a session. */
      readonly type: 'created';
      readonly at: EpochMs;
      readonly session: Session;
      readonly ip: string | null;
    }
  | {
      /** `create()` met `maxSessionsPerUser`: it refused the session or revoked older ones. */
      readonly type: 'limitReached';
      readonly at: EpochMs;
      readonly userId: string;
      readonly max: number;
      readonly outcome: 'rejected' | 'evicted';
      /** Sessions revoked to make room (empty when rejected). */
      readonly evicted: readonly Session[];
      readonly ip: string | null;
    }
  | {
      /** `validate()` accepted a token. `device` is the request's, when it sent a user agent or hints. */
      readonly type: 'validated';
      readonly at: EpochMs;
      readonly session: Session;
      /** The session's `lastActiveAt` before this request (stored at most once per `touchInterval`). */
      readonly previousActiveAt: EpochMs;
      readonly ip: string | null;
      readonly device: DeviceInfo | null;
    }
  | {
      /**
       * `validate()` refused a token: `malformed` (not a sessionkeeper token), `unknown` (no session
       * holds it: guessed, deleted, or rotated away), `revoked` or `expired` (with the session).
       */
      readonly type: 'tokenRejected';
      readonly at: EpochMs;
      readonly reason: 'malformed' | 'unknown' | 'revoked' | 'expired';
      /** The token's hash (as stores keep it); `null` for a malformed token. */
      readonly tokenHash: string | null;
      readonly session: Session | null;
      /**
       * For an `unknown` token while the built-in `revokedTokenReuse` rule is on: who held it before
       * `rotate()` replaced it, or `null` when it was never rotated away (a guess). `validate()` looks
       * it up before queueing the event, so that guesses can wait apart from everything else.
       * `undefined` when not looked up: ask `ctx.findRotatedToken`.
       */
      readonly rotated: RotatedToken | null | undefined;
      /**
       * How many rejected tokens this event stands for, usually 1. Under load, a rejection that
       * arrives while an earlier one of the same client (guesses) or the same session is still
       * waiting for evaluation is folded into it: the newest event is kept and `attempts` adds up.
       */
      readonly attempts: number;
      readonly ip: string | null;
    }
  | {
      /** `rotate()` replaced a session's token. */
      readonly type: 'rotated';
      readonly at: EpochMs;
      readonly session: Session;
    }
  | {
      /** A session was revoked (by `revoke()`, `revokeAll()`, eviction or an alert action). */
      readonly type: 'revoked';
      readonly at: EpochMs;
      readonly session: Session;
      readonly reason: string;
    };

export type AlertEventType = AlertEvent['type'];

/** A place, as a {@link GeoResolver} returns it. */
export interface GeoLocation {
  /** Degrees, -90 to 90. */
  readonly lat: number;
  /** Degrees, -180 to 180. */
  readonly lon: number;
  /** ISO 3166-1 alpha-2 code, when known. */
  readonly country?: string | null;
  readonly city?: string | null;
}

/**
 * Looks up where an address is (e.g. over a MaxMind GeoLite2 reader); `null` when unknown. No geo
 * database ships with sessionkeeper. Results are cached per address.
 */
export type GeoResolver = (ip: string) => GeoLocation | null | Promise<GeoLocation | null>;

/** What a rule does when it fires, after the alert is stored. */
export type AlertAction =
  /** Only record the alert. */
  | 'none'
  /** Revoke the session the finding names (reason `alert:<type>`). */
  | 'revoke'
  /** Revoke every active session of the finding's user (reason `alert:<type>`). */
  | 'revokeAll';

/** What a rule reports when an event looks suspicious. */
export interface AlertFinding {
  readonly userId: string | null;
  readonly sessionId?: string | null;
  readonly severity: AlertSeverity;
  /** JSON facts for whoever reviews the alert. Put stored forms of addresses here (`ctx.storedIp`). */
  readonly evidence: Readonly<Record<string, unknown>>;
  /** Findings with one key fold into one alert inside the rule's window. Default: type, user and session. */
  readonly dedupKey?: string;
}

/** What a rule may use besides the event. */
export interface AlertRuleContext {
  /**
   * Adds `hits` (default 1; e.g. an event's `attempts`) to `key` (namespaced by the rule's type)
   * and returns the hits inside the last `windowMs`, these included. Backed by the store: shared by
   * every app server on Postgres and SQLite, per process on the memory store.
   */
  count(key: string, windowMs: number, hits?: number): Promise<number>;
  /** Where an address is, through the configured resolver (cached); `null` without one. */
  geo(ip: string): Promise<GeoLocation | null>;
  /** Every stored session of the user (any status), most recently active first. */
  sessionsOf(userId: string): Promise<Session[]>;
  /**
   * Who held a token hash before `rotate()` replaced it, if the store still remembers. For the
   * token of the event being evaluated, answered from `event.rotated` when that was looked up.
   */
  findRotatedToken(tokenHash: string): Promise<RotatedToken | null>;
  /** An address in the form the manager stores it (`ipPrivacy`): use this in evidence. */
  storedIp(ip: string | null): string | null;
}

/**
 * A detection rule. `evaluate` runs after the operation that produced the event has returned, so it
 * never delays or fails a request; what it throws is reported to `onError` and the other rules run.
 *
 * @example
 * const adminFromNewCountry: AlertRule = {
 *   type: 'adminLogin',
 *   events: ['created'],
 *   evaluate: (event) =>
 *     event.type === 'created' && event.session.metadata.role === 'admin'
 *       ? { userId: event.session.userId, sessionId: event.session.id, severity: 'low', evidence: {} }
 *       : null,
 * };
 */
export interface AlertRule {
  /** Names the alerts it raises; unique among the manager's rules. */
  readonly type: string;
  /** The event types it evaluates. Default: all. Fewer types means less work per request. */
  readonly events?: readonly AlertEventType[];
  /** Findings with one dedup key fold into one alert while they keep coming within this window. Default `'1h'`. */
  readonly window?: Duration;
  /** Default `'none'`. */
  readonly action?: AlertAction;
  evaluate(event: AlertEvent, ctx: AlertRuleContext): AlertFinding | null | undefined | Promise<AlertFinding | null | undefined>;
}

/** Settings every built-in rule accepts. */
export interface BuiltinRuleOptions {
  /** Default: the rule's documented severity. */
  severity?: AlertSeverity;
  /** Fold window of its alerts. Default `'1h'`. */
  window?: Duration;
  /** Default `'none'`. */
  action?: AlertAction;
}

/** The built-in rules and their settings; `false` turns one off. See the README for the defaults and why. */
export interface BuiltinRules {
  /** A device (browser, OS, class, model — not versions) the user has no stored session from. Info. */
  newDevice?: BuiltinRuleOptions | false;
  /** `create()` hit `maxSessionsPerUser`. Medium. */
  concurrentLimit?: BuiltinRuleOptions | false;
  /** A session used from another device, or another /16 (IPv4) or /48 (IPv6) network shortly after its last use. High. */
  sessionHijack?: (BuiltinRuleOptions & { within?: Duration; checkDevice?: boolean; checkNetwork?: boolean }) | false;
  /** A rotated-away token, or the token of a session revoked for one of `reasons`, more than `grace` after it was replaced or revoked. High. */
  revokedTokenReuse?: (BuiltinRuleOptions & { grace?: Duration; reasons?: readonly string[] }) | false;
  /** At least `threshold` unknown or malformed tokens from one client address `within`. High. */
  tokenBruteForce?: (BuiltinRuleOptions & { threshold?: number; within?: Duration }) | false;
  /** Successive activity of a user from places further apart than travel at `maxSpeedKmh` allows. Needs `geo`. Medium. */
  impossibleTravel?: (BuiltinRuleOptions & { maxSpeedKmh?: number; minDistanceKm?: number }) | false;
  /** More than `threshold` sessions created for one user `within`. Medium. */
  rapidSessionCreation?: (BuiltinRuleOptions & { threshold?: number; within?: Duration }) | false;
}

/** The `alerts` option of `createSessionManager`. */
export interface AlertOptions {
  /** Built-in rules to tune or turn off. All are on by default; `impossibleTravel` only with `geo`. */
  rules?: BuiltinRules;
  /** Your own rules, evaluated after the built-in ones. */
  custom?: readonly AlertRule[];
  /** Called once per new alert (not for repeats folded into it), e.g. to notify someone. */
  onAlert?: (alert: Alert) => void | Promise<void>;
  /** Turns addresses into places for `impossibleTravel`. */
  geo?: GeoResolver;
  /**
   * Receives what rules, `onAlert`, the geo resolver or alert storage threw, with where it came
   * from (`"rule 'sessionHijack'"`, `'onAlert'`, ...). Dropped events are reported here too, as
   * source `'queue'`: one line of counts (a `SessionError` `ALERT_QUEUE_FULL` without a stack trace) at most once a minute and
   * on close. Default: `console.error` (`console.warn` for `'queue'`).
   */
  onError?: (error: unknown, source: string) => void;
  /**
   * Events waiting for evaluation, at most, in each of the two queues (guesses, and all other
   * events); beyond it new ones are dropped and counted. Default 10,000.
   */
  maxPending?: number;
}

/** Options of `alerts.list()`. */
export interface AlertListOptions {
  userId?: string;
  status?: Alert['status'];
  severity?: AlertSeverity;
  /** Alerts created at or after this instant. */
  since?: Date | EpochMs;
  /** 1–1,000. Default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface AlertPage {
  items: Alert[];
  /** Pass as `cursor` for the next (older) page; `null` on the last page. */
  nextCursor: string | null;
}

/** One of the engine's two queues, in {@link AlertEngineStats}. */
export interface AlertQueueStats {
  /** Events waiting for a worker. */
  waiting: number;
  /** Events dropped because `maxPending` were already waiting in this queue. */
  dropped: number;
  /** Rejected tokens folded into a waiting event of the same client or session (see `attempts`). */
  folded: number;
}

/** Counters of the alert engine since the manager was created. */
export interface AlertEngineStats {
  /** Events waiting for or under evaluation. */
  pending: number;
  /** Events dropped because `maxPending` were already waiting (both queues). */
  dropped: number;
  /** Alerts created and occurrences folded into existing ones. */
  raised: number;
  folded: number;
  /** Rule, storage and hook failures (each also went to `onError`). */
  errors: number;
  /**
   * Guesses (malformed tokens, and unknown tokens that were never rotated away) wait in a queue of
   * their own, so that a flood of them can neither drop nor delay other events; at most three of
   * the four evaluations in progress are guesses.
   */
  queues: { events: AlertQueueStats; guesses: AlertQueueStats };
}

/** The alerts of a session manager: `sessions.alerts`. */
export interface AlertCenter {
  /**
   * Stored alerts, newest first.
   * @example
   * const { items } = await sessions.alerts.list({ userId, status: 'open', severity: 'high' });
   */
  list(options?: AlertListOptions): Promise<AlertPage>;
  /**
   * Marks an open alert acknowledged (someone is looking at it); other statuses are returned unchanged.
   * @throws SessionError `ALERT_NOT_FOUND`
   */
  acknowledge(alertId: string, options?: { note?: string }): Promise<Alert>;
  /**
   * Marks an alert resolved; later occurrences open a new alert. Resolving twice keeps the first.
   * @throws SessionError `ALERT_NOT_FOUND`
   */
  resolve(alertId: string, options?: { note?: string }): Promise<Alert>;
  /** Waits until every event submitted so far is evaluated and its alerts stored and acted on. */
  flush(): Promise<void>;
  stats(): AlertEngineStats;
}
