import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect } from 'vitest';
import { manualClock, type ManualClock } from '../../clock.js';
import { isActivityStore, isAlertStore, type NewSessionRecord, type Session, type SessionDevice, type SessionMetadata, type SessionStore } from '../../contracts.js';
import { invalidConfig, SessionError, type SessionErrorCode } from '../../errors.js';
import type { SessionEvents } from '../../events.js';
import { createSessionManager, type SessionManager, type SessionManagerOptions } from '../../session-manager.js';
import { generateToken, hashToken, TOKEN_PREFIX } from '../../token.js';

/**
 * How a conformance suite obtains and disposes of the store under test. `S` is what the suite
 * tests: a {@link SessionStore} for the session suite, an `ActivityStore` or `AlertStore` for a
 * capability suite.
 */
export interface ConformanceOptions<S extends object = SessionStore> {
  /** Returns a fresh, migrated, EMPTY store for one test. Called once per test. */
  createStore: () => Promise<S> | S;
  /**
   * Optional: called after each test with that store (e.g. to drop a schema). The suite closes managers
   * itself, and with them the store (and any peer store), before it calls this: tear down through the
   * handle you created the store with, not through the store.
   */
  destroyStore?: (store: S) => Promise<void> | void;
  /**
   * Optional: a second, independent store over the SAME backing data (separate connection/pool), for
   * cross-process limit tests. Omit for the memory store. The suite closes it after the test.
   */
  createPeerStore?: (store: S) => Promise<S> | S;
  /** Optional: returns every stored byte of the backend as text (e.g. a SQL dump), to prove no usable token is stored. Omit for memory. */
  dump?: (store: S) => Promise<string>;
}

/**
 * Options of a capability suite (`runActivityStoreConformance`, `runAlertStoreConformance`): the
 * store under test need not hold sessions, as long as `createSessionStore` provides them.
 */
export interface CapabilityConformanceOptions<S extends object> extends Omit<ConformanceOptions<S>, 'dump'> {
  /**
   * Optional: the session store the suite's managers use beside the store under test (e.g.
   * `() => memoryStore()` for an activity-only backend). Default: the store under test itself,
   * which must then be a SessionStore too. Closed by the suite.
   */
  createSessionStore?: () => Promise<SessionStore> | SessionStore;
}


/** A UTC midnight, so that `byHour` indices read as offsets from START. */
export const START = Date.parse('2030-01-01T00:00:00.000Z');
export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** What every manager in the suite uses unless a test says otherwise. */
export const DEFAULTS = { idleTimeout: '30m', absoluteTimeout: '12h', touchInterval: '1m' } as const;
export const IDLE = 30 * MINUTE;
export const ABSOLUTE = 12 * HOUR;

export const TOKEN_SHAPE = /^skt_[A-Za-z0-9_-]{32}$/;
export const SESSION_KEYS = [
  'absoluteExpiresAt',
  'createdAt',
  'device',
  'expiresAt',
  'id',
  'ip',
  'lastActiveAt',
  'metadata',
  'revokeReason',
  'revokedAt',
  'status',
  'tenantId',
  'userAgent',
  'userId',
];

/** Store methods that change data; `validate()` may call at most one of them per touchInterval. */
export const WRITE_METHODS = [
  'migrate',
  'insert',
  'touch',
  'extend',
  'rotateToken',
  'mergeMetadata',
  'revoke',
  'revokeAll',
  'deleteEndedBefore',
] as const;
export const EVENT_NAMES = ['created', 'rotated', 'extended', 'revoked', 'expired'] as const;


/** Manager options a test sets on top of the suite's defaults. */
export type ManagerOverrides = Partial<Omit<SessionManagerOptions, 'store'>>;

/** What a test of a suite works with; `S` is the type of the store under test. */
export interface Harness<S extends object = SessionStore> {
  readonly clock: ManualClock;
  /** The store under test, as `createStore` returned it: for direct calls and migrate(). */
  readonly store: S;
  /** The store under test wrapped to count calls; what {@link Harness.manager} hands to managers. */
  readonly countedStore: S;
  /** A manager over the store under test (suite defaults, the manual clock, then `overrides`). */
  manager(overrides?: ManagerOverrides): SessionManager;
  /** A manager over a new peer store (`createPeerStore`) of the same backing data. */
  peerManager(overrides?: ManagerOverrides): Promise<SessionManager>;
  /** A new peer store (`createPeerStore`) of the same backing data, closed after the test. */
  peerStore(): Promise<S>;
  /** How often managers called `method` on the store under test. */
  calls(method: string): number;
  /** How many data-changing calls managers made on the store under test. */
  writes(): number;
  /** A user id unique to this test run, so that a shared backend would not mix tests. */
  user(label?: string): string;
}

