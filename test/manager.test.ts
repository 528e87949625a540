import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../adapters/storage/memory/index.js';
import {
  createSessionManager,
  parseDuration,
  SessionError,
  type Duration,
  type SessionManagerOptions,
  type SessionStore,
} from '../src/index.js';
import { serializeMetadata } from '../src/metadata.js';
import * as testing from '../src/testing/index.js';
import { manualClock } from '../src/testing/index.js';
import { generateToken, hashToken, isWellFormedToken } from '../src/token.js';

const START = Date.parse('2030-01-01T00:00:00Z');

function sessions(options: Partial<SessionManagerOptions> = {}) {
  const clock = manualClock(START);
  const manager = createSessionManager({ store: memoryStore(), clock: clock.now, ...options });
  opened.push(manager);
  return { manager, clock };
}
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
  vi.restoreAllMocks();
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SessionError ? err.code : `not a SessionError: ${String(err)}`;
  }
  return undefined;
}

/** A memory store whose `method` fails as a broken driver would. */
function failing(method: keyof SessionStore, failure: () => unknown): SessionStore {
  const store = memoryStore();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property === method) return failure;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('sessionkeeper/testing exports', () => {
  it('exports exactly the suites (run-all, one per capability, labs) and the manual clock', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'manualClock',
      'runActivityStoreConformance',
      'runAlertStoreConformance',
      'runLabStoreConformance',
      'runSessionConformance',
      'runSessionStoreConformance',
    ]);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    [' 30m ', 1_800_000],
    [0, 0],
    [1234, 1234],
  ] as const)('%j is %i ms', (input, ms) => {
    expect(parseDuration(input, 'field')).toBe(ms);
  });

  it.each([['-1'], [-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY], [''], ['30'], ['1y'], ['1.5h'], ['30 m'], [null], [{}], ['1234567890s']])(
    'rejects %j with the requested code, naming the field',
    (input) => {
      const run = (code?: 'INVALID_ARGUMENT') => () => parseDuration(input, 'idleTimeout', code);
      expect(codeOf(run())).toBe('INVALID_CONFIG');
      expect(codeOf(run('INVALID_ARGUMENT'))).toBe('INVALID_ARGUMENT');
      expect(() => parseDuration(input, 'idleTimeout')).toThrow(/idleTimeout/);
    },
  );
});

