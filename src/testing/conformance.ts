import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, type ManualClock } from '../clock.js';
import type { ActivityRecord, AlertOccurrence, NewSessionRecord, Session, SessionDevice, SessionMetadata, SessionStore } from '../contracts.js';
import type { Duration } from '../duration.js';
import { SessionError, type SessionErrorCode } from '../errors.js';
import type { SessionEvents } from '../events.js';
import { createSessionManager, type SessionManager, type SessionManagerOptions } from '../session-manager.js';
import { generateToken, hashToken, TOKEN_PREFIX } from '../token.js';

/** How {@link runSessionStoreConformance} obtains and disposes of the store under test. */
export interface ConformanceOptions {
  /** Returns a fresh, migrated, EMPTY store for one test. Called once per test. */
  createStore: () => Promise<SessionStore> | SessionStore;
  /**
   * Optional: called after each test with that store (e.g. to drop a schema). The suite closes managers
   * itself, and with them the store (and any peer store), before it calls this: tear down through the
   * handle you created the store with, not through the store.
   */
  destroyStore?: (store: SessionStore) => Promise<void> | void;
  /**
   * Optional: a second, independent store over the SAME backing data (separate connection/pool), for
   * cross-process limit tests. Omit for the memory store. The suite closes it after the test.
   */
  createPeerStore?: (store: SessionStore) => Promise<SessionStore> | SessionStore;
  /** Optional: returns every stored byte of the backend as text (e.g. a SQL dump), to prove no usable token is stored. Omit for memory. */
  dump?: (store: SessionStore) => Promise<string>;
}

/**
 * Registers the storage conformance suite with vitest: every behaviour of the {@link SessionStore}
 * contract, driven through `createSessionManager` with a manual clock. Call it at the top level of a
 * test file (or inside a `describe`), once per store configuration.
 *
 * Tests that need an optional hook (`createPeerStore`, `dump`) are reported as skipped, with the hook
 * named in their title, when it is not given.
 *
 * @example
 * import { runSessionStoreConformance } from 'sessionkeeper/testing';
 * import { memoryStore } from 'sessionkeeper/memory';
 *
 * runSessionStoreConformance('memory', { createStore: () => memoryStore() });
 */
export function runSessionStoreConformance(name: string, options: ConformanceOptions): void {
  if (options === null || typeof options !== 'object' || typeof options.createStore !== 'function') {
    throw new TypeError('runSessionStoreConformance: options.createStore must be a function');
  }

  describe(`SessionStore conformance: ${name}`, () => {
    let current: { harness: Harness; teardown: () => Promise<void> } | undefined;
    beforeEach(async () => {
      current = await openHarness(options);
    });
    afterEach(async () => {
      const opened = current;
      current = undefined;
      await opened?.teardown();
    });
    const t = (): Harness => {
      if (current === undefined) throw new Error('conformance harness used outside a test');
      return current.harness;
    };

    describeLifecycle(t);
    describeStoreGuards(t);
    describeExpiry(t);
    describeTouchThrottling(t);
    describeRotation(t);
    describeUpdate(t);
    describeRevocation(t);
    describeListing(t);
    describeStats(t);
    describeCleanup(t);
    describeMigration(t, options);
    describeRoundTrip(t);
    describeBadInput(t);
    describeLimits(t);
    describeConcurrency(t, options);
    describeSecrets(t, options);
    describeEvents(t);
    describeActivity(t);
    describeAlertStorage(t);
    describeRotatedTokens(t);
    describeCounters(t, options);
    describeClose(t);
  });
}

// --- internal ---

/** A UTC midnight, so that `byHour` indices read as offsets from START. */
const START = Date.parse('2030-01-01T00:00:00.000Z');
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** What every manager in the suite uses unless a test says otherwise. */
const DEFAULTS = { idleTimeout: '30m', absoluteTimeout: '12h', touchInterval: '1m' } as const;
const IDLE = 30 * MINUTE;
const ABSOLUTE = 12 * HOUR;

const TOKEN_SHAPE = /^skt_[A-Za-z0-9_-]{32}$/;
const SESSION_KEYS = [
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
const WRITE_METHODS = [
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
const EVENT_NAMES = ['created', 'rotated', 'extended', 'revoked', 'expired'] as const;

type ManagerOverrides = Partial<Omit<SessionManagerOptions, 'store'>>;

interface Harness {
  readonly clock: ManualClock;
  /** The store under test, as `createStore` returned it: for direct inserts and migrate(). */
  readonly store: SessionStore;
  /** The store under test wrapped to count calls; what {@link Harness.manager} hands to managers. */
  readonly countedStore: SessionStore;
  /** A manager over the store under test (suite defaults, the manual clock, then `overrides`). */
  manager(overrides?: ManagerOverrides): SessionManager;
  /** A manager over a new peer store (`createPeerStore`) of the same backing data. */
  peerManager(overrides?: ManagerOverrides): Promise<SessionManager>;
  /** A new peer store (`createPeerStore`) of the same backing data, closed after the test. */
  peerStore(): Promise<SessionStore>;
  /** How often managers called `method` on the store under test. */
  calls(method: string): number;
  /** How many data-changing calls managers made on the store under test. */
  writes(): number;
  /** A user id unique to this test run, so that a shared backend would not mix tests. */
  user(label?: string): string;
}

async function openHarness(options: ConformanceOptions): Promise<{ harness: Harness; teardown: () => Promise<void> }> {
  const store = await options.createStore();
  const clock = manualClock(START);
  const counts = new Map<string, number>();
  const managers: SessionManager[] = [];
  const peers: SessionStore[] = [];
  // Several managers (and a peer that may be the same object) can share a store: close each once.
  const closing = new Map<SessionStore, Promise<void>>();
  const closeOnce = (target: SessionStore): Promise<void> => {
    let done = closing.get(target);
    if (done === undefined) {
      done = Promise.resolve().then(() => target.close());
      closing.set(target, done);
    }
    return done;
  };
  const countedStore = instrument(store, counts, () => closeOnce(store));
  const makeManager = (target: SessionStore, overrides: ManagerOverrides): SessionManager => {
    const manager = createSessionManager({ ...DEFAULTS, clock: clock.now, ...overrides, store: target });
    managers.push(manager);
    return manager;
  };

  const harness: Harness = {
    clock,
    store,
    countedStore,
    manager: (overrides = {}) => makeManager(countedStore, overrides),
    async peerManager(overrides = {}) {
      const peer = await harness.peerStore();
      return makeManager(instrument(peer, new Map(), () => closeOnce(peer)), overrides);
    },
    async peerStore() {
      if (options.createPeerStore === undefined) throw new Error('this test needs createPeerStore');
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
    for (const target of [...peers, store]) await closeOnce(target).catch((err: unknown) => failures.push(err));
    if (options.destroyStore !== undefined) await options.destroyStore(store);
    if (failures.length > 0) throw failures[0];
  };
  return { harness, teardown };
}

/** Forwards every call to `target` (bound to it, so private fields work), counting calls by name. */
function instrument(target: SessionStore, counts: Map<string, number>, close: () => Promise<void>): SessionStore {
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

/** Runs `action` and asserts it throws (or rejects with) a SessionError with this code. */
async function expectError(action: () => unknown, code: SessionErrorCode, label = ''): Promise<SessionError> {
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
function expectNoSecrets(value: unknown, tokens: readonly string[]): void {
  const text = JSON.stringify(value) ?? '';
  for (const token of tokens) {
    expect(text).not.toContain(token.slice(TOKEN_PREFIX.length));
    expect(text).not.toContain(hashToken(token));
  }
}

/** Asserts the exact key set and value types of a Session as the contract defines it. */
function expectSessionShape(session: Session): void {
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

type RecordedEvent = { [E in keyof SessionEvents]: { name: E; payload: SessionEvents[E] } }[keyof SessionEvents];

/** Subscribes to every event of `managers` and returns the list they are appended to. */
function recordEvents(...managers: SessionManager[]): RecordedEvent[] {
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

function eventsNamed<E extends keyof SessionEvents>(events: RecordedEvent[], name: E): SessionEvents[E][] {
  return events.filter((event) => event.name === name).map((event) => event.payload as SessionEvents[E]);
}

/** A record for direct `store.insert`, as the manager would build it; `token` is the secret behind it. */
function newRecord(
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

const ids = (records: readonly { id: string }[]): string[] => records.map((s) => s.id);
const sortedIds = (records: readonly { id: string }[]): string[] => ids(records).sort();

// --- groups ---

function describeLifecycle(t: () => Harness): void {
  describe('lifecycle', () => {
    it('create → validate → get → list → revoke → validate reports revoked', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const userId = h.user();
      const { session, token } = await m.create({
        userId,
        tenantId: 'tenant-1',
        ip: '203.0.113.7',
        userAgent: 'Mozilla/5.0 (conformance)',
        metadata: { plan: 'pro', seats: 3 },
      });

      expect(token).toMatch(TOKEN_SHAPE);
      expect(session.id).not.toBe(token);
      expect(session.id).not.toContain(token.slice(TOKEN_PREFIX.length));
      expectSessionShape(session);
      expect(session).toEqual({
        id: session.id,
        userId,
        tenantId: 'tenant-1',
        status: 'active',
        createdAt: START,
        lastActiveAt: START,
        expiresAt: START + IDLE,
        absoluteExpiresAt: START + ABSOLUTE,
        revokedAt: null,
        revokeReason: null,
        // The default ipPrivacy keeps the /24 network only.
        ip: '203.0.113.0',
        userAgent: 'Mozilla/5.0 (conformance)',
        device: session.device,
        metadata: { plan: 'pro', seats: 3 },
      });

      const validated = await m.validate(token);
      expect(validated).toEqual({ ok: true, session });
      const fetched = await m.get(session.id);
      expect(fetched).toEqual(session);
      const listed = await m.list(userId);
      expect(listed).toEqual([session]);
      expect(await m.count(userId)).toBe(1);

      h.clock.advance('5m');
      const revoked = await m.revoke(session.id, { reason: 'logout' });
      expectSessionShape(revoked);
      expect(revoked).toEqual({ ...session, status: 'revoked', revokedAt: START + 5 * MINUTE, revokeReason: 'logout' });
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'revoked' });
      expect(await m.get(session.id)).toEqual(revoked);
      expect(await m.list(userId)).toEqual([]);
      expect(await m.count(userId)).toBe(0);
      expect(await m.list(userId, { includeInactive: true })).toEqual([revoked]);

      expect(events.map((e) => e.name)).toEqual(['created', 'revoked']);
      expectNoSecrets([session, validated, fetched, listed, revoked, events], [token]);
    });

    it('issues a distinct well-formed token and a distinct id for every session', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const created = await Promise.all(Array.from({ length: 20 }, () => m.create({ userId })));
      const tokens = created.map((c) => c.token);
      for (const token of tokens) expect(token).toMatch(TOKEN_SHAPE);
      expect(new Set(tokens).size).toBe(20);
      expect(new Set(created.map((c) => c.session.id)).size).toBe(20);
      for (const { session, token } of created) {
        expect(session.id).not.toContain(token.slice(TOKEN_PREFIX.length));
        expect((await m.validate(token)).ok).toBe(true);
      }
      expect(await m.count(userId)).toBe(20);
    });

    it('never returns the token or its hash from any operation or event', async () => {
      const h = t();
      const m = h.manager({ maxSessionsPerUser: 3 });
      const events = recordEvents(m);
      const userId = h.user();
      const seen: unknown[] = [];
      const tokens: string[] = [];
      const keep = <T>(value: T): T => {
        seen.push(value);
        return value;
      };

      const a = keep(await m.create({ userId, metadata: { k: 1 } }));
      const b = keep(await m.create({ userId }));
      const c = keep(await m.create({ userId }));
      tokens.push(a.token, b.token, c.token);
      h.clock.advance('2m');
      keep(await m.validate(a.token)); // writes a touch
      keep(await m.extend(a.session.id, '10m'));
      keep(await m.update(a.session.id, { metadata: { k: 2 } }));
      const rotated = keep(await m.rotate(b.token));
      tokens.push(rotated.token);
      const d = keep(await m.create({ userId })); // evicts one
      tokens.push(d.token);
      keep(await m.get(a.session.id));
      keep(await m.list(userId, { includeInactive: true }));
      keep(await m.stats({ userId }));
      keep(await m.revoke(c.session.id));
      keep(await m.revokeAll(userId));
      h.clock.advance('1d');
      keep(await m.validate(d.token)); // revoked by revokeAll
      keep(await m.list(userId, { includeInactive: true }));

      // Only create() and rotate() results carry a token, at their top level, by design.
      const withoutIssuedTokens = seen.map((value) => {
        if (value === null || typeof value !== 'object' || !('token' in value)) return value;
        const { token: _token, ...rest } = value as { token: string };
        return rest;
      });
      expect(withoutIssuedTokens).toHaveLength(15);
      expectNoSecrets(withoutIssuedTokens, tokens);
      expect(events.length).toBeGreaterThanOrEqual(8);
      expectNoSecrets(events, tokens);
    });

    it('parses the device at create(), stores it, and validate() reports whether a request comes from another device', async () => {
      const h = t();
      const m = h.manager();
      const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
      const macMinor = mac.replace('131.0.0.0', '131.0.6778.86');
      const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
      const { session, token } = await m.create({ userId: h.user(), userAgent: mac });
      expect(session.device).toMatchObject({ class: 'desktop', label: 'Chrome 131 on macOS', isBot: false });
      expect(session.device?.fingerprint).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect((await m.get(session.id))?.device).toEqual(session.device);
      expect(await m.validate(token, { userAgent: macMinor })).toMatchObject({ ok: true, deviceChanged: false });
      expect(await m.validate(token, { userAgent: iphone })).toMatchObject({ ok: true, deviceChanged: true });
      expect(await m.validate(token)).not.toHaveProperty('deviceChanged');
      const bot = await m.create({ userId: h.user(), userAgent: 'curl/8.4.0' });
      expect(bot.session.device).toMatchObject({ class: 'bot', isBot: true });
    });

    it("stores no raw client address unless ipPrivacy is 'raw': /24 and /48 by default, a keyed hash with ipHashKey", async () => {
      const h = t();
      const userId = h.user();
      const truncating = h.manager();
      expect((await truncating.create({ userId, ip: '198.51.100.77' })).session.ip).toBe('198.51.100.0');
      expect((await truncating.create({ userId, ip: '2001:db8:85a3:8d3:1319:8a2e:370:7348' })).session.ip).toBe('2001:db8:85a3::');
      const hashing = h.manager({ ipHashKey: 'k'.repeat(32) });
      const hashed = await hashing.create({ userId, ip: '198.51.100.77' });
      expect(hashed.session.ip).toMatch(/^h:[A-Za-z0-9_-]{22}$/);
      expect((await hashing.create({ userId, ip: '198.51.100.77' })).session.ip).toBe(hashed.session.ip);
      expect((await hashing.create({ userId, ip: '198.51.100.78' })).session.ip).not.toBe(hashed.session.ip);
      const stored = JSON.stringify(await truncating.list(userId));
      expect(stored).not.toContain('198.51.100.77');
      expect(stored).not.toContain('8a2e:370:7348');
    });

    it('stores tenantId, ip and userAgent as given, null when omitted, and cuts userAgent to 512 characters', async () => {
      const h = t();
      const m = h.manager({ ipPrivacy: 'raw' });
      const userId = h.user();
      const bare = await m.create({ userId });
      expect(bare.session).toMatchObject({ tenantId: null, ip: null, userAgent: null, device: null });
      expect(bare.session.metadata).toEqual({});
      expect(await m.get(bare.session.id)).toEqual(bare.session);

      const long = await m.create({ userId, ip: '2001:db8::1', userAgent: 'u'.repeat(600) });
      expect(long.session.userAgent).toBe('u'.repeat(512));
      expect(long.session.ip).toBe('2001:db8::1');
      expect((await m.get(long.session.id))?.userAgent).toBe('u'.repeat(512));

      expect((await m.create({ userId, ip: '::ffff:203.0.113.9' })).session.ip).toBe('203.0.113.9');
      await expectError(() => m.create({ userId, ip: 'not an address' }), 'INVALID_ARGUMENT');

      // The cut must not split a surrogate pair (a lone surrogate is not storable as UTF-8).
      const emoji = await m.create({ userId, userAgent: `${'a'.repeat(511)}😀tail` });
      expect(emoji.session.userAgent).toBe('a'.repeat(511));
      expect((await m.get(emoji.session.id))?.userAgent).toBe('a'.repeat(511));
    });
  });
}

function describeStoreGuards(t: () => Harness): void {
  describe('store methods on sessions that are not active', () => {
    // The manager checks status before most writes, so these call the store directly: a store must
    // also refuse on its own, because a session can be revoked between the manager's read and write.
    it('touch, extend, rotateToken and mergeMetadata return null and write nothing for revoked, expired and missing sessions', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const revoked = await m.create({ userId, metadata: { v: 1 } });
      const idle = await m.create({ userId, metadata: { v: 1 } });
      const capped = newRecord(userId, { createdAt: START, expiresAt: START + IDLE, absoluteExpiresAt: START + IDLE });
      await h.store.insert(capped.record, START);
      await m.revoke(revoked.session.id);
      const now = START + IDLE;
      h.clock.set(now);
      const before = await m.list(userId, { includeInactive: true });

      const cases = [
        { id: revoked.session.id, token: revoked.token },
        { id: idle.session.id, token: idle.token },
        { id: capped.record.id, token: capped.token },
        { id: `ses_${randomBytes(12).toString('hex')}`, token: generateToken() },
      ];
      for (const { id, token } of cases) {
        expect(await h.store.touch(id, now, now + IDLE), `touch ${id}`).toBeNull();
        expect(await h.store.extend(id, HOUR, now, now + DAY), `extend ${id}`).toBeNull();
        expect(await h.store.rotateToken(hashToken(token), hashToken(generateToken()), now, now + IDLE), `rotateToken ${id}`).toBeNull();
        expect(await h.store.mergeMetadata(id, { v: 2 }, now, 1024), `mergeMetadata ${id}`).toBeNull();
      }
      expect(await m.list(userId, { includeInactive: true })).toEqual(before);
      expect(await h.store.findByTokenHash(hashToken(revoked.token))).toMatchObject({ id: revoked.session.id, status: 'revoked' });
    });

    it('revoke returns null for a missing or already revoked session; find* return null for unknown keys', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user() });
      const first = await h.store.revoke(session.id, 'logout', START + 1);
      expect(first).toMatchObject({ id: session.id, status: 'revoked', revokeReason: 'logout', revokedAt: START + 1 });
      expect(await h.store.revoke(session.id, 'again', START + 2)).toBeNull();
      expect(await h.store.findById(session.id)).toEqual(first);
      expect(await h.store.revoke(`ses_${randomBytes(12).toString('hex')}`, 'x', START)).toBeNull();
      expect(await h.store.findById(`ses_${randomBytes(12).toString('hex')}`)).toBeNull();
      expect(await h.store.findByTokenHash(hashToken(generateToken()))).toBeNull();
    });
  });
}

