import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, type Session, type SessionErrorCode, type SessionManager, type SessionStore } from '../../src/index.js';
import { manualClock, type ManualClock } from '../../src/testing/index.js';
import {
  assertNoPrototypePollution,
  canonical,
  chainEntry,
  clientHintHeaders,
  edgeNumber,
  expectDocumented,
  fuzzParams,
  fuzzTimeout,
  hostileKey,
  hostileObject,
  hostileString,
  hostileValue,
  nearToken,
  pick,
  userAgent,
} from '../support/fuzz.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

// The manager's public API in process, on real stores: every method gets hostile arguments mixed
// with real ids, tokens and cursors of a fixture that the run keeps using (so valid calls change
// state and later calls meet it). Properties: a call either succeeds as documented or throws a
// SessionError with a code the method documents, never a TypeError/RangeError or a driver error;
// after a rejected call the users' sessions (every field, inactive ones too) and counts are
// unchanged; queued activity always reaches the store (no batch a bad event poisons).
// Budget of this file: 25,000 (memory) + 12,000 (SQLite) + 3,000 (Postgres) = 40,000 cases.

const pgReachable = serviceGate('PostgreSQL', await probePostgres());
const pgPool = pgReachable ? new pg.Pool({ connectionString: POSTGRES_URL, max: 4 }) : null;
const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-fuzz-'));
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await pgPool?.query(`drop schema if exists ${schema} cascade`);
  await pgPool?.end();
  rmSync(dir, { recursive: true, force: true });
});

interface StoreCase {
  name: string;
  runs: number;
  /** Rough cost of one case, for the test's timeout. */
  perCaseMs: number;
  make(): Promise<SessionStore>;
}