/**
 * Registers the hooks that open a fresh harness before each test and tear it down after, and
 * returns the accessor the groups call inside their tests.
 */
export function useHarness<S extends object>(options: CapabilityConformanceOptions<S>): () => Harness<S> {
  let current: { harness: Harness<S>; teardown: () => Promise<void> } | undefined;
  beforeEach(async () => {
    current = await openHarness(options);
  });
  afterEach(async () => {
    const opened = current;
    current = undefined;
    await opened?.teardown();
  });
  return () => {
    if (current === undefined) throw new SessionError('INVALID_ARGUMENT', 'the conformance harness was used outside a test');
    return current.harness;
  };
}

/** Throws INVALID_CONFIG unless `options.createStore` is a function; `suite` names the caller. */
export function checkSuiteOptions(options: unknown, suite: string): void {
  if (options === null || typeof options !== 'object' || typeof (options as { createStore?: unknown }).createStore !== 'function') {
    invalidConfig(`${suite}: options.createStore`, 'must be a function');
  }
}

type Closable = { close(): Promise<void> };

async function openHarness<S extends object>(options: CapabilityConformanceOptions<S>): Promise<{ harness: Harness<S>; teardown: () => Promise<void> }> {
  const store = await options.createStore();
  const sessions = options.createSessionStore === undefined ? null : await options.createSessionStore();
  const clock = manualClock(START);
  const counts = new Map<string, number>();
  const managers: SessionManager[] = [];
  const peers: S[] = [];
  // Several managers (and a peer that may be the same object) can share a store: close each once.
  const closing = new Map<object, Promise<void>>();
  const closeOnce = (target: object): Promise<void> => {
    let done = closing.get(target);
    if (done === undefined) {
      done = Promise.resolve().then(() => (target as Closable).close?.());
      closing.set(target, done);
    }
    return done;
  };
  const countedStore = instrument(store, counts, () => closeOnce(store));
  const sessionStore = sessions === null ? null : instrument(sessions, new Map(), () => closeOnce(sessions));
  const makeManager = (target: S, overrides: ManagerOverrides): SessionManager => {
    const manager = createSessionManager({ ...DEFAULTS, clock: clock.now, ...managerStores(target, sessionStore), ...overrides });
    managers.push(manager);
    return manager;
  };

  const harness: Harness<S> = {
    clock,
    store,
    countedStore,
    manager: (overrides = {}) => makeManager(countedStore, overrides),
    async peerManager(overrides = {}) {
      const peer = await harness.peerStore();
      return makeManager(instrument(peer, new Map(), () => closeOnce(peer)), overrides);
    },
    async peerStore() {
      if (options.createPeerStore === undefined) invalidConfig('createPeerStore', 'is needed by this test');
      const peer = await options.createPeerStore(store);
      peers.push(peer);
      return peer;
    },
    calls: (method) => counts.get(method) ?? 0,
    writes: () => WRITE_METHODS.reduce((sum, method) => sum + (counts.get(method) ?? 0), 0),
    user: (label = 'user') => `${label}-${randomBytes(6).toString('hex')}`,
  };

  const teardown = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const manager of managers) await manager.close().catch((err: unknown) => failures.push(err));
    for (const target of [...peers, store, ...(sessions === null ? [] : [sessions])]) {
      await closeOnce(target).catch((err: unknown) => failures.push(err));
    }
    if (options.destroyStore !== undefined) await options.destroyStore(store);
    if (failures.length > 0) throw failures[0];
  };
  return { harness, teardown };
}

/**
 * The stores of a suite's manager: the store under test as the session store, or beside a separate
 * one in the roles it offers. A capability the stores lack is turned off explicitly, so that a
 * sessions-only store runs its suite without the manager's notice on every test.
 */