function describeExpiry(t: () => Harness): void {
  describe('expiry', () => {
    it("expires an unused session at its idle deadline with reason 'idle'", async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const userId = h.user();
      const { session, token } = await m.create({ userId });

      h.clock.set(START + IDLE - 1);
      expect((await m.get(session.id))?.status).toBe('active');
      expect(await m.count(userId)).toBe(1);

      h.clock.set(START + IDLE);
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'idle' });
      const expired = await m.get(session.id);
      expect(expired).toEqual({ ...session, status: 'expired' });
      expect(await m.list(userId)).toEqual([]);
      expect(await m.count(userId)).toBe(0);
      expect(await m.list(userId, { includeInactive: true })).toEqual([{ ...session, status: 'expired' }]);
      expect(eventsNamed(events, 'expired')).toEqual([{ session: { ...session, status: 'expired' }, cause: 'idle' }]);
    });

    it('slides the idle deadline when validate() records activity', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user() });

      h.clock.advance('20m');
      const first = await m.validate(token);
      expect(first.ok && first.session.lastActiveAt).toBe(START + 20 * MINUTE);
      expect(first.ok && first.session.expiresAt).toBe(START + 20 * MINUTE + IDLE);

      h.clock.advance('20m'); // past the original deadline
      const second = await m.validate(token);
      expect(second.ok).toBe(true);
      expect((await m.get(session.id))?.expiresAt).toBe(START + 40 * MINUTE + IDLE);

      h.clock.set(START + 40 * MINUTE + IDLE);
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'idle' });
    });

    it("expires at the absolute deadline with reason 'expired', however often it is used", async () => {
      const h = t();
      const m = h.manager({ absoluteTimeout: '2h' });
      const events = recordEvents(m);
      const { session, token } = await m.create({ userId: h.user() });
      expect(session.absoluteExpiresAt).toBe(START + 2 * HOUR);

      for (let minute = 20; minute < 120; minute += 20) {
        h.clock.set(START + minute * MINUTE);
        const result = await m.validate(token);
        expect(result.ok, `validate at ${minute}m`).toBe(true);
        if (result.ok) expect(result.session.expiresAt).toBe(Math.min(START + minute * MINUTE + IDLE, START + 2 * HOUR));
      }
      h.clock.set(START + 2 * HOUR);
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'expired' });
      expect((await m.get(session.id))?.status).toBe('expired');
      expect(eventsNamed(events, 'expired').map((e) => e.cause)).toEqual(['absolute']);
    });

    it('extend() moves expiresAt forward without touching lastActiveAt', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const { session, token } = await m.create({ userId: h.user() });
      h.clock.advance('5m');
      const extended = await m.extend(session.id, '1h');
      expect(extended).toEqual({ ...session, expiresAt: START + IDLE + HOUR });
      expect(await m.get(session.id)).toEqual(extended);
      expect(eventsNamed(events, 'extended')).toEqual([{ session: extended }]);

      // Past the idle deadline it would have had without the extension.
      h.clock.set(START + IDLE + 30 * MINUTE);
      expect((await m.validate(token)).ok).toBe(true);
    });

    it('a later touch never shortens an extended deadline', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user() });
      await m.extend(session.id, '5h');
      h.clock.advance('10m');
      const result = await m.validate(token); // writes a touch with idle deadline START+40m
      expect(result.ok && result.session.lastActiveAt).toBe(START + 10 * MINUTE);
      expect(result.ok && result.session.expiresAt).toBe(START + IDLE + 5 * HOUR);
    });

    it('extend() never moves expiresAt past absoluteExpiresAt', async () => {
      const h = t();
      const m = h.manager({ absoluteTimeout: '2h' });
      const { session, token } = await m.create({ userId: h.user() });
      const capped = await m.extend(session.id, '1d');
      expect(capped.expiresAt).toBe(session.absoluteExpiresAt);
      const again = await m.extend(session.id, '1h');
      expect(again.expiresAt).toBe(session.absoluteExpiresAt);
      expect(again.absoluteExpiresAt).toBe(START + 2 * HOUR);
      h.clock.set(START + 2 * HOUR);
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'expired' });
    });

    it('concurrent extends add up', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user() });
      await Promise.all(Array.from({ length: 10 }, () => m.extend(session.id, '1m')));
      expect((await m.get(session.id))?.expiresAt).toBe(START + IDLE + 10 * MINUTE);
    });

    it('with maxIdle, repeated extends stop at max(idleTimeout, maxIdle) from now', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user() });
      h.clock.advance('10m');
      const now = START + 10 * MINUTE;
      let last = session;
      for (let i = 0; i < 10; i++) last = await m.extend(session.id, '1h', { maxIdle: '2h' });
      expect(last.expiresAt).toBe(now + 2 * HOUR);
      expect(await m.get(session.id)).toEqual(last);

      // A bound below idleTimeout still leaves the session its idle window from now.
      const other = await m.create({ userId: h.user() });
      expect((await m.extend(other.session.id, '1h', { maxIdle: '5m' })).expiresAt).toBe(now + IDLE);

      h.clock.set(now + 2 * HOUR);
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'idle' });
    });

    it('10 parallel extends with maxIdle never pass the bound', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user() });
      h.clock.advance('10m');
      const bound = START + 10 * MINUTE + HOUR;
      const results = await Promise.all(Array.from({ length: 10 }, () => m.extend(session.id, '20m', { maxIdle: '1h' })));
      for (const result of results) expect(result.expiresAt).toBeLessThanOrEqual(bound);
      expect((await m.get(session.id))?.expiresAt).toBe(bound);
    });

    it('maxIdle never shortens a deadline that is already further out', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user() });
      await m.extend(session.id, '5h');
      h.clock.advance('10m');
      const again = await m.extend(session.id, '1h', { maxIdle: '1h' });
      expect(again.expiresAt).toBe(START + IDLE + 5 * HOUR);
      expect((await m.get(session.id))?.expiresAt).toBe(START + IDLE + 5 * HOUR);
    });

    it('with maxIdle the absolute deadline still wins', async () => {
      const h = t();
      const m = h.manager({ absoluteTimeout: '2h' });
      const { session, token } = await m.create({ userId: h.user() });
      expect((await m.extend(session.id, '1h', { maxIdle: '3h' })).expiresAt).toBe(START + IDLE + HOUR);
      expect((await m.extend(session.id, '1h', { maxIdle: '3h' })).expiresAt).toBe(START + 2 * HOUR);
      h.clock.set(START + 2 * HOUR);
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'expired' });
    });

    it('extend() rejects a maxIdle that is not a duration with INVALID_ARGUMENT and changes nothing', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user() });
      const writes = h.writes();
      for (const options of [{ maxIdle: -1 }, { maxIdle: 'soon' }, { maxIdle: null }, null, 'maxIdle']) {
        await expectError(() => m.extend(session.id, '1h', options as { maxIdle: Duration }), 'INVALID_ARGUMENT', JSON.stringify(options));
      }
      expect(h.writes()).toBe(writes);
      expect(await m.get(session.id)).toEqual(session);
    });

    it('extend() of an expired or revoked session throws SESSION_INACTIVE and of an unknown id SESSION_NOT_FOUND', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const idle = await m.create({ userId });
      const revoked = await m.create({ userId });
      await m.revoke(revoked.session.id);
      h.clock.set(START + IDLE);
      const before = await m.list(userId, { includeInactive: true });

      await expectError(() => m.extend(idle.session.id, '1h'), 'SESSION_INACTIVE');
      await expectError(() => m.extend(revoked.session.id, '1h'), 'SESSION_INACTIVE');
      await expectError(() => m.extend('ses_doesnotexist000000000000', '1h'), 'SESSION_NOT_FOUND');
      expect(await m.list(userId, { includeInactive: true })).toEqual(before);
    });

    it("get() reports status 'expired' once either deadline has passed", async () => {
      const h = t();
      const m = h.manager({ absoluteTimeout: '1h', idleTimeout: '30m' });
      const userId = h.user();
      const a = await m.create({ userId });
      await m.extend(a.session.id, '1d'); // capped at the absolute deadline
      const b = await m.create({ userId });
      h.clock.set(START + 30 * MINUTE);
      expect((await m.get(a.session.id))?.status).toBe('active');
      expect((await m.get(b.session.id))?.status).toBe('expired');
      h.clock.set(START + HOUR);
      expect((await m.get(a.session.id))?.status).toBe('expired');
      expect(await m.count(userId)).toBe(0);
    });
  });
}

function describeTouchThrottling(t: () => Harness): void {
  describe('touch throttling', () => {
    it('validate() writes nothing inside touchInterval and exactly once after it passes', async () => {
      const h = t();
      const m = h.manager({ touchInterval: '1m' });
      const { session, token } = await m.create({ userId: h.user() });
      expect(h.writes()).toBe(1); // the insert
      const base = h.writes();

      for (const at of [0, 1, 30 * SECOND, MINUTE - 1]) {
        h.clock.set(START + at);
        const result = await m.validate(token);
        expect(result.ok).toBe(true);
        expect(result.ok && result.session.lastActiveAt).toBe(START);
      }
      expect(h.writes() - base).toBe(0);

      h.clock.set(START + MINUTE);
      const touched = await m.validate(token);
      expect(h.writes() - base).toBe(1);
      expect(h.calls('touch')).toBe(1);
      expect(touched.ok && touched.session).toEqual({ ...session, lastActiveAt: START + MINUTE, expiresAt: START + MINUTE + IDLE });

      // The throttle restarts from the recorded activity.
      for (const at of [MINUTE, MINUTE + 59 * SECOND]) {
        h.clock.set(START + at);
        expect((await m.validate(token)).ok).toBe(true);
      }
      expect(h.writes() - base).toBe(1);
      h.clock.set(START + 2 * MINUTE);
      await m.validate(token);
      expect(h.writes() - base).toBe(2);
    });

    it('validate() of unknown, revoked and expired tokens writes nothing', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const revoked = await m.create({ userId });
      const expired = await m.create({ userId });
      await m.revoke(revoked.session.id);
      h.clock.set(START + IDLE + MINUTE);
      const base = h.writes();
      expect(await m.validate(generateToken())).toEqual({ ok: false, reason: 'unknown' });
      expect(await m.validate(revoked.token)).toEqual({ ok: false, reason: 'revoked' });
      expect(await m.validate(expired.token)).toEqual({ ok: false, reason: 'idle' });
      expect(h.writes() - base).toBe(0);
    });
  });
}