const STORES: StoreCase[] = [
  { name: 'memory', runs: 25_000, perCaseMs: 0.5, make: async () => memoryStore() },
  {
    name: 'sqlite',
    runs: 12_000,
    perCaseMs: 1.5,
    make: async () => {
      const store = sqliteStore({ filename: join(dir, `fuzz-${randomBytes(4).toString('hex')}.db`) });
      await store.migrate();
      return store;
    },
  },
];
if (pgPool !== null) {
  STORES.push({
    name: 'postgres',
    runs: 3_000,
    perCaseMs: 6,
    make: async () => {
      const schema = `sk_fuzz_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      const store = postgresStore({ pool: pgPool, schema });
      await store.migrate();
      return store;
    },
  });
}

/** What each method documents that it throws (INVALID_ARGUMENT stands for "not what the method accepts"). */
const DOCUMENTED: Record<Op['op'], readonly SessionErrorCode[]> = {
  create: ['INVALID_ARGUMENT', 'INVALID_METADATA', 'SESSION_LIMIT'],
  validate: ['INVALID_TOKEN'],
  rotate: ['INVALID_TOKEN', 'SESSION_NOT_FOUND'],
  extend: ['SESSION_NOT_FOUND', 'SESSION_INACTIVE', 'INVALID_ARGUMENT'],
  update: ['SESSION_NOT_FOUND', 'SESSION_INACTIVE', 'INVALID_METADATA', 'INVALID_ARGUMENT'],
  revoke: ['SESSION_NOT_FOUND', 'INVALID_ARGUMENT'],
  revokeAll: ['INVALID_ARGUMENT'],
  get: ['INVALID_ARGUMENT'],
  list: ['INVALID_ARGUMENT'],
  count: ['INVALID_ARGUMENT'],
  stats: ['INVALID_ARGUMENT'],
  cleanup: ['INVALID_ARGUMENT'],
  record: ['INVALID_ARGUMENT'],
  activityList: ['INVALID_ARGUMENT'],
  alertsList: ['INVALID_ARGUMENT'],
  acknowledge: ['ALERT_NOT_FOUND', 'INVALID_ARGUMENT'],
  resolve: ['ALERT_NOT_FOUND', 'INVALID_ARGUMENT'],
  advance: [],
};

const INVALID_REASONS = ['unknown', 'expired', 'idle', 'revoked', 'malformed'];
const FIXTURE_USERS = ['alice', 'bob'];

// --- references into the fixture, resolved when a case runs ---

type RefKind = 'sessionId' | 'session' | 'userId' | 'token' | 'alertId' | 'activityCursor' | 'alertCursor';

class Ref {
  constructor(
    readonly kind: RefKind,
    readonly index: number,
  ) {}
  [fc.toStringMethod](): string {
    return `ref(${this.kind}#${this.index})`;
  }
}

const ref = (kind: RefKind) => fc.nat().map((i) => new Ref(kind, i));
const either = <T,>(real: fc.Arbitrary<T>, weight = 3) => fc.oneof({ arbitrary: real, weight }, { arbitrary: hostileValue(), weight: 2 });
const optional = <T,>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });

const sessionId = either(ref('sessionId'));
const userId = fc.oneof({ arbitrary: ref('userId'), weight: 3 }, { arbitrary: fc.constantFrom('carol', 'dave'), weight: 1 }, { arbitrary: hostileValue(), weight: 2 });
const token = fc.oneof({ arbitrary: ref('token'), weight: 3 }, { arbitrary: nearToken(), weight: 2 }, { arbitrary: hostileValue(), weight: 2 });
const duration = fc.oneof(
  hostileValue(),
  fc.constantFrom<unknown>('1m', '30m', '1h', '7d', 1, 60_000, '0ms', 0, '104249991d', '104249992d'),
  fc.stringMatching(/^\d{1,10}(ms|s|m|h|d)$/),
);
const metadata = fc.oneof(
  hostileObject(),
  hostileValue(),
  fc.constantFrom<unknown>({}, { cart: 3 }, { cart: null }, { nested: { a: [1, 2, { b: 'c' }] } }),
  fc.dictionary(hostileKey(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
);
const context = fc.oneof(
  fc.constant(undefined),
  fc.record({ ip: either(chainEntry()), userAgent: either(userAgent()), headers: either(clientHintHeaders()) }, { requiredKeys: [] }),
  hostileValue(),
);
const reasonOptions = fc.oneof(fc.constant(undefined), fc.record({ reason: fc.oneof(hostileString(), fc.constantFrom('logout', 'x'.repeat(64), 'x'.repeat(65))) }, { requiredKeys: [] }), hostileValue());
const instant = fc.oneof(edgeNumber(), fc.constantFrom<unknown>(new Date('2030-01-01T00:00:00Z'), new Date(Number.NaN), new Date(8.64e15), Date.parse('2030-01-01T00:00:00Z')), hostileValue());
const limit = fc.oneof(fc.integer({ min: 1, max: 1000 }), edgeNumber(), hostileValue());
const cursor = (kind: RefKind, prefix: string) =>
  fc.oneof(
    ref(kind),
    hostileString(),
    fc.tuple(fc.oneof(fc.stringMatching(/^\d{1,17}$/), hostileString({ maxLength: 8 })), fc.constantFrom(prefix, 'act_', 'alr_', ''), fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{0,70}$/), hostileString({ maxLength: 10 }))).map(([t, p, id]) =>
      Buffer.from(`${t}:${p}${id}`).toString('base64url'),
    ),
  );
const activityEvent = fc.oneof(
  fc.record(
    {
      type: either(fc.constantFrom('request', 'login', 'export')),
      category: either(fc.constantFrom('auth', 'data', 'nope')),
      method: either(fc.constantFrom('GET', 'post', 'DELETE')),
      path: either(fc.constantFrom('/api/v1/conversations/123', '/reset-password/skt_abcdefghijklmnopqrstuvwxyz012345', '/login?password=x&page=2', '/a/%E0%A4%A/b')),
      status: either(fc.integer({ min: 100, max: 599 })),
      durationMs: either(fc.double()),
      bytesIn: either(fc.nat()),
      bytesOut: edgeNumber(),
      resource: fc.oneof(hostileValue(), fc.constantFrom('conversation:123', ':x', 'a:'), fc.record({ type: hostileValue(), id: hostileValue() })),
      details: either(hostileObject()),
      at: instant,
    },
    { requiredKeys: [] },
  ),
  hostileValue(),
);

const op = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('create' as const), input: fc.oneof({ arbitrary: fc.record({ userId, tenantId: optional(either(fc.constant('acme'))), ip: optional(either(chainEntry())), userAgent: optional(either(userAgent())), headers: optional(either(clientHintHeaders())), metadata: optional(metadata) }, { requiredKeys: ['userId'] }), weight: 5 }, { arbitrary: hostileValue(), weight: 1 }) }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('validate' as const), token, context }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('rotate' as const), token }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('extend' as const), id: sessionId, by: duration }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('update' as const), id: sessionId, changes: fc.oneof({ arbitrary: fc.record({ metadata }), weight: 4 }, { arbitrary: hostileValue(), weight: 1 }) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('revoke' as const), id: sessionId, options: reasonOptions }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('revokeAll' as const), userId, options: fc.oneof(fc.constant(undefined), fc.record({ except: sessionId, reason: hostileString() }, { requiredKeys: [] }), hostileValue()) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('get' as const), id: sessionId }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('list' as const), userId, options: hostileValue() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('count' as const), userId }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('stats' as const), options: fc.oneof(fc.constant(undefined), fc.record({ userId, since: instant }, { requiredKeys: [] }), hostileValue()) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('cleanup' as const), options: fc.oneof(fc.constant(undefined), fc.record({ olderThan: duration, activityOlderThan: duration, batchSize: limit }, { requiredKeys: [] }), hostileValue()) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('record' as const), session: fc.oneof(ref('session'), ref('sessionId'), hostileValue()), event: activityEvent }), weight: 5 },
  {
    arbitrary: fc.record({
      op: fc.constant('activityList' as const),
      options: fc.oneof({ arbitrary: fc.record({ sessionId, userId, since: instant, until: instant, category: either(fc.constantFrom('auth', 'data', 'other')), limit, cursor: cursor('activityCursor', 'act_') }, { requiredKeys: [] }), weight: 5 }, { arbitrary: hostileValue(), weight: 1 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('alertsList' as const),
      options: fc.oneof({ arbitrary: fc.record({ userId, status: either(fc.constantFrom('open', 'acknowledged', 'resolved')), severity: either(fc.constantFrom('low', 'high')), since: instant, limit, cursor: cursor('alertCursor', 'alr_') }, { requiredKeys: [] }), weight: 5 }, { arbitrary: hostileValue(), weight: 1 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constantFrom('acknowledge' as const, 'resolve' as const), id: either(ref('alertId')), options: fc.oneof(fc.constant(undefined), fc.record({ note: hostileString() }), hostileValue()) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 45 * 60_000 }) }), weight: 1 },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** The ids, tokens and cursors a run refers to; grows as the run creates sessions and alerts. */
class Fixture {
  readonly sessions: Session[] = [];
  readonly tokens: string[] = [];
  readonly alertIds: string[] = [];
  activityCursors: string[] = [];
  alertCursors: string[] = [];

  constructor(
    readonly manager: SessionManager,
    readonly clock: ManualClock,
  ) {}

  /** Fresh active sessions for the fixture users (their old ones revoked), with activity and alerts to page through. */
  async refresh(): Promise<void> {
    // Ended sessions go, so that the users' snapshots stay a few sessions long.
    await this.manager.cleanup({ olderThan: '0ms' });
    for (const user of FIXTURE_USERS) {
      await this.manager.revokeAll(user, { reason: 'fixture' });
      for (let i = 0; i < (user === 'alice' ? 3 : 1); i++) {
        const { session, token } = await this.manager.create({ userId: user, ip: `203.0.113.${i + 1}`, userAgent: 'curl/8.4.0', metadata: { i, role: 'user' } });
        this.remember(session, token);
        this.manager.activity.record(session, { method: 'GET', path: `/api/v1/items/${i}`, status: 200 });
        this.manager.activity.record(session, { method: 'POST', path: '/login', status: 200 });
      }
    }
    await this.manager.activity.flush();
    await this.manager.alerts.flush();
    const activity = await this.manager.activity.list({ userId: 'alice', limit: 1 });
    const alerts = await this.manager.alerts.list({ limit: 1 });
    this.activityCursors = activity.nextCursor === null ? [] : [activity.nextCursor];
    this.alertCursors = alerts.nextCursor === null ? [] : [alerts.nextCursor];
    for (const alert of (await this.manager.alerts.list({ limit: 20 })).items) if (!this.alertIds.includes(alert.id)) this.alertIds.push(alert.id);
    if (this.sessions.length > 200) this.sessions.splice(0, this.sessions.length - 200);
    if (this.tokens.length > 200) this.tokens.splice(0, this.tokens.length - 200);
  }

  remember(session: Session, token?: string): void {
    this.sessions.push(session);
    if (token !== undefined) this.tokens.push(token);
  }

  resolve(value: unknown): unknown {
    if (!(value instanceof Ref)) return value;
    const { kind, index } = value;
    switch (kind) {
      case 'sessionId':
        return pick(this.sessions, index).id;
      case 'session':
        return pick(this.sessions, index);
      case 'userId':
        return pick(FIXTURE_USERS, index);
      case 'token':
        return pick(this.tokens, index);
      case 'alertId':
        return this.alertIds.length === 0 ? 'alr_none' : pick(this.alertIds, index);
      case 'activityCursor':
        return this.activityCursors.length === 0 ? 'none' : pick(this.activityCursors, index);
      case 'alertCursor':
        return this.alertCursors.length === 0 ? 'none' : pick(this.alertCursors, index);
    }
  }

  /** Resolves the references among the own fields of an options object (one level, as the arbitraries build them). */
  resolveFields(value: unknown): unknown {
    if (value instanceof Ref) return this.resolve(value);
    if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
    if (!Object.values(value).some((v) => v instanceof Ref)) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }
}

describe.each(STORES)('the public API on the $name store', (storeCase) => {
  let fixture: Fixture;
  let manager: SessionManager;

  beforeAll(async () => {
    const clock = manualClock('2030-01-01T00:00:00Z');
    // Errors of alert rules go nowhere: the rules are not under test here, their inputs are.
    const alertErrors: unknown[] = [];
    manager = createSessionManager({
      store: await storeCase.make(),
      clock: clock.now,
      maxSessionsPerUser: 8,
      onLimit: 'reject',
      maxMetadataBytes: 4096,
      alerts: {
        onError: (error) => void alertErrors.push(error),
        // A rule that raises an alert for every alice sign-in, so that alert ids and cursors exist.
        custom: [{ type: 'fixture', events: ['created'], evaluate: (e) => (e.type === 'created' && e.session.userId === 'alice' ? { userId: 'alice', sessionId: e.session.id, severity: 'low', evidence: { i: e.session.metadata.i ?? null } } : null) }],
      },
    });
    fixture = new Fixture(manager, clock);
    await fixture.refresh();
  });
  afterAll(() => manager.close());

  it(
    'every method answers as documented or throws a documented SessionError; a rejected call changes nothing stored',
    async () => {
      await fc.assert(
        fc.asyncProperty(op, async (o) => {
          const users = new Set(FIXTURE_USERS);
          const named = fixture.resolve((o as { userId?: unknown }).userId ?? (o as { input?: { userId?: unknown } }).input?.userId);
          if (typeof named === 'string' && named.length > 0 && named.length <= 255 && named.isWellFormed() && !named.includes('\0')) users.add(named);
          // Alerts of earlier operations are raised in the background: let them land first.
          await manager.alerts.flush();
          const before = await snapshot(manager, users);
          const alertsBefore = o.op === 'acknowledge' || o.op === 'resolve' ? JSON.stringify(await manager.alerts.list({ limit: 1000 })) : null;
          let outcome: unknown;
          try {
            outcome = await run(o, fixture);
          } catch (error) {
            expectDocumented(error, DOCUMENTED[o.op], `${o.op}(${fc.stringify(o)})`);
            expect(await snapshot(manager, users), `${o.op} threw ${(error as Error).message} and changed what is stored`).toBe(before);
            if (alertsBefore !== null) expect(JSON.stringify(await manager.alerts.list({ limit: 1000 }))).toBe(alertsBefore);
            return;
          }
          await check(o, outcome, fixture);
        }),
        fuzzParams(`manager on ${storeCase.name}`, storeCase.runs),
      );
      assertNoPrototypePollution();
    },
    fuzzTimeout(storeCase.runs, storeCase.perCaseMs),
  );
});

/** Runs one operation with its references resolved; returns what the method returned. */
async function run(o: Op, fx: Fixture): Promise<unknown> {
  const m = fx.manager;
  const r = (value: unknown) => fx.resolve(value);
  switch (o.op) {
    case 'create': {
      const created = await m.create(fx.resolveFields(o.input) as never);
      fx.remember(created.session, created.token);
      return created;
    }
    case 'validate':
      return m.validate(r(o.token) as string, o.context as never);
    case 'rotate': {
      const rotated = await m.rotate(r(o.token) as string);
      fx.remember(rotated.session, rotated.token);
      return rotated;
    }
    case 'extend':
      return { before: await m.get(r(o.id) as string).catch(() => null), after: await m.extend(r(o.id) as string, o.by as never) };
    case 'update': {
      const id = r(o.id) as string;
      return { before: await m.get(id).catch(() => null), after: await m.update(id, o.changes as never), patch: (o.changes as { metadata?: unknown } | null)?.metadata };
    }
    case 'revoke':
      return m.revoke(r(o.id) as string, o.options as never);
    case 'revokeAll':
      return m.revokeAll(r(o.userId) as string, fx.resolveFields(o.options) as never);
    case 'get':
      return m.get(r(o.id) as string);
    case 'list':
      return m.list(r(o.userId) as string, o.options as never);
    case 'count':
      return m.count(r(o.userId) as string);
    case 'stats':
      return m.stats(fx.resolveFields(o.options) as never);
    case 'cleanup':
      return m.cleanup(o.options as never);
    case 'record': {
      m.activity.record(r(o.session) as never, o.event as never);
      // A recorded event must reach the store: flush() reports a write that failed.
      await m.activity.flush();
      return m.activity.stats();
    }
    case 'activityList':
      return m.activity.list(fx.resolveFields(o.options) as never);
    case 'alertsList':
      return m.alerts.list(fx.resolveFields(o.options) as never);
    case 'acknowledge':
    case 'resolve':
      return m.alerts[o.op](r(o.id) as string, o.options as never);
    case 'advance':
      fx.clock.advance(o.ms);
      await fx.refresh();
      return undefined;
  }
}

/** What a successful call must have returned. */
async function check(o: Op, outcome: unknown, fx: Fixture): Promise<void> {
  const m = fx.manager;
  switch (o.op) {
    case 'create': {
      const { session, token } = outcome as { session: Session; token: string };
      expect(token).toMatch(/^skt_[A-Za-z0-9_-]{32}$/);
      const input = fx.resolveFields(o.input) as { userId: string; metadata?: unknown };
      expect(session.userId).toBe(input.userId);
      // Stored exactly as JSON would carry it, and read back the same.
      expect(canonical(session.metadata)).toBe(canonical(input.metadata === undefined ? {} : JSON.parse(JSON.stringify(input.metadata))));
      expect(Object.getPrototypeOf(session.metadata)).toBe(Object.prototype);
      expect(canonical(await m.get(session.id))).toBe(canonical(session));
      expect(JSON.parse(JSON.stringify(session.device))).toEqual(session.device);
      return;
    }
    case 'validate': {
      const result = outcome as { ok: boolean; reason?: string; session?: Session };
      if (result.ok) expect(fx.tokens).toContain(fx.resolve(o.token));
      else expect(INVALID_REASONS).toContain(result.reason);
      return;
    }
    case 'extend': {
      const { before, after } = outcome as { before: Session; after: Session };
      expect(after.status).toBe('active');
      expect(after.expiresAt).toBeGreaterThanOrEqual(before.expiresAt);
      expect(after.expiresAt).toBeLessThanOrEqual(after.absoluteExpiresAt);
      expect(Number.isSafeInteger(after.expiresAt)).toBe(true);
      return;
    }
    case 'update': {
      const { before, after, patch } = outcome as { before: Session; after: Session; patch: unknown };
      expect(canonical(after.metadata)).toBe(canonical({ ...before.metadata, ...JSON.parse(JSON.stringify(patch)) }));
      expect(Object.getPrototypeOf(after.metadata)).toBe(Object.prototype);
      expect(canonical(await m.get(after.id))).toBe(canonical(after));
      return;
    }
    case 'revoke':
      expect((outcome as Session).status).toBe('revoked');
      return;
    case 'revokeAll':
    case 'count':
    case 'cleanup':
      expect(Number.isSafeInteger(outcome) && (outcome as number) >= 0).toBe(true);
      return;
    case 'record':
      expect((outcome as { queued: number }).queued).toBe(0);
      return;
    case 'activityList':
    case 'alertsList': {
      const page = outcome as { items: unknown[]; nextCursor: string | null };
      expect(Array.isArray(page.items)).toBe(true);
      if (page.nextCursor !== null) {
        expect(typeof page.nextCursor).toBe('string');
        (o.op === 'activityList' ? fx.activityCursors : fx.alertCursors).push(page.nextCursor);
      }
      return;
    }
    default:
      return;
  }
}

/** Everything stored about `users`: every session (inactive too, all fields) and the active count. */
async function snapshot(manager: SessionManager, users: Set<string>): Promise<string> {
  const parts: unknown[] = [];
  for (const user of users) parts.push(user, await manager.list(user, { includeInactive: true }), await manager.count(user));
  // Plain JSON: a store returns its sessions with their keys in one order, so equal means unchanged.
  return JSON.stringify(parts);
}