function managerStores(target: object, sessions: SessionStore | null): Pick<SessionManagerOptions, 'store' | 'activityStore' | 'alertStore' | 'activity' | 'alerts'> {
  const store = sessions ?? (target as SessionStore);
  if (typeof store.insert !== 'function') {
    invalidConfig('createSessionStore', 'is needed: the store under test holds no sessions');
  }
  const activity = isActivityStore(target) || isActivityStore(store);
  const alerts = isAlertStore(target) || isAlertStore(store);
  return {
    store,
    ...(sessions !== null && isActivityStore(target) ? { activityStore: target } : {}),
    ...(sessions !== null && isAlertStore(target) ? { alertStore: target } : {}),
    ...(activity ? {} : { activity: false as const }),
    ...(alerts ? {} : { alerts: false as const }),
  };
}

/** Forwards every call to `target` (bound to it, so private fields work), counting calls by name. */
function instrument<T extends object>(target: T, counts: Map<string, number>, close: () => Promise<void>): T {
  return new Proxy(target, {
    get(object, property) {
      if (property === 'close') return close;
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const key = String(property);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}

export async function expectError(action: () => unknown, code: SessionErrorCode, label = ''): Promise<SessionError> {
  let caught: unknown;
  try {
    await action();
  } catch (err) {
    caught = err;
  }
  const what = label === '' ? code : `${code} (${label})`;
  expect(caught, `expected a SessionError ${what}`).toBeInstanceOf(SessionError);
  expect((caught as SessionError).code, `expected ${what}`).toBe(code);
  return caught as SessionError;
}

/** Asserts that nothing in `value` (sessions, results, event payloads) carries a token or its hash. */
export function expectNoSecrets(value: unknown, tokens: readonly string[]): void {
  const text = JSON.stringify(value) ?? '';
  for (const token of tokens) {
    expect(text).not.toContain(token.slice(TOKEN_PREFIX.length));
    expect(text).not.toContain(hashToken(token));
  }
}

/** Asserts the exact key set and value types of a Session as the contract defines it. */
export function expectSessionShape(session: Session): void {
  expect(Object.keys(session).sort()).toEqual(SESSION_KEYS);
  for (const key of ['createdAt', 'lastActiveAt', 'expiresAt', 'absoluteExpiresAt'] as const) {
    expect(Number.isSafeInteger(session[key]), `${key} is an integer number of ms`).toBe(true);
  }
  expect(session.revokedAt === null || Number.isSafeInteger(session.revokedAt)).toBe(true);
  expect(['active', 'expired', 'revoked']).toContain(session.status);
  expect(typeof session.id).toBe('string');
  expect(typeof session.metadata).toBe('object');
  expect(session.expiresAt).toBeLessThanOrEqual(session.absoluteExpiresAt);
}

export type RecordedEvent = { [E in keyof SessionEvents]: { name: E; payload: SessionEvents[E] } }[keyof SessionEvents];

/** Subscribes to every event of `managers` and returns the list they are appended to. */
export function recordEvents(...managers: SessionManager[]): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  for (const manager of managers) {
    for (const name of EVENT_NAMES) {
      manager.on(name, (payload: SessionEvents[typeof name]) => {
        events.push({ name, payload } as RecordedEvent);
      });
    }
  }
  return events;
}

export function eventsNamed<E extends keyof SessionEvents>(events: RecordedEvent[], name: E): SessionEvents[E][] {
  return events.filter((event) => event.name === name).map((event) => event.payload as SessionEvents[E]);
}

/** A record for direct `store.insert`, as the manager would build it; `token` is the secret behind it. */
export function newRecord(
  userId: string,
  fields: {
    createdAt: number;
    lastActiveAt?: number;
    expiresAt: number;
    absoluteExpiresAt?: number;
    device?: SessionDevice | null;
    metadata?: SessionMetadata;
  },
): { record: NewSessionRecord; token: string } {
  const token = generateToken();
  return {
    token,
    record: {
      id: `ses_${randomBytes(12).toString('hex')}`,
      tokenHash: hashToken(token),
      userId,
      tenantId: null,
      createdAt: fields.createdAt,
      lastActiveAt: fields.lastActiveAt ?? fields.createdAt,
      expiresAt: fields.expiresAt,
      absoluteExpiresAt: fields.absoluteExpiresAt ?? fields.createdAt + ABSOLUTE,
      ip: null,
      userAgent: null,
      device: fields.device ?? null,
      metadata: fields.metadata ?? {},
    },
  };
}

export const ids = (records: readonly { id: string }[]): string[] => records.map((s) => s.id);
export const sortedIds = (records: readonly { id: string }[]): string[] => ids(records).sort();