function describeRotation(t: () => Harness): void {
  describe('rotation', () => {
    it('replaces the token: the new one works, the old one is unknown, and the session keeps its id', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const { session, token } = await m.create({ userId: h.user(), metadata: { a: 1 } });
      h.clock.advance('10s');

      const rotated = await m.rotate(token);
      expect(rotated.token).toMatch(TOKEN_SHAPE);
      expect(rotated.token).not.toBe(token);
      // Rotation records activity at now, like a touch.
      expect(rotated.session).toEqual({ ...session, lastActiveAt: START + 10 * SECOND, expiresAt: START + 10 * SECOND + IDLE });

      const viaNew = await m.validate(rotated.token);
      expect(viaNew.ok && viaNew.session.id).toBe(session.id);
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'unknown' });
      await expectError(() => m.rotate(token), 'SESSION_NOT_FOUND');
      expect(eventsNamed(events, 'rotated')).toEqual([{ session: rotated.session }]);
      expectNoSecrets([rotated.session, viaNew, events], [token, rotated.token]);
    });

    it('of 10 concurrent rotations of one token exactly one succeeds', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const { session, token } = await m.create({ userId: h.user() });
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => m.rotate(token)));

      const won = results.filter((r): r is PromiseFulfilledResult<{ session: Session; token: string }> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const r of lost) {
        expect(r.reason).toBeInstanceOf(SessionError);
        expect((r.reason as SessionError).code).toBe('SESSION_NOT_FOUND');
      }
      const winner = won[0]!.value;
      const check = await m.validate(winner.token);
      expect(check.ok && check.session.id).toBe(session.id);
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'unknown' });
      expect(eventsNamed(events, 'rotated')).toHaveLength(1);
    });

    it('a rotation racing a revocation never hands out a working token for the revoked session', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user() });
      const [rotation, revocation] = await Promise.allSettled([m.rotate(token), m.revoke(session.id)]);
      expect(revocation.status).toBe('fulfilled');
      if (rotation.status === 'fulfilled') {
        // The rotation won the race: it saw an active session, and the revocation then ended it.
        expect(rotation.value.session.status).toBe('active');
        expect(await m.validate(rotation.value.token)).toEqual({ ok: false, reason: 'revoked' });
      } else {
        expect(rotation.reason).toBeInstanceOf(SessionError);
        expect((rotation.reason as SessionError).code).toBe('SESSION_NOT_FOUND');
        expect(await m.validate(token)).toEqual({ ok: false, reason: 'revoked' });
      }
      expect((await m.get(session.id))?.status).toBe('revoked');
    });

    it('refuses to rotate a revoked or expired session (SESSION_NOT_FOUND) and changes nothing', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const revoked = await m.create({ userId });
      const idle = await m.create({ userId });
      await m.revoke(revoked.session.id);
      h.clock.set(START + IDLE);
      const before = await m.list(userId, { includeInactive: true });
      await expectError(() => m.rotate(revoked.token), 'SESSION_NOT_FOUND');
      await expectError(() => m.rotate(idle.token), 'SESSION_NOT_FOUND');
      await expectError(() => m.rotate(generateToken()), 'SESSION_NOT_FOUND');
      expect(await m.list(userId, { includeInactive: true })).toEqual(before);
      expect(await m.validate(revoked.token)).toEqual({ ok: false, reason: 'revoked' });
    });
  });
}

function describeUpdate(t: () => Harness): void {
  describe('update()', () => {
    it('merges top-level metadata keys and stores null as null', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user(), metadata: { a: 1, b: { deep: true } } });
      const first = await m.update(session.id, { metadata: { c: 'three' } });
      expect(first.metadata).toEqual({ a: 1, b: { deep: true }, c: 'three' });
      const second = await m.update(session.id, { metadata: { b: null, a: [1, 2] } });
      expect(second.metadata).toEqual({ a: [1, 2], b: null, c: 'three' });
      expect(second).toEqual({ ...session, metadata: { a: [1, 2], b: null, c: 'three' } });
      expect(await m.get(session.id)).toEqual(second);
      const validated = await m.validate(token);
      expect(validated.ok && validated.session.metadata).toEqual({ a: [1, 2], b: null, c: 'three' });
    });

    it('keeps every key of 20 concurrent updates of different keys', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user(), metadata: { base: 0 } });
      await Promise.all(Array.from({ length: 20 }, (_, i) => m.update(session.id, { metadata: { [`k${i}`]: i } })));
      const expected: Record<string, number> = { base: 0 };
      for (let i = 0; i < 20; i++) expected[`k${i}`] = i;
      expect((await m.get(session.id))?.metadata).toEqual(expected);
    });

    it('refuses revoked and expired sessions (SESSION_INACTIVE) and unknown ids (SESSION_NOT_FOUND)', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const revoked = await m.create({ userId, metadata: { v: 1 } });
      const idle = await m.create({ userId, metadata: { v: 1 } });
      await m.revoke(revoked.session.id);
      h.clock.set(START + IDLE);
      const before = await m.list(userId, { includeInactive: true });
      await expectError(() => m.update(revoked.session.id, { metadata: { v: 2 } }), 'SESSION_INACTIVE');
      await expectError(() => m.update(idle.session.id, { metadata: { v: 2 } }), 'SESSION_INACTIVE');
      await expectError(() => m.update('ses_doesnotexist000000000000', { metadata: { v: 2 } }), 'SESSION_NOT_FOUND');
      expect(await m.list(userId, { includeInactive: true })).toEqual(before);
    });

    it('rejects a merge whose result exceeds maxMetadataBytes (INVALID_METADATA) and changes nothing', async () => {
      const h = t();
      const m = h.manager({ maxMetadataBytes: 256 });
      const { session } = await m.create({ userId: h.user(), metadata: { a: 'x'.repeat(150) } });
      const base = h.writes();
      // Each patch fits on its own; the merged object does not.
      await expectError(() => m.update(session.id, { metadata: { b: 'y'.repeat(150) } }), 'INVALID_METADATA');
      expect(await m.get(session.id)).toEqual(session);
      // The limit applies to the merged result, so replacing a big value can make room.
      const shrunk = await m.update(session.id, { metadata: { a: null, b: 'y'.repeat(150) } });
      expect(shrunk.metadata).toEqual({ a: null, b: 'y'.repeat(150) });
      expect(h.writes() - base).toBe(2);
    });

    it('measures the limit on the compact JSON of the merged object', async () => {
      const h = t();
      const m = h.manager({ maxMetadataBytes: 64 });
      const { session } = await m.create({ userId: h.user(), metadata: { zz: 1, a: 'x'.repeat(20) } });
      const patch = { b: 'y'.repeat(9), cc: [1, 2, 3] };
      expect(Buffer.byteLength(JSON.stringify({ ...session.metadata, ...patch }))).toBe(64);
      const merged = await m.update(session.id, { metadata: patch });
      expect(merged.metadata).toEqual({ zz: 1, a: 'x'.repeat(20), ...patch });
      await expectError(() => m.update(session.id, { metadata: { b: 'y'.repeat(10) } }), 'INVALID_METADATA');
      expect((await m.get(session.id))?.metadata).toEqual(merged.metadata);
    });

    it('merges values holding any string, \\u0000 included', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user(), metadata: { a: 'nul\u0000a' } });
      const merged = await m.update(session.id, { metadata: { b: 'nul\u0000b' } });
      expect(merged.metadata).toEqual({ a: 'nul\u0000a', b: 'nul\u0000b' });
      const plain = await m.create({ userId: h.user(), metadata: { a: 1 } });
      expect((await m.update(plain.session.id, { metadata: { b: '\u0000' } })).metadata).toEqual({ a: 1, b: '\u0000' });
      expect((await m.get(session.id))?.metadata).toEqual(merged.metadata);
    });
  });
}

function describeRevocation(t: () => Harness): void {
  describe('revocation', () => {
    it('revoke() is idempotent: a second call returns the session unchanged and emits nothing', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const { session } = await m.create({ userId: h.user() });
      h.clock.advance('1m');
      const first = await m.revoke(session.id, { reason: 'logout' });
      h.clock.advance('1m');
      const second = await m.revoke(session.id, { reason: 'other' });
      expect(second).toEqual(first);
      expect(second).toMatchObject({ status: 'revoked', revokedAt: START + MINUTE, revokeReason: 'logout' });
      expect(eventsNamed(events, 'revoked')).toEqual([{ session: first, reason: 'logout' }]);
    });

    it("revoke() defaults the reason to 'revoked', revokes expired sessions, and throws SESSION_NOT_FOUND for unknown ids", async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const a = await m.create({ userId });
      const b = await m.create({ userId });
      expect((await m.revoke(a.session.id)).revokeReason).toBe('revoked');
      h.clock.set(START + IDLE + MINUTE);
      const late = await m.revoke(b.session.id, { reason: 'cleanup' });
      expect(late).toMatchObject({ status: 'revoked', revokedAt: START + IDLE + MINUTE, revokeReason: 'cleanup' });
      const before = await m.list(userId, { includeInactive: true });
      await expectError(() => m.revoke('ses_doesnotexist000000000000'), 'SESSION_NOT_FOUND');
      expect(await m.list(userId, { includeInactive: true })).toEqual(before);
    });

    it('revokeAll() revokes every session of the user but `except`, returns the count, and leaves other users alone', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const userId = h.user('owner');
      const otherUser = h.user('other');
      const [s1, s2, s3] = [await m.create({ userId }), await m.create({ userId }), await m.create({ userId })];
      const other = await m.create({ userId: otherUser });
      h.clock.advance('3m');

      expect(await m.revokeAll(userId, { except: s2.session.id, reason: 'security_logout' })).toBe(2);
      expect(sortedIds(await m.list(userId))).toEqual([s2.session.id]);
      for (const s of [s1, s3]) {
        expect(await m.get(s.session.id)).toMatchObject({ status: 'revoked', revokeReason: 'security_logout', revokedAt: START + 3 * MINUTE });
        expect(await m.validate(s.token)).toEqual({ ok: false, reason: 'revoked' });
      }
      expect((await m.validate(s2.token)).ok).toBe(true);
      expect(await m.get(other.session.id)).toEqual(other.session);
      expect(await m.count(otherUser)).toBe(1);
      const revokedEvents = eventsNamed(events, 'revoked');
      expect(sortedIds(revokedEvents.map((e) => e.session))).toEqual(sortedIds([s1.session, s3.session]));
      expect(revokedEvents.every((e) => e.reason === 'security_logout')).toBe(true);

      expect(await m.revokeAll(userId, { except: s2.session.id })).toBe(0);
      expect(await m.revokeAll(userId)).toBe(1);
      expect(await m.count(userId)).toBe(0);
      expect(await m.revokeAll(h.user('nobody'))).toBe(0);
    });

    it('revokeAll() counts and revokes only active sessions; expired ones stay expired', async () => {
      const h = t();
      const m = h.manager({ idleTimeout: '10m', touchInterval: '1m' });
      const events = recordEvents(m);
      const userId = h.user();
      const stale = await m.create({ userId });
      h.clock.advance('5m');
      const fresh = await m.create({ userId });
      h.clock.advance('6m'); // stale idled out at 10m; fresh is 6m old
      expect(await m.revokeAll(userId, { reason: 'security_logout' })).toBe(1);
      expect(await m.get(stale.session.id)).toMatchObject({ status: 'expired', revokedAt: null, revokeReason: null });
      expect(await m.get(fresh.session.id)).toMatchObject({ status: 'revoked', revokeReason: 'security_logout' });
      expect(eventsNamed(events, 'revoked').map((e) => e.session.id)).toEqual([fresh.session.id]);
    });
  });
}

function describeListing(t: () => Harness): void {
  describe('list() and count()', () => {
    it('lists active sessions only by default, most recently active first', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const s1 = await m.create({ userId });
      h.clock.advance('1s');
      const s2 = await m.create({ userId });
      h.clock.advance('1s');
      const s3 = await m.create({ userId });
      h.clock.advance('1s');
      const revoked = await m.create({ userId });
      await m.revoke(revoked.session.id);
      await m.create({ userId: h.user('other') });

      expect(ids(await m.list(userId))).toEqual([s3.session.id, s2.session.id, s1.session.id]);
      h.clock.advance('2m');
      await m.validate(s1.token);
      expect(ids(await m.list(userId))).toEqual([s1.session.id, s3.session.id, s2.session.id]);
      expect(await m.count(userId)).toBe(3);
    });

    it('includeInactive adds revoked and expired sessions, each with its observed status', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const old = await m.create({ userId });
      h.clock.advance('20m');
      const revoked = await m.create({ userId });
      h.clock.advance('1m');
      await m.revoke(revoked.session.id);
      const fresh = await m.create({ userId });
      h.clock.set(START + IDLE); // `old` is now idle

      const all = await m.list(userId, { includeInactive: true });
      for (const s of all) expectSessionShape(s);
      expect(all.map((s) => [s.id, s.status])).toEqual([
        [fresh.session.id, 'active'],
        [revoked.session.id, 'revoked'],
        [old.session.id, 'expired'],
      ]);
      expect(ids(await m.list(userId))).toEqual([fresh.session.id]);
      expect(await m.count(userId)).toBe(1);
      expect(await m.list(h.user('nobody'), { includeInactive: true })).toEqual([]);
      expect(await m.count(h.user('nobody'))).toBe(0);
    });
  });
}

