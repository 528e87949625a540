import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Session } from '../../contracts.js';
import type { Duration } from '../../duration.js';
import { SessionError } from '../../errors.js';
import { createSessionManager } from '../../session-manager.js';
import { generateToken } from '../../token.js';
import { DEFAULTS, START, MINUTE, IDLE, expectError, recordEvents, eventsNamed, newRecord, ids, sortedIds, type Harness, type ManagerOverrides } from './harness.js';

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

export function describeBadInput(t: () => Harness): void {
  describe('bad input throws a typed SessionError and changes nothing', () => {
    badInputTests1(t);
    badInputTests2(t);
  });
}

function badInputTests1(t: () => Harness): void {
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
}

function badInputTests2(t: () => Harness): void {
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
}

export function describeLimits(t: () => Harness): void {
  describe('maxSessionsPerUser', () => {
    limitsTests1(t);
    limitsTests2(t);
  });
}

function limitsTests1(t: () => Harness): void {
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
}

function limitsTests2(t: () => Harness): void {
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
}