describe('manualClock', () => {
  it('moves only when told to', () => {
    const clock = manualClock('2030-01-01T00:00:00Z');
    expect(clock.now().getTime()).toBe(START);
    clock.advance('90s');
    clock.advance(500);
    expect(clock.now().getTime()).toBe(START + 90_500);
    clock.set(START - 1);
    expect(clock.now().getTime()).toBe(START - 1);
    clock.set(new Date(START));
    expect(clock.now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });

  it('rejects invalid times and negative advances with INVALID_ARGUMENT', () => {
    expect(codeOf(() => manualClock('not a date'))).toBe('INVALID_ARGUMENT');
    const clock = manualClock(START);
    expect(codeOf(() => clock.set('nope'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => clock.advance(-1))).toBe('INVALID_ARGUMENT');
    expect(clock.now().getTime()).toBe(START);
  });
});

describe('tokens', () => {
  it('are skt_ plus 32 URL-safe characters, hashed as base64url SHA-256', () => {
    const tokens = Array.from({ length: 200 }, generateToken);
    expect(new Set(tokens).size).toBe(200);
    for (const token of tokens) {
      expect(token).toMatch(/^skt_[A-Za-z0-9_-]{32}$/);
      expect(isWellFormedToken(token)).toBe(true);
    }
    const token = tokens[0]!;
    expect(hashToken(token)).toBe(createHash('sha256').update(token).digest('base64url'));
    expect(hashToken(token)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(isWellFormedToken(token.slice(0, -1))).toBe(false);
    expect(isWellFormedToken(`${token}\n`)).toBe(false);
  });
});

describe('metadata validation', () => {
  it('accepts plain and null-prototype objects and measures the limit in UTF-8 bytes', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(serializeMetadata(bare, 100)).toBe('{"a":1}');
    expect(serializeMetadata({ a: 'abcdefghijklm' }, 21)).toBe('{"a":"abcdefghijklm"}'); // exactly 21 bytes
    expect(codeOf(() => serializeMetadata({ a: 'abcdefghijklmn' }, 21))).toBe('INVALID_METADATA');
    expect(codeOf(() => serializeMetadata({ a: 'ééééé' }, 17))).toBe('INVALID_METADATA'); // 18 bytes, 13 units
  });

  it('rejects nesting deeper than 32 levels', () => {
    const nest = (depth: number): Record<string, unknown> => (depth === 0 ? {} : { d: nest(depth - 1) });
    expect(codeOf(() => serializeMetadata(nest(31), 10_000))).toBeUndefined();
    expect(codeOf(() => serializeMetadata(nest(40), 10_000))).toBe('INVALID_METADATA');
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(serializeMetadata({ a: shared, b: shared }, 100)).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('stores a copy: changing the caller object after create() changes nothing', async () => {
    const { manager } = sessions();
    const metadata = { cart: { items: 1 } };
    const { session } = await manager.create({ userId: 'u1', metadata });
    metadata.cart.items = 99;
    expect((await manager.get(session.id))?.metadata).toEqual({ cart: { items: 1 } });
  });
});

describe('createSessionManager options', () => {
  it.each([
    ['options', null],
    ['store', {}],
    ['store', { store: {} }],
    ['clock', { store: memoryStore(), clock: 'now' }],
    ['onListenerError', { store: memoryStore(), onListenerError: 'log' }],
    ['maxMetadataBytes', { store: memoryStore(), maxMetadataBytes: 1 }],
    ['maxMetadataBytes', { store: memoryStore(), maxMetadataBytes: 1.5 }],
    ['absoluteTimeout', { store: memoryStore(), absoluteTimeout: -5 }],
  ] as const)('rejects a bad %s with INVALID_CONFIG', (field, options) => {
    expect(codeOf(() => createSessionManager(options as unknown as SessionManagerOptions))).toBe('INVALID_CONFIG');
    if (field !== 'options') expect(() => createSessionManager(options as unknown as SessionManagerOptions)).toThrow(field);
  });

  it('uses the documented defaults: 30m idle, 7d absolute, 1m touch interval', async () => {
    const { manager } = sessions();
    const { session } = await manager.create({ userId: 'u1' });
    expect(session.expiresAt - session.createdAt).toBe(30 * 60_000);
    expect(session.absoluteExpiresAt - session.createdAt).toBe(7 * 86_400_000);
  });

  it('accepts durations as numbers of milliseconds', async () => {
    const { manager, clock } = sessions({ idleTimeout: 10_000, absoluteTimeout: 60_000, touchInterval: 1_000 });
    const { token } = await manager.create({ userId: 'u1' });
    clock.advance(9_999);
    expect((await manager.validate(token)).ok).toBe(true);
    clock.advance(50_001);
    expect(await manager.validate(token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('a clock that returns an invalid Date makes calls fail with INVALID_CONFIG', async () => {
    const manager = createSessionManager({ store: memoryStore(), clock: () => new Date(Number.NaN) });
    opened.push(manager);
    await expect(manager.create({ userId: 'u1' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('rejects other bad create() fields with INVALID_ARGUMENT', async () => {
    const { manager } = sessions();
    await expect(manager.create({ userId: 'u1', tenantId: 't'.repeat(256) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(manager.create({ userId: 'u1', ip: 'i'.repeat(65) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(manager.create({ userId: 'u1', userAgent: 42 as unknown as string })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(manager.stats({ since: 'yesterday' as unknown as number })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(manager.update('ses_x', {} as { metadata: Record<string, unknown> })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await manager.count('u1')).toBe(0);
    const empty = await manager.create({ userId: 'u1', userAgent: '' });
    expect(empty.session.userAgent).toBeNull();
  });
});

describe('preset (NIST SP 800-63B-4 reauthentication timeouts)', () => {
  const MINUTE = 60_000;
  const HOUR = 60 * MINUTE;

  it("'aal2': a session is idle after 1 h without use and expired 24 h after sign-in however it is used", async () => {
    const { manager, clock } = sessions({ preset: 'aal2' });
    const unused = await manager.create({ userId: 'u1' });
    const busy = await manager.create({ userId: 'u1' });
    clock.advance(HOUR - 1);
    expect((await manager.get(unused.session.id))?.status).toBe('active');
    clock.set(START + HOUR);
    expect(await manager.validate(unused.token)).toEqual({ ok: false, reason: 'idle' });

    // Used every 50 minutes: never idle, still out at 24 h.
    for (let at = 50 * MINUTE; at < 24 * HOUR; at += 50 * MINUTE) {
      clock.set(START + at);
      expect((await manager.validate(busy.token)).ok, `at ${at / MINUTE} min`).toBe(true);
    }
    clock.set(START + 24 * HOUR);
    expect(await manager.validate(busy.token)).toEqual({ ok: false, reason: 'expired' });
  });

  it("'aal3' is 15 min idle and 12 h absolute; 'aal1' is 30 days absolute with the default 30 min idle", async () => {
    const aal3 = sessions({ preset: 'aal3' });
    const strict = (await aal3.manager.create({ userId: 'u1' })).session;
    expect([strict.expiresAt - START, strict.absoluteExpiresAt - START]).toEqual([15 * MINUTE, 12 * HOUR]);
    const aal1 = sessions({ preset: 'aal1' });
    const loose = (await aal1.manager.create({ userId: 'u1' })).session;
    expect([loose.expiresAt - START, loose.absoluteExpiresAt - START]).toEqual([30 * MINUTE, 30 * 24 * HOUR]);
  });

  it("explicit idleTimeout and absoluteTimeout override the preset's", async () => {
    const { manager, clock } = sessions({ preset: 'aal2', idleTimeout: '10m' });
    const { session, token } = await manager.create({ userId: 'u1' });
    expect(session.absoluteExpiresAt - START).toBe(24 * HOUR);
    clock.advance('10m');
    expect(await manager.validate(token)).toEqual({ ok: false, reason: 'idle' });
    const both = sessions({ preset: 'aal3', idleTimeout: '2h', absoluteTimeout: '3d' });
    const s = (await both.manager.create({ userId: 'u1' })).session;
    expect([s.expiresAt - START, s.absoluteExpiresAt - START]).toEqual([2 * HOUR, 72 * HOUR]);
  });

  it.each(['aal4', 'AAL2', '', 'constructor', 2, null])('rejects preset %j with INVALID_CONFIG naming the field', (preset) => {
    const options = { store: memoryStore(), preset } as unknown as SessionManagerOptions;
    expect(codeOf(() => createSessionManager(options))).toBe('INVALID_CONFIG');
    expect(() => createSessionManager(options)).toThrow('preset');
  });
});

describe('events', () => {
  it('reports listener errors to console.error by default', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { manager } = sessions();
    const boom = new Error('boom');
    manager.on('created', () => {
      throw boom;
    });
    await manager.create({ userId: 'u1' });
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0]).toContain(boom);
    expect(String(logged.mock.calls[0]![0])).toContain('created');
  });

  it('swallows an onListenerError that throws itself', async () => {
    const { manager } = sessions({
      onListenerError: () => {
        throw new Error('reporter broke');
      },
    });
    manager.on('created', () => {
      throw new Error('listener broke');
    });
    const { session } = await manager.create({ userId: 'u1' });
    expect(await manager.get(session.id)).toEqual(session);
  });

  it('rejects a listener that is not a function', () => {
    const { manager } = sessions();
    expect(() => manager.on('created', 'log' as never)).toThrow(expect.objectContaining({ name: 'SessionError', code: 'INVALID_ARGUMENT' }));
  });

  it('close() removes every listener', async () => {
    const { manager } = sessions();
    const seen = vi.fn();
    manager.on('revoked', seen);
    const { session } = await manager.create({ userId: 'u1' });
    await manager.close();
    await expect(manager.revoke(session.id)).rejects.toMatchObject({ code: 'CLOSED' });
    expect(seen).not.toHaveBeenCalled();
  });
});

describe('store failures', () => {
  it('wraps a driver error as STORE_UNAVAILABLE with the original as cause', async () => {
    const cause = new Error('connection refused');
    const manager = createSessionManager({ store: failing('findByTokenHash', () => Promise.reject(cause)) });
    opened.push(manager);
    const err = await manager.validate(generateToken()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionError);
    expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', cause });
  });

  it('passes SessionErrors thrown by a store through unchanged', async () => {
    const limit = new SessionError('STORE_NOT_MIGRATED', 'run migrate() first');
    const manager = createSessionManager({ store: failing('insert', () => Promise.reject(limit)) });
    opened.push(manager);
    await expect(manager.create({ userId: 'u1' })).rejects.toBe(limit);
  });

  it('wraps a scan() that throws synchronously as STORE_UNAVAILABLE', async () => {
    const cause = new Error('pool exhausted');
    const manager = createSessionManager({
      store: failing('scan', () => {
        throw cause;
      }),
    });
    opened.push(manager);
    await expect(manager.stats()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', cause });
  });
});

describe('durations passed to methods', () => {
  it.each([['0', 0], ['negative', -1], ['unknown unit', '1y'], ['fraction', 0.5]] as const)(
    'extend() rejects a %s duration with INVALID_ARGUMENT',
    async (_label, by) => {
      const { manager } = sessions();
      const { session } = await manager.create({ userId: 'u1' });
      await expect(manager.extend(session.id, by as Duration)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await manager.get(session.id)).toEqual(session);
    },
  );

  it.each([[0], [100_001], [1.5]])('cleanup() rejects batchSize %j with INVALID_ARGUMENT', async (batchSize) => {
    const { manager } = sessions();
    await expect(manager.cleanup({ batchSize })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