function describeStats(t: () => Harness): void {
  describe('stats()', () => {
    /**
     * Timeline (START is a UTC midnight; idleTimeout 12h so only E and E2 expire). Every ended session
     * ended at most a few hours before now, so no store may have reclaimed it yet.
     *   F  created START-47h (hour 1), extended, revoked START+5h30   52 h 30, outside recent24h
     *   A  created START      (hour 0), revoked START+3h               3 h
     *   B  created START+1h   (hour 1), revoked START+2h               1 h
     *   C  created START+2h   (hour 2), revoked START+5h               3 h   (starts as B ends: no overlap)
     *   D  created START+2h30 (hour 2), still active at START+6h       3 h 30
     *   E, E2 inserted directly: created START+4h (hour 4), last active START+4h30, expired START+5h,
     *         device mobile                                            30 min each (to last activity)
     * Peak: F, C, D, E, E2 alive at START+4h -> 5 (4 was first reached at START+2h30).
     */
    async function buildTimeline(h: Harness) {
      const m = h.manager({ idleTimeout: '12h', absoluteTimeout: '7d' });
      const userId = h.user();
      h.clock.set(START - 47 * HOUR);
      const f = await m.create({ userId });
      await m.extend(f.session.id, '2d');
      h.clock.set(START);
      const a = await m.create({ userId });
      h.clock.set(START + HOUR);
      const b = await m.create({ userId });
      h.clock.set(START + 2 * HOUR);
      await m.revoke(b.session.id);
      const c = await m.create({ userId });
      h.clock.set(START + 2.5 * HOUR);
      await m.create({ userId }); // D
      h.clock.set(START + 3 * HOUR);
      await m.revoke(a.session.id);
      h.clock.set(START + 4.5 * HOUR);
      const device: SessionDevice = { class: 'mobile', label: 'Pixel 8' };
      const e = newRecord(userId, { createdAt: START + 4 * HOUR, lastActiveAt: START + 4.5 * HOUR, expiresAt: START + 5 * HOUR, device });
      const e2 = newRecord(userId, { createdAt: START + 4 * HOUR, lastActiveAt: START + 4.5 * HOUR, expiresAt: START + 5 * HOUR, device: { class: 'mobile' } });
      const inserted = await h.store.insert(e.record, h.clock.now().getTime());
      await h.store.insert(e2.record, h.clock.now().getTime());
      expect(inserted.evicted).toEqual([]);
      expect(inserted.session.device).toEqual(device);
      h.clock.set(START + 5 * HOUR);
      await m.revoke(c.session.id);
      h.clock.set(START + 5.5 * HOUR);
      await m.revoke(f.session.id);
      h.clock.set(START + 6 * HOUR);
      return { m, userId, e };
    }

    it('computes totals, statuses, recent24h, durations, peak concurrency, byHour and byDeviceClass', async () => {
      const h = t();
      const { m, userId, e } = await buildTimeline(h);
      expect((await m.get(e.record.id))?.device).toEqual({ class: 'mobile', label: 'Pixel 8' });

      const byHour = new Array<number>(24).fill(0);
      byHour[0] = 1;
      byHour[1] = 2;
      byHour[2] = 2;
      byHour[4] = 2;
      expect(await m.stats({ userId })).toEqual({
        total: 7,
        active: 1,
        expired: 2,
        revoked: 4,
        recent24h: 6,
        // Sorted (min): 30, 30, 60, 180, 180, 210, 3150 -> nearest-rank p50 = 4th, p95 = 7th.
        duration: { avgMs: Math.round((3840 * MINUTE) / 7), p50Ms: 3 * HOUR, p95Ms: 52.5 * HOUR },
        peakConcurrent: { count: 5, at: START + 4 * HOUR },
        byHour,
        byDeviceClass: { unknown: 5, mobile: 2 },
      });
    });

    it('since counts only sessions created at or after the instant (Date or epoch ms)', async () => {
      const h = t();
      const { m, userId } = await buildTimeline(h);
      const sinceMs = await m.stats({ userId, since: START + 2 * HOUR });
      const sinceDate = await m.stats({ userId, since: new Date(START + 2 * HOUR) });
      expect(sinceDate).toEqual(sinceMs);
      // C, D, E, E2
      expect(sinceMs).toMatchObject({ total: 4, active: 1, expired: 2, revoked: 1, byDeviceClass: { unknown: 2, mobile: 2 } });
      expect((await m.stats({ userId, since: START + 6 * HOUR })).total).toBe(0);
    });

    it('userId scopes the statistics; without it every user is counted', async () => {
      const h = t();
      const m = h.manager();
      const before = await m.stats();
      const alice = h.user('alice');
      const bob = h.user('bob');
      await m.create({ userId: alice });
      await m.create({ userId: alice });
      const b = await m.create({ userId: bob });
      await m.revoke(b.session.id);

      expect(await m.stats({ userId: alice })).toMatchObject({ total: 2, active: 2, revoked: 0, peakConcurrent: { count: 2, at: START } });
      expect(await m.stats({ userId: bob })).toMatchObject({ total: 1, active: 0, revoked: 1 });
      const after = await m.stats();
      expect(after.total - before.total).toBe(3);
      expect(after.active - before.active).toBe(2);
      expect(after.revoked - before.revoked).toBe(1);
      expect((after.byDeviceClass.unknown ?? 0) - (before.byDeviceClass.unknown ?? 0)).toBe(3);
    });

    it('reports zeros and null duration for a user without sessions', async () => {
      const h = t();
      const m = h.manager();
      await m.create({ userId: h.user('someone-else') });
      expect(await m.stats({ userId: h.user('nobody') })).toEqual({
        total: 0,
        active: 0,
        expired: 0,
        revoked: 0,
        recent24h: 0,
        duration: null,
        peakConcurrent: { count: 0, at: null },
        byHour: new Array<number>(24).fill(0),
        byDeviceClass: {},
      });
    });

    it('store.scan() pages by at most pageSize and yields every matching session exactly once', async () => {
      const h = t();
      const userId = h.user();
      const inserted: string[] = [];
      for (let i = 0; i < 7; i++) {
        const { record } = newRecord(userId, { createdAt: START + i * MINUTE, expiresAt: START + i * MINUTE + IDLE });
        inserted.push((await h.store.insert(record, START + i * MINUTE)).session.id);
      }
      const { record: stranger } = newRecord(h.user('stranger'), { createdAt: START, expiresAt: START + IDLE });
      await h.store.insert(stranger, START);

      const seen: string[] = [];
      for await (const page of h.store.scan({ userId }, 2)) {
        expect(page.length).toBeGreaterThan(0);
        expect(page.length).toBeLessThanOrEqual(2);
        seen.push(...ids(page));
      }
      expect(seen.slice().sort()).toEqual(inserted.slice().sort());

      const recent: string[] = [];
      for await (const page of h.store.scan({ userId, createdSince: START + 4 * MINUTE }, 2)) recent.push(...ids(page));
      expect(recent.sort()).toEqual(inserted.slice(4).sort());
    });
  });
}

function describeCleanup(t: () => Harness): void {
  describe('cleanup()', () => {
    it('deletes only sessions that ended before the cutoff, in batches, and returns the count', async () => {
      const h = t();
      const m = h.manager({ idleTimeout: '10m', touchInterval: '1m' });
      const userId = h.user();
      // At START: three to revoke early, two to expire early, one kept alive by extend().
      const early = await Promise.all(Array.from({ length: 5 }, () => m.create({ userId })));
      const alive = await m.create({ userId });
      await m.extend(alive.session.id, '6h');
      h.clock.set(START + MINUTE);
      for (const s of early.slice(0, 3)) await m.revoke(s.session.id);
      // Later sessions: expires after the cutoff, revoked exactly at the cutoff, revoked after it.
      h.clock.set(START + 4 * HOUR);
      const lateExpired = await m.create({ userId }); // expires START+4h10m
      const atCutoff = await m.create({ userId });
      const lateRevoked = await m.create({ userId });
      h.clock.set(START + 4 * HOUR + MINUTE);
      await m.revoke(atCutoff.session.id);
      h.clock.set(START + 5 * HOUR);
      await m.revoke(lateRevoked.session.id);

      h.clock.set(START + 5 * HOUR + MINUTE); // cutoff = START + 4h1m
      const callsBefore = h.calls('deleteEndedBefore');
      expect(await m.cleanup({ olderThan: '1h', batchSize: 2 })).toBe(5);
      expect(h.calls('deleteEndedBefore') - callsBefore).toBeGreaterThanOrEqual(3);
      for (const s of early) expect(await m.get(s.session.id)).toBeNull();
      expect(await m.get(alive.session.id)).toMatchObject({ status: 'active' });
      expect(await m.get(lateExpired.session.id)).toMatchObject({ status: 'expired' });
      expect(await m.get(atCutoff.session.id)).toMatchObject({ status: 'revoked' });
      expect(await m.get(lateRevoked.session.id)).toMatchObject({ status: 'revoked' });
      expect(await m.list(userId, { includeInactive: true })).toHaveLength(4);

      expect(await m.cleanup({ olderThan: '1h', batchSize: 2 })).toBe(0);
      expect(await m.validate(alive.token)).toMatchObject({ ok: true });
    });

    it('a session that expired before the cutoff counts as ended then, even if revoked after it', async () => {
      const h = t();
      const m = h.manager({ idleTimeout: '10m', touchInterval: '1m' });
      const userId = h.user();
      const expiredThenRevoked = await m.create({ userId });
      const revokedLater = await m.create({ userId });
      await m.extend(revokedLater.session.id, '5h');
      h.clock.set(START + 2 * HOUR);
      // revoke() marks an already expired session too; its end stays its idle deadline (START+10m).
      await m.revoke(expiredThenRevoked.session.id);
      await m.revoke(revokedLater.session.id);
      h.clock.set(START + 2 * HOUR + 30 * MINUTE);
      expect(await m.cleanup({ olderThan: '1h' })).toBe(1); // cutoff START+1h30m
      expect(await m.get(expiredThenRevoked.session.id)).toBeNull();
      expect(await m.get(revokedLater.session.id)).toMatchObject({ status: 'revoked' });
    });

    it('never deletes an active session, even with olderThan 0', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const active = await m.create({ userId });
      const ended = await m.create({ userId });
      h.clock.advance('1m');
      await m.revoke(ended.session.id);
      h.clock.advance('1m');
      expect(await m.cleanup({ olderThan: 0 })).toBe(1);
      expect(await m.get(ended.session.id)).toBeNull();
      expect(ids(await m.list(userId, { includeInactive: true }))).toEqual([active.session.id]);
      expect((await m.validate(active.token)).ok).toBe(true);
      expect(await m.cleanup({ olderThan: 0 })).toBe(0);
    });

    it('deletes alerts last seen or resolved more than olderThan ago, in batches, and keeps the recurring and the recent', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const raise = async (dedupKey: string, at: number) =>
        (await h.store.raiseAlert({ id: `alr_${randomBytes(8).toString('hex')}`, userId, sessionId: null, type: 'test', severity: 'low', evidence: {}, dedupKey, at }, DAY)).alert;
      for (let i = 0; i < 5; i++) await raise(`old-${i}`, START + i * MINUTE);
      const recurring = await raise('recurring', START);
      const resolved = await raise('resolved', START + DAY);
      await h.store.setAlertStatus(resolved.id, 'resolved', START + DAY + HOUR);
      // Recurring within the fold window (a day) keeps one alert alive: last seen at START + 40 h.
      await raise('recurring', START + 20 * HOUR);
      await raise('recurring', START + 40 * HOUR);
      const recent = await raise('recent', START + 47 * HOUR);
      h.clock.set(START + 2 * DAY + 2 * HOUR); // cutoff: START + 1d 2h
      const callsBefore = h.calls('deleteAlertsBefore');
      await m.cleanup({ olderThan: '1d', batchSize: 2 });
      expect(h.calls('deleteAlertsBefore') - callsBefore).toBeGreaterThanOrEqual(3);
      expect(sortedIds((await m.alerts.list({ userId })).items)).toEqual(sortedIds([recurring, recent]));
    });
  });
}

function describeMigration(t: () => Harness, options: ConformanceOptions): void {
  describe('migrate()', () => {
    it('is idempotent, also when called concurrently, and keeps existing sessions', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const before = await m.create({ userId, metadata: { kept: true } });
      await h.store.migrate();
      await h.store.migrate();
      await Promise.all([h.store.migrate(), h.store.migrate(), h.store.migrate()]);
      expect(await m.get(before.session.id)).toEqual(before.session);
      expect((await m.validate(before.token)).ok).toBe(true);
      const after = await m.create({ userId });
      expect(sortedIds(await m.list(userId))).toEqual(sortedIds([before.session, after.session]));
    });

    it.runIf(options.createPeerStore !== undefined)('a second store over the same data (createPeerStore) can migrate again and sees the sessions', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user() });
      const peer = await h.peerManager();
      await h.store.migrate();
      expect(await peer.get(session.id)).toEqual(session);
      expect((await peer.validate(token)).ok).toBe(true);
    });
  });
}

function describeRoundTrip(t: () => Harness): void {
  describe('round-trip of unicode and large values', () => {
    const UNICODE: SessionMetadata = {
      emoji: '👩‍👩‍👧‍👦 🎉 🏳️‍🌈 👍🏽',
      cjk: '会话管理 セッション管理 세션 관리',
      rtl: 'مرحبا بالعالم — שלום עולם',
      astral: '𝄞 𐍈 𠜎 🀄',
      combining: 'e\u0301 n\u0303 a\u030a',
      escapes: 'quote " backslash \\ newline \n tab \t slash / zero-width \u200b bom \ufeff',
      '键 🔑 مفتاح': 'unicode key',
      '': 'empty key',
      nested: { list: ['α', 'β', { γ: 'δ' }], empty: {}, none: [] },
      numbers: { int: -42, float: 0.1, tiny: 1e-7, big: 6.02e23, maxSafe: Number.MAX_SAFE_INTEGER },
      flags: { yes: true, no: false, nothing: null },
      // Postgres text refuses NUL and UTF-8 has no unpaired surrogates: JSON escapes must carry both.
      controls: { nul: 'a\u0000b', bell: '\u0007', loneHigh: 'x\ud800y', loneLow: '\udc00' },
    };

    it('metadata with emoji, CJK, RTL, astral and escaped characters comes back exactly', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user(), metadata: UNICODE });
      expect(session.metadata).toEqual(UNICODE);
      expect((await m.get(session.id))?.metadata).toEqual(UNICODE);
      const validated = await m.validate(token);
      expect(validated.ok && validated.session.metadata).toEqual(UNICODE);
      const updated = await m.update(session.id, { metadata: { more: '🙂 добавлено' } });
      expect(updated.metadata).toEqual({ ...UNICODE, more: '🙂 добавлено' });
      expect((await m.get(session.id))?.metadata).toEqual({ ...UNICODE, more: '🙂 добавлено' });
    });

    it('unicode userId, tenantId and userAgent are stored and matched exactly', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user('us\u00e9r-用户-🙂-مستخدم');
      expect(userId.normalize('NFD')).not.toBe(userId);
      const tenantId = 'テナント-🏢';
      const userAgent = 'Navigateur/1.0 (Ünïcödé; 日本語) 🦊';
      const { session, token } = await m.create({ userId, tenantId, userAgent });
      expect(await m.get(session.id)).toMatchObject({ userId, tenantId, userAgent });
      expect(ids(await m.list(userId))).toEqual([session.id]);
      expect(await m.count(userId)).toBe(1);
      const validated = await m.validate(token);
      expect(validated.ok && validated.session.userId).toBe(userId);
      // A user id differing only in normalisation (é precomposed vs. e + combining accent) is another user.
      expect(await m.count(userId.normalize('NFD'))).toBe(0);
    });

    it('ids with NUL or unpaired surrogates are refused; such a userAgent is cleaned, not refused', async () => {
      const h = t();
      const m = h.manager();
      for (const bad of ['nul\u0000user', 'lone\ud800', '\udfffx']) {
        await expectError(() => m.create({ userId: bad }), 'INVALID_ARGUMENT', JSON.stringify(bad));
        await expectError(() => m.create({ userId: h.user(), tenantId: bad }), 'INVALID_ARGUMENT', JSON.stringify(bad));
      }
      const { session } = await m.create({ userId: h.user(), userAgent: 'Agent\u0000/1.0 \ud800(x)' });
      expect(session.userAgent).toBe('Agent/1.0 \ufffd(x)');
      expect((await m.get(session.id))?.userAgent).toBe('Agent/1.0 \ufffd(x)');
    });

    it('about 10 KB of metadata comes back exactly through get() and validate()', async () => {
      const h = t();
      const m = h.manager();
      const metadata = {
        blob: 'x'.repeat(6000),
        text: 'Ünïcödé ✓ '.repeat(150),
        items: Array.from({ length: 60 }, (_, i) => ({ i, label: `item-${i}`, tags: ['a', 'b'] })),
      };
      expect(Buffer.byteLength(JSON.stringify(metadata))).toBeGreaterThan(10_000);
      const { session, token } = await m.create({ userId: h.user(), metadata });
      expect((await m.get(session.id))?.metadata).toEqual(metadata);
      const validated = await m.validate(token);
      expect(validated.ok && validated.session.metadata).toEqual(metadata);
    });
  });
}

function describeBadInput(t: () => Harness): void {
  describe('bad input throws a typed SessionError and changes nothing', () => {
    /** A user with one active and one revoked session, and a way to assert none of it changed. */
    async function withState(h: Harness, overrides: ManagerOverrides = {}) {
      const m = h.manager(overrides);
      const userId = h.user();
      const active = await m.create({ userId, metadata: { keep: 'me' } });
      const revoked = await m.create({ userId });
      await m.revoke(revoked.session.id);
      const before = await m.list(userId, { includeInactive: true });
      const writes = h.writes();
      const unchanged = async (): Promise<void> => {
        expect(await m.list(userId, { includeInactive: true })).toEqual(before);
        expect(await m.get(active.session.id)).toEqual(active.session);
        expect(await m.count(userId)).toBe(1);
        expect((await m.validate(active.token)).ok).toBe(true);
      };
      return { m, userId, active, writes, unchanged };
    }

    const BAD_TOKENS: ReadonlyArray<readonly [string, unknown]> = [
      ['empty', ''],
      ['oversized', `skt_${'a'.repeat(100_000)}`],
      ['garbage', 'not a token at all'],
      ['one character short', `skt_${'a'.repeat(31)}`],
      ['one character long', `skt_${'a'.repeat(33)}`],
      ['wrong prefix', `sk_x${'a'.repeat(32)}`],
      ['illegal character', `skt_${'a'.repeat(31)}!`],
      ['non-ASCII character', `skt_${'a'.repeat(31)}é`],
      ['number', 12345],
      ['null', null],
      ['undefined', undefined],
      ['object', {}],
      ['array', ['skt_']],
    ];

    it("validate() of a string that is not a token is { ok: false, reason: 'malformed' }; rotate() of one throws SESSION_NOT_FOUND", async () => {
      const h = t();
      const { m, active, writes, unchanged } = await withState(h);
      const strings = BAD_TOKENS.filter(([, token]) => typeof token === 'string');
      const lookups = h.calls('findByTokenHash');
      for (const [label, token] of [...strings, ['padded real token', ` ${active.token}`] as const]) {
        expect(await m.validate(token as string), `validate: ${label}`).toEqual({ ok: false, reason: 'malformed' });
        await expectError(() => m.rotate(token as string), 'SESSION_NOT_FOUND', `rotate: ${label}`);
      }
      // Refused on its shape alone: no lookup, no write.
      expect(h.calls('findByTokenHash')).toBe(lookups);
      expect(h.writes()).toBe(writes);
      await unchanged();
    });

    it('validate() and rotate() of a value that is not a string throw INVALID_TOKEN', async () => {
      const h = t();
      const { m, writes, unchanged } = await withState(h);
      for (const [label, token] of BAD_TOKENS.filter(([, value]) => typeof value !== 'string')) {
        await expectError(() => m.validate(token as string), 'INVALID_TOKEN', `validate: ${label}`);
        await expectError(() => m.rotate(token as string), 'INVALID_TOKEN', `rotate: ${label}`);
      }
      expect(h.writes()).toBe(writes);
      await unchanged();
    });

    it("a well-formed unknown token is { ok: false, reason: 'unknown' } and rotate() throws SESSION_NOT_FOUND", async () => {
      const h = t();
      const { m, unchanged } = await withState(h);
      expect(await m.validate(generateToken())).toEqual({ ok: false, reason: 'unknown' });
      await expectError(() => m.rotate(generateToken()), 'SESSION_NOT_FOUND');
      await unchanged();
    });

    it('unknown session ids: get() is null; extend(), update() and revoke() throw SESSION_NOT_FOUND', async () => {
      const h = t();
      const { m, unchanged } = await withState(h);
      const unknown = `ses_${randomBytes(12).toString('hex')}`;
      expect(await m.get(unknown)).toBeNull();
      await expectError(() => m.extend(unknown, '1h'), 'SESSION_NOT_FOUND');
      await expectError(() => m.update(unknown, { metadata: { a: 1 } }), 'SESSION_NOT_FOUND');
      await expectError(() => m.revoke(unknown), 'SESSION_NOT_FOUND');
      await unchanged();
    });

    it('empty, oversized or non-string user and session ids throw INVALID_ARGUMENT', async () => {
      const h = t();
      const { m, active, writes, unchanged } = await withState(h);
      for (const userId of ['', 'u'.repeat(256), 42, null, undefined]) {
        await expectError(() => m.create({ userId: userId as string }), 'INVALID_ARGUMENT');
        await expectError(() => m.list(userId as string), 'INVALID_ARGUMENT');
        await expectError(() => m.count(userId as string), 'INVALID_ARGUMENT');
        await expectError(() => m.revokeAll(userId as string), 'INVALID_ARGUMENT');
      }
      await expectError(() => m.create(null as unknown as { userId: string }), 'INVALID_ARGUMENT');
      await expectError(() => m.stats({ userId: '' }), 'INVALID_ARGUMENT');
      for (const id of ['', 'i'.repeat(256), 7]) {
        await expectError(() => m.get(id as string), 'INVALID_ARGUMENT');
        await expectError(() => m.revoke(id as string), 'INVALID_ARGUMENT');
        await expectError(() => m.extend(id as string, '1m'), 'INVALID_ARGUMENT');
        await expectError(() => m.update(id as string, { metadata: {} }), 'INVALID_ARGUMENT');
      }
      await expectError(() => m.extend(active.session.id, 0), 'INVALID_ARGUMENT');
      await expectError(() => m.extend(active.session.id, '1y' as Duration), 'INVALID_ARGUMENT');
      await expectError(() => m.revoke(active.session.id, { reason: '' }), 'INVALID_ARGUMENT');
      await expectError(() => m.revokeAll(active.session.userId, { reason: 'r'.repeat(65) }), 'INVALID_ARGUMENT');
      await expectError(() => m.cleanup({ batchSize: 0 }), 'INVALID_ARGUMENT');
      expect(h.writes()).toBe(writes);
      await unchanged();
    });

    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const BAD_METADATA: ReadonlyArray<readonly [string, unknown]> = [
      ['a cycle', cyclic],
      ['a BigInt', { n: 10n }],
      ['a function', { f: () => 1 }],
      ['a Date', { when: new Date(START) }],
      ['NaN', { n: Number.NaN }],
      ['Infinity', { n: Number.POSITIVE_INFINITY }],
      ['a class instance', { p: new Point(1, 2) }],
      ['a Map', { m: new Map([['a', 1]]) }],
      ['undefined', { u: undefined }],
      ['a symbol', { s: Symbol('s') }],
      ['a function inside an array', { list: [1, () => 2] }],
      ['a top-level array', [1, 2]],
      ['a top-level class instance', new Point(1, 2)],
      ['null', null],
      ['a string', 'metadata'],
    ];

    it('non-serialisable metadata throws INVALID_METADATA on create() and update()', async () => {
      const h = t();
      const { m, userId, active, writes, unchanged } = await withState(h);
      for (const [label, metadata] of BAD_METADATA) {
        await expectError(() => m.create({ userId, metadata: metadata as Record<string, unknown> }), 'INVALID_METADATA', `create: ${label}`);
        await expectError(() => m.update(active.session.id, { metadata: metadata as Record<string, unknown> }), 'INVALID_METADATA', `update: ${label}`);
      }
      expect(h.writes()).toBe(writes);
      await unchanged();
    });

    it('metadata over maxMetadataBytes throws INVALID_METADATA on create()', async () => {
      const h = t();
      const { m, userId, writes, unchanged } = await withState(h, { maxMetadataBytes: 64 });
      await expectError(() => m.create({ userId, metadata: { big: 'x'.repeat(100) } }), 'INVALID_METADATA');
      // 4-byte characters count as 4 bytes: 20 emoji are 80 bytes of JSON in 40 UTF-16 units.
      await expectError(() => m.create({ userId, metadata: { e: '😀'.repeat(20) } }), 'INVALID_METADATA');
      expect(h.writes()).toBe(writes);
      await unchanged();
    });

    const BAD_CONFIGS: ReadonlyArray<readonly [string, ManagerOverrides, string]> = [
      ['idleTimeout with an unknown unit', { idleTimeout: '10x' as Duration }, 'idleTimeout'],
      ['negative idleTimeout', { idleTimeout: -1 }, 'idleTimeout'],
      ['fractional idleTimeout', { idleTimeout: 1.5 }, 'idleTimeout'],
      ['NaN idleTimeout', { idleTimeout: Number.NaN }, 'idleTimeout'],
      ['zero idleTimeout', { idleTimeout: 0 }, 'idleTimeout'],
      ['empty idleTimeout', { idleTimeout: '' as Duration }, 'idleTimeout'],
      ['absoluteTimeout in words', { absoluteTimeout: 'forever' as Duration }, 'absoluteTimeout'],
      ['zero absoluteTimeout', { absoluteTimeout: 0 }, 'absoluteTimeout'],
      ['touchInterval in words', { touchInterval: 'soon' as Duration }, 'touchInterval'],
      ['touchInterval equal to idleTimeout', { idleTimeout: '30m', touchInterval: '30m' }, 'touchInterval'],
      ['touchInterval longer than idleTimeout', { idleTimeout: '5m', touchInterval: '1h' }, 'touchInterval'],
      ['maxSessionsPerUser 0', { maxSessionsPerUser: 0 }, 'maxSessionsPerUser'],
      ['negative maxSessionsPerUser', { maxSessionsPerUser: -1 }, 'maxSessionsPerUser'],
      ['fractional maxSessionsPerUser', { maxSessionsPerUser: 2.5 }, 'maxSessionsPerUser'],
      ['maxSessionsPerUser as a string', { maxSessionsPerUser: '3' as unknown as number }, 'maxSessionsPerUser'],
      ['unknown onLimit', { maxSessionsPerUser: 3, onLimit: 'drop-newest' as 'reject' }, 'onLimit'],
      ['onLimit without maxSessionsPerUser', { onLimit: 'reject' }, 'onLimit'],
      ['maxMetadataBytes 0', { maxMetadataBytes: 0 }, 'maxMetadataBytes'],
      ['unknown preset', { preset: 'aal4' as 'aal1' }, 'preset'],
      ['preset inherited from Object.prototype', { preset: 'toString' as 'aal1' }, 'preset'],
    ];

    it('invalid manager options throw INVALID_CONFIG naming the field, without touching the store', async () => {
      const h = t();
      for (const [label, overrides, field] of BAD_CONFIGS) {
        const err = await expectError(
          () => createSessionManager({ ...DEFAULTS, clock: h.clock.now, ...overrides, store: h.countedStore }),
          'INVALID_CONFIG',
          label,
        );
        expect(err.message, label).toContain(field);
      }
      expect(h.writes()).toBe(0);
      // The store is still usable afterwards.
      const m = h.manager();
      const userId = h.user();
      await m.create({ userId });
      expect(await m.count(userId)).toBe(1);
    });
  });
}

function describeLimits(t: () => Harness): void {
  describe('maxSessionsPerUser', () => {
    it("'reject': the 4th create throws SESSION_LIMIT and writes nothing", async () => {
      const h = t();
      const m = h.manager({ maxSessionsPerUser: 3, onLimit: 'reject' });
      const userId = h.user();
      const created = [await m.create({ userId }), await m.create({ userId }), await m.create({ userId })];
      const before = await m.list(userId, { includeInactive: true });
      await expectError(() => m.create({ userId }), 'SESSION_LIMIT');
      expect(await m.list(userId, { includeInactive: true })).toEqual(before);
      for (const c of created) expect((await m.validate(c.token)).ok).toBe(true);
      // The limit is per user.
      await m.create({ userId: h.user('other') });
    });

    it('only active sessions count towards the limit (revoked and expired ones do not)', async () => {
      const h = t();
      const m = h.manager({ maxSessionsPerUser: 2, onLimit: 'reject' });
      const userId = h.user();
      const a = await m.create({ userId });
      await m.create({ userId });
      await m.revoke(a.session.id);
      await m.create({ userId });
      await expectError(() => m.create({ userId }), 'SESSION_LIMIT');
      h.clock.set(START + IDLE); // both active ones are now idle
      await m.create({ userId });
      await m.create({ userId });
      expect(await m.count(userId)).toBe(2);
    });

    it("'evict-oldest' revokes the least recently active session with reason 'limit'", async () => {
      const h = t();
      const m = h.manager({ maxSessionsPerUser: 3, onLimit: 'evict-oldest' });
      const events = recordEvents(m);
      const userId = h.user();
      const s1 = await m.create({ userId });
      h.clock.advance('1s');
      const s2 = await m.create({ userId });
      h.clock.advance('1s');
      const s3 = await m.create({ userId });
      h.clock.advance('1m');
      expect((await m.validate(s1.token)).ok).toBe(true); // s1 is now the most recently active
      h.clock.advance('1s');
      const now = h.clock.now().getTime();
      const s4 = await m.create({ userId });

      const evicted = await m.get(s2.session.id);
      expect(evicted).toMatchObject({ status: 'revoked', revokeReason: 'limit', revokedAt: now });
      expect(await m.validate(s2.token)).toEqual({ ok: false, reason: 'revoked' });
      expect(sortedIds(await m.list(userId))).toEqual(sortedIds([s1.session, s3.session, s4.session]));
      expect(eventsNamed(events, 'revoked')).toEqual([{ session: evicted, reason: 'limit' }]);
      expect(eventsNamed(events, 'created').map((e) => e.session.id)).toEqual(ids([s1.session, s2.session, s3.session, s4.session]));
    });

    it("'evict-oldest' breaks ties of lastActiveAt by evicting the earliest created", async () => {
      const h = t();
      const userId = h.user();
      const older = newRecord(userId, { createdAt: START - 2 * MINUTE, lastActiveAt: START, expiresAt: START + IDLE });
      const newer = newRecord(userId, { createdAt: START - MINUTE, lastActiveAt: START, expiresAt: START + IDLE });
      // Inserted newest first, so insertion order cannot explain the outcome.
      await h.store.insert(newer.record, START);
      await h.store.insert(older.record, START);
      const m = h.manager({ maxSessionsPerUser: 2 });
      const added = await m.create({ userId });
      expect((await m.get(older.record.id))?.status).toBe('revoked');
      expect(sortedIds(await m.list(userId))).toEqual([added.session.id, newer.record.id].sort());
    });

    it("'evict-oldest' revokes just enough sessions when the user is over a lower limit", async () => {
      const h = t();
      const loose = h.manager({ maxSessionsPerUser: 5 });
      const userId = h.user();
      const old: Session[] = [];
      for (let i = 0; i < 5; i++) {
        old.push((await loose.create({ userId })).session);
        h.clock.advance('1s');
      }
      const strict = h.manager({ maxSessionsPerUser: 2 });
      const events = recordEvents(strict);
      const added = await strict.create({ userId });
      expect(sortedIds(await strict.list(userId))).toEqual(sortedIds([old[4]!, added.session]));
      expect(sortedIds(eventsNamed(events, 'revoked').map((e) => e.session))).toEqual(sortedIds(old.slice(0, 4)));
    });
  });
}

function describeConcurrency(t: () => Harness, options: ConformanceOptions): void {
  type Created = { session: Session; token: string };

  /** Starts `n` creates round-robin over `managers` at once; records the order in which they resolved. */
  async function createAtOnce(managers: SessionManager[], userId: string, n: number) {
    const resolved: string[] = [];
    const settled = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        managers[i % managers.length]!.create({ userId }).then((created) => {
          resolved.push(created.session.id);
          return created;
        }),
      ),
    );
    const won = settled.filter((r): r is PromiseFulfilledResult<Created> => r.status === 'fulfilled').map((r) => r.value);
    const lost = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    return { won, lost, resolved };
  }

  async function expectRejectOutcome(m: SessionManager, userId: string, run: Awaited<ReturnType<typeof createAtOnce>>) {
    expect(run.won).toHaveLength(3);
    expect(run.lost).toHaveLength(47);
    for (const err of run.lost) {
      expect(err).toBeInstanceOf(SessionError);
      expect((err as SessionError).code).toBe('SESSION_LIMIT');
    }
    expect(sortedIds(await m.list(userId))).toEqual(sortedIds(run.won.map((c) => c.session)));
    expect(await m.list(userId, { includeInactive: true })).toHaveLength(3);
    expect(await m.count(userId)).toBe(3);
  }

  async function expectEvictOutcome(m: SessionManager, userId: string, run: Awaited<ReturnType<typeof createAtOnce>>, events: RecordedEvent[]) {
    expect(run.lost).toEqual([]);
    expect(run.won).toHaveLength(50);
    const active = await m.list(userId);
    expect(active).toHaveLength(3);
    expect(await m.count(userId)).toBe(3);
    const all = await m.list(userId, { includeInactive: true });
    expect(all).toHaveLength(50);
    const revoked = all.filter((s) => s.status === 'revoked');
    expect(revoked).toHaveLength(47);
    expect(revoked.every((s) => s.revokeReason === 'limit')).toBe(true);
    expect(ids(active)).toContain(run.resolved[run.resolved.length - 1]);
    // Each evicted session is reported once, with reason 'limit'.
    const evictions = eventsNamed(events, 'revoked');
    expect(evictions.every((e) => e.reason === 'limit')).toBe(true);
    expect(sortedIds(evictions.map((e) => e.session))).toEqual(sortedIds(revoked));
    for (const { token, session } of run.won) {
      const result = await m.validate(token);
      expect(result.ok ? 'active' : result.reason).toBe(ids(active).includes(session.id) ? 'active' : 'revoked');
    }
  }

  describe('concurrency', () => {
    it("50 parallel creates with maxSessionsPerUser 3 'reject': exactly 3 succeed and are the active ones", async () => {
      const h = t();
      const m = h.manager({ maxSessionsPerUser: 3, onLimit: 'reject' });
      const userId = h.user();
      await expectRejectOutcome(m, userId, await createAtOnce([m], userId, 50));
    });

    it("50 parallel creates with maxSessionsPerUser 3 'evict-oldest': all succeed, 3 stay active, 47 are revoked for 'limit'", async () => {
      const h = t();
      const m = h.manager({ maxSessionsPerUser: 3, onLimit: 'evict-oldest' });
      const events = recordEvents(m);
      const userId = h.user();
      await expectEvictOutcome(m, userId, await createAtOnce([m], userId, 50), events);
    });

    describe.runIf(options.createPeerStore !== undefined)('across two stores over the same data (createPeerStore)', () => {
      it('a session created through one store is seen, validated and revoked through the other', async () => {
        const h = t();
        const m1 = h.manager();
        const m2 = await h.peerManager();
        const userId = h.user();
        const { session, token } = await m1.create({ userId, metadata: { from: 'm1' } });
        expect(await m2.get(session.id)).toEqual(session);
        expect((await m2.validate(token)).ok).toBe(true);
        await m2.revoke(session.id);
        expect(await m1.validate(token)).toEqual({ ok: false, reason: 'revoked' });
      });

      it("25 + 25 parallel creates with 'reject': exactly 3 succeed across both", async () => {
        const h = t();
        const m1 = h.manager({ maxSessionsPerUser: 3, onLimit: 'reject' });
        const m2 = await h.peerManager({ maxSessionsPerUser: 3, onLimit: 'reject' });
        const userId = h.user();
        await expectRejectOutcome(m1, userId, await createAtOnce([m1, m2], userId, 50));
        expect(await m2.count(userId)).toBe(3);
      });

      it("25 + 25 parallel creates with 'evict-oldest': all succeed, 3 stay active, 47 are revoked for 'limit'", async () => {
        const h = t();
        const m1 = h.manager({ maxSessionsPerUser: 3, onLimit: 'evict-oldest' });
        const m2 = await h.peerManager({ maxSessionsPerUser: 3, onLimit: 'evict-oldest' });
        const events = recordEvents(m1, m2);
        const userId = h.user();
        await expectEvictOutcome(m1, userId, await createAtOnce([m1, m2], userId, 50), events);
        expect(await m2.count(userId)).toBe(3);
      });
    });
  });
}

function describeSecrets(t: () => Harness, options: ConformanceOptions): void {
  describe('token storage', () => {
    it.runIf(options.dump !== undefined)('the backend (dump) holds token hashes, never a token', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const created = await Promise.all(Array.from({ length: 4 }, (_, i) => m.create({ userId, metadata: { i } })));
      h.clock.advance('2m');
      await m.validate(created[0]!.token);
      const rotated = await m.rotate(created[1]!.token);
      await m.revoke(created[2]!.session.id);
      const tokens = [...created.map((c) => c.token), rotated.token];
      const live = [created[0]!.token, rotated.token, created[2]!.token, created[3]!.token];

      const dump = await options.dump!(h.store);
      expect(dump).toContain(created[0]!.session.id); // the dump really holds the data
      for (const token of tokens) {
        expect(dump).not.toContain(token);
        expect(dump).not.toContain(token.slice(TOKEN_PREFIX.length));
      }
      expect(live.some((token) => dump.includes(hashToken(token)))).toBe(true);
    });
  });
}

function describeEvents(t: () => Harness): void {
  describe('events', () => {
    it('created, extended, rotated, revoked and expired fire once each with their payloads', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const userId = h.user();
      const a = await m.create({ userId });
      const extended = await m.extend(a.session.id, '5m');
      const rotated = await m.rotate(a.token);
      const revoked = await m.revoke(a.session.id, { reason: 'logout' });
      const b = await m.create({ userId });
      h.clock.set(START + IDLE);
      await m.validate(b.token);

      expect(events).toEqual([
        { name: 'created', payload: { session: a.session } },
        { name: 'extended', payload: { session: extended } },
        { name: 'rotated', payload: { session: rotated.session } },
        { name: 'revoked', payload: { session: revoked, reason: 'logout' } },
        { name: 'created', payload: { session: b.session } },
        { name: 'expired', payload: { session: { ...b.session, status: 'expired' }, cause: 'idle' } },
      ]);
      expectNoSecrets(events, [a.token, rotated.token, b.token]);
    });

    it('a throwing or rejecting listener does not fail the operation and is reported to onListenerError', async () => {
      const h = t();
      const reported: Array<{ error: unknown; event: string }> = [];
      const m = h.manager({ onListenerError: (error, event) => reported.push({ error, event }) });
      const boom = new Error('listener failed');
      const later = new Error('async listener failed');
      m.on('created', () => {
        throw boom;
      });
      m.on('revoked', async () => {
        throw later;
      });
      const seen: string[] = [];
      m.on('created', ({ session }) => {
        seen.push(session.id);
      });

      const userId = h.user();
      const { session, token } = await m.create({ userId });
      expect(seen).toEqual([session.id]); // later listeners still run
      expect((await m.validate(token)).ok).toBe(true);
      await m.revoke(session.id);
      await new Promise((resolve) => setImmediate(resolve)); // let the rejected listener promise settle
      expect(reported).toEqual([
        { error: boom, event: 'created' },
        { error: later, event: 'revoked' },
      ]);
      expect((await m.get(session.id))?.status).toBe('revoked');
    });

    it('the function returned by on() unsubscribes', async () => {
      const h = t();
      const m = h.manager();
      const seen: string[] = [];
      const off = m.on('created', ({ session }) => {
        seen.push(session.id);
      });
      const userId = h.user();
      const first = await m.create({ userId });
      off();
      await m.create({ userId });
      expect(seen).toEqual([first.session.id]);
    });
  });
}

function describeClose(t: () => Harness): void {
  describe('close()', () => {
    it('after close() every call throws CLOSED, and close() may be called again', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const { session, token } = await m.create({ userId });
      await m.close();
      await m.close();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['create', () => m.create({ userId })],
        ['validate', () => m.validate(token)],
        ['extend', () => m.extend(session.id, '1m')],
        ['rotate', () => m.rotate(token)],
        ['update', () => m.update(session.id, { metadata: { a: 1 } })],
        ['revoke', () => m.revoke(session.id)],
        ['revokeAll', () => m.revokeAll(userId)],
        ['get', () => m.get(session.id)],
        ['list', () => m.list(userId)],
        ['count', () => m.count(userId)],
        ['stats', () => m.stats()],
        ['cleanup', () => m.cleanup()],
      ];
      for (const [label, call] of calls) await expectError(call, 'CLOSED', label);
    });
  });
}

function activityRow(overrides: Partial<ActivityRecord> & Pick<ActivityRecord, 'id' | 'sessionId' | 'ts'>): ActivityRecord {
  return {
    userId: null,
    type: 'request',
    category: 'data',
    method: 'GET',
    path: '/api/items',
    status: 200,
    durationMs: 5,
    bytesIn: 0,
    bytesOut: 512,
    resourceType: null,
    resourceId: null,
    details: null,
    ...overrides,
  };
}

function describeActivity(t: () => Harness): void {
  describe('activity', () => {
    it('insertActivity/listActivity: every field round-trips; newest first; filters and keyset position', async () => {
      const h = t();
      const userId = h.user();
      const rows = [
        activityRow({ id: 'act_a', sessionId: 'ses_1', userId, ts: START, category: 'auth', method: 'POST', path: '/login', details: { note: 'ünïcödé 🙂', n: 1, nested: { ok: true } } }),
        activityRow({ id: 'act_b', sessionId: 'ses_1', userId, ts: START + MINUTE, resourceType: 'conversation', resourceId: '123' }),
        activityRow({ id: 'act_c', sessionId: 'ses_2', userId, ts: START + MINUTE }),
        activityRow({ id: 'act_d', sessionId: 'ses_3', userId: h.user('other'), ts: START + 2 * MINUTE }),
        activityRow({ id: 'act_e', sessionId: 'ses_2', userId, ts: START + 3 * MINUTE, method: null, path: null, status: null, durationMs: null, bytesIn: null, bytesOut: null }),
      ];
      await h.store.insertActivity(rows);
      const byUser = await h.store.listActivity({ userId, limit: 10 });
      expect(byUser.map((r) => r.id)).toEqual(['act_e', 'act_c', 'act_b', 'act_a']);
      expect(byUser[3]).toEqual(rows[0]);
      expect(byUser[0]).toEqual(rows[4]);
      expect((await h.store.listActivity({ sessionId: 'ses_1', limit: 10 })).map((r) => r.id)).toEqual(['act_b', 'act_a']);
      expect((await h.store.listActivity({ userId, category: 'auth', limit: 10 })).map((r) => r.id)).toEqual(['act_a']);
      expect((await h.store.listActivity({ userId, since: START + MINUTE, until: START + 3 * MINUTE, limit: 10 })).map((r) => r.id)).toEqual(['act_c', 'act_b']);
      expect((await h.store.listActivity({ userId, before: { ts: START + MINUTE, id: 'act_c' }, limit: 10 })).map((r) => r.id)).toEqual(['act_b', 'act_a']);
      expect((await h.store.listActivity({ userId, limit: 2 })).map((r) => r.id)).toEqual(['act_e', 'act_c']);
    });

    it('insertActivity skips rows whose id is already stored, so a retried batch adds nothing twice', async () => {
      const h = t();
      const row = activityRow({ id: 'act_same', sessionId: 'ses_x', userId: h.user(), ts: START });
      await h.store.insertActivity([row]);
      await h.store.insertActivity([row, { ...row, id: 'act_new' }]);
      expect((await h.store.listActivity({ sessionId: 'ses_x', limit: 10 })).map((r) => r.id)).toEqual(['act_same', 'act_new'].sort().reverse());
    });

    it('deleteActivityBefore deletes at most `limit` rows older than the cutoff', async () => {
      const h = t();
      const userId = h.user();
      await h.store.insertActivity(Array.from({ length: 5 }, (_, i) => activityRow({ id: `act_${i}`, sessionId: 'ses_d', userId, ts: START + i * HOUR })));
      expect(await h.store.deleteActivityBefore(START + 3 * HOUR, 2)).toBe(2);
      expect(await h.store.deleteActivityBefore(START + 3 * HOUR, 2)).toBe(1);
      expect(await h.store.deleteActivityBefore(START + 3 * HOUR, 2)).toBe(0);
      expect((await h.store.listActivity({ userId, limit: 10 })).map((r) => r.ts)).toEqual([START + 4 * HOUR, START + 3 * HOUR]);
    });

    it('record() → flush() → list() pages through every row once, newest first, with the user resolved from a bare session id', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const { session } = await m.create({ userId });
      for (let i = 0; i < 23; i++) {
        m.activity.record(i % 2 === 0 ? session : session.id, { method: 'GET', path: `/api/v1/items/${i}`, status: 200, at: START + i * SECOND });
      }
      expect(m.activity.stats()).toMatchObject({ queued: 23, written: 0 });
      await m.activity.flush();
      expect(m.activity.stats()).toMatchObject({ queued: 0, written: 23, dropped: 0, failed: 0 });
      const seen: ActivityRecord[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const result = await m.activity.list({ userId, limit: 5, ...(cursor ? { cursor } : {}) });
        seen.push(...result.items);
        if (result.nextCursor === null) break;
        cursor = result.nextCursor;
      }
      expect(seen.map((r) => r.resourceId)).toEqual(Array.from({ length: 23 }, (_, i) => String(22 - i)));
      expect(seen.every((r) => r.userId === userId && r.sessionId === session.id && r.resourceType === 'item' && r.category === 'data')).toBe(true);
      const bySession = await m.activity.list({ sessionId: session.id, since: START + 20 * SECOND, limit: 50 });
      expect(bySession.items.map((r) => r.resourceId)).toEqual(['22', '21', '20']);
      expect(bySession.nextCursor).toBeNull();
    });

    it('stores no token, query secret, email or password that a request carried', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const { session, token } = await m.create({ userId });
      m.activity.record(session, {
        method: 'POST',
        path: `/reset-password/${token}?email=someone@example.com&page=2`,
        details: { password: 'hunter2', authorization: `Bearer ${token}`, comment: `mail me at someone@example.com, card 4111 1111 1111 1111, token ${token}` },
      });
      await m.activity.flush();
      const [row] = (await m.activity.list({ userId })).items;
      const text = JSON.stringify(row);
      for (const secret of [token, token.slice(4), 'hunter2', 'someone@example.com', '4111 1111 1111 1111', 'page=2']) expect(text).not.toContain(secret);
      expect(row).toMatchObject({ category: 'auth', path: '/reset-password/[redacted:token]' });
    });

    it('close() writes the activity still queued before it closes the store', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user() });
      for (let i = 0; i < 6; i++) m.activity.record(session, { path: '/api/things' });
      expect(h.calls('insertActivity')).toBe(0);
      await m.close();
      expect(h.calls('insertActivity')).toBe(1);
      expect(m.activity.stats()).toMatchObject({ queued: 0, written: 6 });
    });

    it('cleanup({ activityOlderThan }) prunes old rows in batches', async () => {
      const h = t();
      const userId = h.user();
      const m = h.manager();
      const { session } = await m.create({ userId });
      for (let i = 0; i < 6; i++) m.activity.record(session, { path: '/api/things', at: START - i * 24 * HOUR });
      await m.activity.flush();
      h.clock.set(START + HOUR);
      // Rows of START-2d .. START-5d are older than 36 h: 4 rows, in batches of 3.
      const deleteCalls = h.calls('deleteActivityBefore');
      await m.cleanup({ activityOlderThan: '36h', batchSize: 3 });
      expect(h.calls('deleteActivityBefore') - deleteCalls).toBe(2);
      expect((await m.activity.list({ userId })).items.map((r) => r.ts)).toEqual([START, START - 24 * HOUR]);
    });

    it('list() rejects a forged cursor, both or neither of sessionId/userId, and a bad limit with INVALID_ARGUMENT', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      await expectError(() => m.activity.list({ userId, cursor: 'not-a-cursor' }), 'INVALID_ARGUMENT');
      await expectError(() => m.activity.list({ userId, sessionId: 'ses_x' }), 'INVALID_ARGUMENT');
      await expectError(() => m.activity.list({}), 'INVALID_ARGUMENT');
      await expectError(() => m.activity.list({ userId, limit: 0 }), 'INVALID_ARGUMENT');
      await expectError(() => m.activity.list({ userId, limit: 1001 }), 'INVALID_ARGUMENT');
      expect(() => m.activity.record('', {})).toThrow(SessionError);
    });
  });
}

function describeAlertStorage(t: () => Harness): void {
  describe('alert storage', () => {
    const occurrence = (userId: string, overrides: Partial<AlertOccurrence> = {}): AlertOccurrence => ({
      id: `alr_${randomBytes(8).toString('hex')}`,
      userId,
      sessionId: 'ses_1',
      type: 'sessionHijack',
      severity: 'high',
      evidence: { ip: '198.51.100.0', note: 'ünïcödé 🙂' },
      dedupKey: `sessionHijack:${userId}`,
      at: START,
      ...overrides,
    });

    it('raiseAlert creates an open alert with count 1, then folds repeats inside the window', async () => {
      const h = t();
      const userId = h.user();
      const first = await h.store.raiseAlert(occurrence(userId), 10 * MINUTE);
      expect(first.created).toBe(true);
      expect(first.alert).toMatchObject({ userId, sessionId: 'ses_1', type: 'sessionHijack', severity: 'high', status: 'open', count: 1, createdAt: START, lastSeenAt: START, updatedAt: null, note: null });
      expect(first.alert.evidence).toEqual({ ip: '198.51.100.0', note: 'ünïcödé 🙂' });
      const again = await h.store.raiseAlert(occurrence(userId, { at: START + 5 * MINUTE, severity: 'critical', evidence: { ip: '203.0.113.0' } }), 10 * MINUTE);
      expect(again).toMatchObject({ created: false, alert: { id: first.alert.id, count: 2, severity: 'critical', lastSeenAt: START + 5 * MINUTE, createdAt: START } });
      expect(again.alert.evidence).toEqual({ ip: '203.0.113.0' });
      // A lower severity never lowers the alert's.
      expect((await h.store.raiseAlert(occurrence(userId, { at: START + 6 * MINUTE, severity: 'low' }), 10 * MINUTE)).alert.severity).toBe('critical');
      // The window runs from the last occurrence: 15 minutes after the 6-minute one is outside it.
      const late = await h.store.raiseAlert(occurrence(userId, { at: START + 21 * MINUTE }), 10 * MINUTE);
      expect(late.created).toBe(true);
      expect(late.alert.id).not.toBe(first.alert.id);
    });

    it('a resolved alert is never folded into; an acknowledged one is', async () => {
      const h = t();
      const userId = h.user();
      const { alert } = await h.store.raiseAlert(occurrence(userId), HOUR);
      await h.store.setAlertStatus(alert.id, 'acknowledged', START + MINUTE);
      expect((await h.store.raiseAlert(occurrence(userId, { at: START + 2 * MINUTE }), HOUR)).created).toBe(false);
      await h.store.setAlertStatus(alert.id, 'resolved', START + 3 * MINUTE, 'user confirmed the new laptop');
      expect((await h.store.raiseAlert(occurrence(userId, { at: START + 4 * MINUTE }), HOUR)).created).toBe(true);
    });

    it('20 concurrent occurrences of one dedup key produce one alert with count 20', async () => {
      const h = t();
      const userId = h.user();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => h.store.raiseAlert(occurrence(userId, { at: START + i }), HOUR)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const [only, ...rest] = await h.store.listAlerts({ userId, limit: 10 });
      expect(rest).toEqual([]);
      expect(only).toMatchObject({ count: 20, lastSeenAt: START + 19 });
    });

    it('setAlertStatus records status, time and note; an unknown id is null', async () => {
      const h = t();
      const userId = h.user();
      const { alert } = await h.store.raiseAlert(occurrence(userId), HOUR);
      expect(await h.store.setAlertStatus(alert.id, 'resolved', START + HOUR, 'false positive')).toMatchObject({ id: alert.id, status: 'resolved', updatedAt: START + HOUR, note: 'false positive' });
      expect(await h.store.setAlertStatus('alr_missing', 'resolved', START)).toBeNull();
    });

    it('setAlertStatus moves open → acknowledged → resolved and never out of resolved', async () => {
      const h = t();
      const userId = h.user();
      const { alert } = await h.store.raiseAlert(occurrence(userId), HOUR);
      const acked = await h.store.setAlertStatus(alert.id, 'acknowledged', START + MINUTE, 'on it');
      expect(acked).toMatchObject({ status: 'acknowledged', updatedAt: START + MINUTE, note: 'on it' });
      // Acknowledging again changes nothing, not even the time or note.
      expect(await h.store.setAlertStatus(alert.id, 'acknowledged', START + 2 * MINUTE, 'again')).toEqual(acked);
      const resolved = await h.store.setAlertStatus(alert.id, 'resolved', START + 3 * MINUTE);
      // A resolve without a note keeps the earlier one.
      expect(resolved).toMatchObject({ status: 'resolved', updatedAt: START + 3 * MINUTE, note: 'on it' });
      expect(await h.store.setAlertStatus(alert.id, 'acknowledged', START + 4 * MINUTE)).toEqual(resolved);
      expect(await h.store.setAlertStatus(alert.id, 'resolved', START + 5 * MINUTE, 'twice')).toEqual(resolved);
      // An open alert can be resolved directly.
      const other = (await h.store.raiseAlert(occurrence(userId, { dedupKey: 'other' }), HOUR)).alert;
      expect(await h.store.setAlertStatus(other.id, 'resolved', START + 6 * MINUTE)).toMatchObject({ status: 'resolved', updatedAt: START + 6 * MINUTE });
    });

    it('listAlerts filters by user, status, severity and time, newest first, with a keyset position', async () => {
      const h = t();
      const userId = h.user();
      const other = h.user('other');
      const a = (await h.store.raiseAlert(occurrence(userId, { dedupKey: 'a', severity: 'info', at: START }), MINUTE)).alert;
      const b = (await h.store.raiseAlert(occurrence(userId, { dedupKey: 'b', severity: 'high', at: START + HOUR }), MINUTE)).alert;
      const c = (await h.store.raiseAlert(occurrence(userId, { dedupKey: 'c', severity: 'high', at: START + 2 * HOUR }), MINUTE)).alert;
      await h.store.raiseAlert(occurrence(other, { dedupKey: 'd', at: START + 3 * HOUR }), MINUTE);
      await h.store.setAlertStatus(b.id, 'resolved', START + 4 * HOUR);
      const ids = (alerts: { id: string }[]) => alerts.map((x) => x.id);
      expect(ids(await h.store.listAlerts({ userId, limit: 10 }))).toEqual([c.id, b.id, a.id]);
      expect(ids(await h.store.listAlerts({ userId, status: 'open', limit: 10 }))).toEqual([c.id, a.id]);
      expect(ids(await h.store.listAlerts({ userId, severity: 'high', limit: 10 }))).toEqual([c.id, b.id]);
      expect(ids(await h.store.listAlerts({ userId, since: START + HOUR, limit: 10 }))).toEqual([c.id, b.id]);
      expect(ids(await h.store.listAlerts({ userId, before: { createdAt: c.createdAt, id: c.id }, limit: 1 }))).toEqual([b.id]);
      expect(ids(await h.store.listAlerts({ userId, limit: 1 }))).toEqual([c.id]);
    });

    it('an alert about no user (userId null) round-trips, folds, and is listed without a user filter only', async () => {
      const h = t();
      const userId = h.user();
      const dedupKey = `tokenGuessing:${h.user('client')}`;
      const guess = occurrence(userId, { userId: null, sessionId: null, type: 'tokenGuessing', dedupKey });
      const first = await h.store.raiseAlert(guess, HOUR);
      expect(first.created).toBe(true);
      expect(first.alert).toEqual({
        id: guess.id,
        userId: null,
        sessionId: null,
        type: 'tokenGuessing',
        severity: 'high',
        status: 'open',
        createdAt: START,
        lastSeenAt: START,
        evidence: guess.evidence,
        dedupKey,
        count: 1,
        updatedAt: null,
        note: null,
      });
      const folded = await h.store.raiseAlert({ ...guess, id: 'alr_unused', at: START + MINUTE }, HOUR);
      expect(folded).toEqual({ created: false, alert: { ...first.alert, lastSeenAt: START + MINUTE, count: 2 } });
      // Other tests may share the backend: look for this alert among all of them.
      const all = await h.store.listAlerts({ limit: 1000 });
      expect(all.filter((a) => a.id === guess.id)).toEqual([folded.alert]);
      await h.store.raiseAlert(occurrence(userId), HOUR);
      expect((await h.store.listAlerts({ userId, limit: 10 })).map((a) => a.userId)).toEqual([userId]);
    });

    it('deleteAlertsBefore deletes at most `limit` alerts last seen before the cutoff or resolved before it, and keeps a recurring open one', async () => {
      const h = t();
      const userId = h.user();
      const cutoff = START + 2 * HOUR;
      const raise = async (dedupKey: string, at: number) => (await h.store.raiseAlert(occurrence(userId, { dedupKey, at }), DAY)).alert;
      const stale = await raise('stale', START);
      // Acknowledged after the cutoff, but last seen before it: over.
      const acknowledged = await raise('acknowledged', START + MINUTE);
      await h.store.setAlertStatus(acknowledged.id, 'acknowledged', START + 3 * HOUR);
      const resolved = await raise('resolved', START + 30 * MINUTE);
      await h.store.setAlertStatus(resolved.id, 'resolved', START + HOUR);
      // Seen after the cutoff (a clock ahead elsewhere), resolved before it: over.
      const resolvedBefore = await raise('resolved-before', START + 3 * HOUR);
      await h.store.setAlertStatus(resolvedBefore.id, 'resolved', START + HOUR);
      // Kept: created long ago but still recurring; last seen exactly at the cutoff; resolved after it.
      const recurring = await raise('recurring', START);
      await raise('recurring', START + 3 * HOUR);
      const atCutoff = await raise('at-cutoff', cutoff);
      const resolvedAfter = await raise('resolved-after', cutoff + MINUTE);
      await h.store.setAlertStatus(resolvedAfter.id, 'resolved', cutoff + 2 * MINUTE);

      expect(await h.store.deleteAlertsBefore(cutoff, 3)).toBe(3);
      expect(await h.store.deleteAlertsBefore(cutoff, 3)).toBe(1);
      expect(await h.store.deleteAlertsBefore(cutoff, 3)).toBe(0);
      const left = await h.store.listAlerts({ userId, limit: 100 });
      expect(sortedIds(left)).toEqual(sortedIds([recurring, atCutoff, resolvedAfter]));
      for (const gone of [stale, acknowledged, resolved, resolvedBefore]) expect(left.map((a) => a.id)).not.toContain(gone.id);
      expect(left.find((a) => a.id === recurring.id)).toMatchObject({ count: 2, lastSeenAt: START + 3 * HOUR });
      // An occurrence of a deleted alert's key, inside its window, starts a new alert.
      const again = await h.store.raiseAlert(occurrence(userId, { dedupKey: 'stale', at: cutoff }), DAY);
      expect(again).toMatchObject({ created: true, alert: { count: 1 } });
      expect(again.alert.id).not.toBe(stale.id);
    });
  });
}

function describeRotatedTokens(t: () => Harness): void {
  describe('rotated tokens', () => {
    /** Inserts an active session directly; its token hash is `hash`. */
    async function activeSession(h: Harness, userId = h.user()) {
      const { record } = newRecord(userId, { createdAt: START, expiresAt: START + IDLE });
      const { session } = await h.store.insert(record, START);
      return { session, hash: record.tokenHash };
    }
    const newHash = (): string => hashToken(generateToken());

    it('rotateToken remembers each replaced hash with its session, user and time; current and unknown hashes are not rotated ones', async () => {
      const h = t();
      const userId = h.user();
      const { session, hash } = await activeSession(h, userId);
      const second = newHash();
      const third = newHash();
      expect(await h.store.rotateToken(hash, second, START + 10 * SECOND, START + 10 * SECOND + IDLE)).toMatchObject({ id: session.id });
      expect(await h.store.findRotatedToken(hash)).toEqual({ sessionId: session.id, userId, rotatedAt: START + 10 * SECOND });
      expect(await h.store.findRotatedToken(second)).toBeNull();
      expect(await h.store.rotateToken(second, third, START + 20 * SECOND, START + 20 * SECOND + IDLE)).toMatchObject({ id: session.id });
      expect(await h.store.findRotatedToken(hash)).toEqual({ sessionId: session.id, userId, rotatedAt: START + 10 * SECOND });
      expect(await h.store.findRotatedToken(second)).toEqual({ sessionId: session.id, userId, rotatedAt: START + 20 * SECOND });
      expect(await h.store.findRotatedToken(third)).toBeNull();
      expect(await h.store.findRotatedToken(newHash())).toBeNull();
      // A rotated-away hash is remembered, not valid.
      expect(await h.store.findByTokenHash(hash)).toBeNull();
    });

    it('a rotation that fails records nothing (revoked, expired, unknown hash)', async () => {
      const h = t();
      const revoked = await activeSession(h);
      const expired = await activeSession(h);
      await h.store.revoke(revoked.session.id, 'logout', START + 1);
      const now = START + IDLE;
      const unknown = newHash();
      for (const hash of [revoked.hash, expired.hash, unknown]) {
        expect(await h.store.rotateToken(hash, newHash(), now, now + IDLE)).toBeNull();
        expect(await h.store.findRotatedToken(hash)).toBeNull();
      }
      expect(await h.store.deleteRotatedTokensBefore(now + DAY, 100)).toBe(0);
    });

    it('of 10 concurrent rotations of one hash exactly one succeeds, and exactly one record exists, the winner\'s', async () => {
      const h = t();
      const userId = h.user();
      const { session, hash } = await activeSession(h, userId);
      const nexts = Array.from({ length: 10 }, newHash);
      const results = await Promise.all(nexts.map((next, i) => h.store.rotateToken(hash, next, START + i, START + i + IDLE)));
      const winners = results.flatMap((result, i) => (result === null ? [] : [i]));
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      expect(await h.store.findRotatedToken(hash)).toEqual({ sessionId: session.id, userId, rotatedAt: START + winner });
      for (const [i, next] of nexts.entries()) {
        expect(await h.store.findRotatedToken(next)).toBeNull();
        expect((await h.store.findByTokenHash(next))?.id ?? null).toBe(i === winner ? session.id : null);
      }
      expect(await h.store.deleteRotatedTokensBefore(START + DAY, 100)).toBe(1);
      expect(await h.store.findRotatedToken(hash)).toBeNull();
    });

    it('a record outlives its session: deleting ended sessions leaves it', async () => {
      const h = t();
      const userId = h.user();
      const { session, hash } = await activeSession(h, userId);
      await h.store.rotateToken(hash, newHash(), START + MINUTE, START + MINUTE + IDLE);
      await h.store.revoke(session.id, 'logout', START + 2 * MINUTE);
      expect(await h.store.deleteEndedBefore(START + HOUR, 100)).toBe(1);
      expect(await h.store.findById(session.id)).toBeNull();
      expect(await h.store.findRotatedToken(hash)).toEqual({ sessionId: session.id, userId, rotatedAt: START + MINUTE });
    });

    it('deleteRotatedTokensBefore deletes at most `limit` records rotated before the cutoff', async () => {
      const h = t();
      const hashes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { hash } = await activeSession(h);
        await h.store.rotateToken(hash, newHash(), START + i * MINUTE, START + i * MINUTE + IDLE);
        hashes.push(hash);
      }
      expect(await h.store.deleteRotatedTokensBefore(START + 3 * MINUTE, 2)).toBe(2);
      expect(await h.store.deleteRotatedTokensBefore(START + 3 * MINUTE, 2)).toBe(1);
      expect(await h.store.deleteRotatedTokensBefore(START + 3 * MINUTE, 2)).toBe(0);
      const left = await Promise.all(hashes.map((hash) => h.store.findRotatedToken(hash)));
      expect(left.map((record) => record?.rotatedAt ?? null)).toEqual([null, null, null, START + 3 * MINUTE, START + 4 * MINUTE]);
    });

    it('600 lookups at once (a guessing flood), repeated and unknown hashes among them, each get their own answer', async () => {
      const h = t();
      const rotated: { hash: string; sessionId: string }[] = [];
      for (let i = 0; i < 3; i++) {
        const { session, hash } = await activeSession(h);
        await h.store.rotateToken(hash, newHash(), START + i, START + i + IDLE);
        rotated.push({ hash, sessionId: session.id });
      }
      const asked = Array.from({ length: 600 }, (_, i) => (i % 50 === 0 ? rotated[(i / 50) % 3]! : { hash: newHash(), sessionId: null }));
      const answers = await Promise.all(asked.map(({ hash }) => h.store.findRotatedToken(hash)));
      expect(answers.map((answer) => answer?.sessionId ?? null)).toEqual(asked.map(({ sessionId }) => sessionId));
    });
  });
}

function describeCounters(t: () => Harness, options: ConformanceOptions): void {
  describe('hit counters', () => {
    // With a 10-minute window a bucket is one minute, and START is a bucket boundary.
    const WINDOW = 10 * MINUTE;

    it('counts the hits of the current bucket and the nine before it, this one included', async () => {
      const h = t();
      const key = h.user('key');
      const hit = (at: number) => h.store.hitCounter(key, at, WINDOW);
      expect(await hit(START)).toBe(1);
      expect(await hit(START + 30 * SECOND)).toBe(2);
      expect(await hit(START + 9 * MINUTE)).toBe(3);
      expect(await hit(START + 10 * MINUTE - 1)).toBe(4);
      // Bucket 10: buckets 1..10 count; the two hits of bucket 0 are forgotten.
      expect(await hit(START + 10 * MINUTE)).toBe(3);
      // Bucket 19: buckets 10..19; bucket 9's hits are forgotten.
      expect(await hit(START + 19 * MINUTE + 59 * SECOND)).toBe(2);
      expect(await hit(START + 40 * MINUTE)).toBe(1);
    });

    it('buckets are ceil(windowMs / 10) ms long (a 95 ms window has 10 ms buckets)', async () => {
      const h = t();
      const key = h.user('key');
      const hit = (at: number) => h.store.hitCounter(key, at, 95);
      expect(await hit(START)).toBe(1);
      expect(await hit(START + 99)).toBe(2); // bucket 9
      expect(await hit(START + 100)).toBe(2); // bucket 10: bucket 0 is out
      expect(await hit(START + 109)).toBe(3);
      expect(await hit(START + 199)).toBe(3); // bucket 19: buckets 10..19
      expect(await hit(START + 200)).toBe(2); // bucket 20: buckets 11..20
    });

    it('hitCounter adds `hits` at once, counted as that many single hits', async () => {
      const h = t();
      const key = h.user('key');
      expect(await h.store.hitCounter(key, START, WINDOW, 5)).toBe(5);
      expect(await h.store.hitCounter(key, START + MINUTE, WINDOW)).toBe(6);
      expect(await h.store.hitCounter(key, START + 2 * MINUTE, WINDOW, 20)).toBe(26);
      expect(await h.store.hitCounter(key, START + 2 * MINUTE, WINDOW, 3)).toBe(29);
      // Bucket 10: the five hits of bucket 0 are out of the window.
      expect(await h.store.hitCounter(key, START + 10 * MINUTE, WINDOW, 2)).toBe(26);
    });

    it('keys are counted independently', async () => {
      const h = t();
      const a = h.user('key-a');
      const b = h.user('key-b');
      expect(await h.store.hitCounter(a, START, WINDOW)).toBe(1);
      expect(await h.store.hitCounter(b, START, WINDOW)).toBe(1);
      expect(await h.store.hitCounter(a, START + MINUTE, WINDOW)).toBe(2);
      expect(await h.store.hitCounter(a, START + 2 * MINUTE, WINDOW)).toBe(3);
      expect(await h.store.hitCounter(b, START + 2 * MINUTE, WINDOW)).toBe(2);
    });

    it('20 concurrent hits of one key are all counted', async () => {
      const h = t();
      const key = h.user('key');
      const counts = await Promise.all(Array.from({ length: 20 }, () => h.store.hitCounter(key, START + 5 * SECOND, WINDOW)));
      expect(Math.max(...counts)).toBe(20);
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
      expect(await h.store.hitCounter(key, START + 6 * SECOND, WINDOW)).toBe(21);
    });

    it.runIf(options.createPeerStore !== undefined)('10 + 10 concurrent hits through two stores over the same data are all counted (createPeerStore)', async () => {
      const h = t();
      const peer = await h.peerStore();
      const key = h.user('key');
      const counts = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? h.store : peer).hitCounter(key, START + 5 * SECOND, WINDOW)),
      );
      expect(Math.max(...counts)).toBe(20);
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
      expect(await peer.hitCounter(key, START + 6 * SECOND, WINDOW)).toBe(21);
    });

    it('deleteCountersBefore deletes at most `limit` buckets that no window reaching the cutoff counts, and no live one', async () => {
      const h = t();
      const a = h.user('key-a'); // 1-minute buckets: bucket b counts until START + (b + 10) min
      const b = h.user('key-b'); // 6-minute buckets: bucket b counts until START + (b + 10) * 6 min
      expect(await h.store.hitCounter(a, START, WINDOW)).toBe(1);
      expect(await h.store.hitCounter(a, START + 3 * MINUTE, WINDOW)).toBe(2);
      expect(await h.store.hitCounter(b, START + 3 * MINUTE, HOUR)).toBe(1);
      expect(await h.store.deleteCountersBefore(START + 10 * MINUTE - 1, 100)).toBe(0);
      // a's bucket 0 ends its life at START + 10 min; nothing else does.
      expect(await h.store.deleteCountersBefore(START + 10 * MINUTE, 100)).toBe(1);
      expect(await h.store.deleteCountersBefore(START + 10 * MINUTE, 100)).toBe(0);
      expect(await h.store.hitCounter(a, START + 10 * MINUTE, WINDOW)).toBe(2);
      expect(await h.store.hitCounter(b, START + 10 * MINUTE, HOUR)).toBe(2);
      // Expired at START + 1 h: a's buckets 3 and 10, and b's bucket 0; b's bucket 1 lives on.
      expect(await h.store.deleteCountersBefore(START + HOUR, 2)).toBe(2);
      expect(await h.store.deleteCountersBefore(START + HOUR, 2)).toBe(1);
      expect(await h.store.deleteCountersBefore(START + HOUR, 2)).toBe(0);
      expect(await h.store.hitCounter(b, START + HOUR, HOUR)).toBe(2);
      expect(await h.store.hitCounter(a, START + HOUR, WINDOW)).toBe(1);
    });
  });
}
