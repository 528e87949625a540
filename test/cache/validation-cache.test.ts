import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import {
  createSessionManager,
  SessionError,
  type SessionInvalidation,
  type SessionManager,
  type SessionManagerOptions,
  type SessionStore,
} from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { generateToken } from '../../src/token.js';
import { countingStore, invalidationBus } from '../support/invalidation-bus.js';

const START = Date.parse('2030-01-01T00:00:00Z');
const opened: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close().catch(() => {})));
});

/** A manager with the cache over a counting memory store (or `store`), on a manual clock. */
function cached(options: Partial<SessionManagerOptions> = {}, inner?: SessionStore) {
  const clock = manualClock(START);
  const { store, calls } = countingStore(inner);
  const manager = createSessionManager({ store, clock: clock.now, activity: false, alerts: false, cache: { ttl: '30s', max: 100 }, ...options });
  opened.push(manager);
  return { manager, clock, calls };
}

/** Waits for queued microtasks and timers of this tick (the subscription, a publish). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('validation cache', () => {
  it('answers a hit without store I/O, with the same session as the store', async () => {
    const { manager, calls } = cached();
    const { token, session } = await manager.create({ userId: 'u1', metadata: { a: 1 } });
    const first = await manager.validate(token);
    expect(calls.findByTokenHash).toBe(1);
    const second = await manager.validate(token);
    expect(calls.findByTokenHash).toBe(1);
    expect(second).toEqual(first);
    expect(second.ok && second.session).toEqual(session);
    // Every hit hands out one object: it is frozen so that no caller changes it for the others.
    expect(second.ok && Object.isFrozen(second.session.metadata)).toBe(true);
  });

  it('without cache, every validate reads the store', async () => {
    const clock = manualClock(START);
    const { store, calls } = countingStore();
    const manager = createSessionManager({ store, clock: clock.now });
    opened.push(manager);
    const { token } = await manager.create({ userId: 'u1' });
    for (let i = 0; i < 3; i++) expect((await manager.validate(token)).ok).toBe(true);
    expect(calls.findByTokenHash).toBe(3);
  });

  it('serves an entry for at most ttl', async () => {
    const { manager, clock, calls } = cached({ cache: { ttl: '10s' }, touchInterval: '1m' });
    const { token } = await manager.create({ userId: 'u1' });
    await manager.validate(token);
    clock.advance('9s');
    await manager.validate(token);
    expect(calls.findByTokenHash).toBe(1);
    clock.advance('1s');
    await manager.validate(token);
    expect(calls.findByTokenHash).toBe(2);
  });

  it('refuses a hit past its absolute deadline, by the manager clock', async () => {
    const { manager, clock } = cached({ cache: { ttl: '1h' }, absoluteTimeout: '5m', idleTimeout: '30m', touchInterval: '10m' });
    const { token } = await manager.create({ userId: 'u1' });
    const expired = vi.fn();
    manager.on('expired', expired);
    expect((await manager.validate(token)).ok).toBe(true);
    clock.advance('5m');
    expect(await manager.validate(token)).toEqual({ ok: false, reason: 'expired' });
    expect(expired).toHaveBeenCalledOnce();
  });

  it('goes to the store when a touch is due, and caches the touched session', async () => {
    const { manager, clock, calls } = cached({ cache: { ttl: '1h' }, touchInterval: '1m', idleTimeout: '10m' });
    const { token } = await manager.create({ userId: 'u1' });
    await manager.validate(token);
    clock.advance('1m');
    const touched = await manager.validate(token);
    expect(calls.touch).toBe(1);
    expect(touched.ok && touched.session.lastActiveAt).toBe(START + 60_000);
    await manager.validate(token);
    expect(calls.findByTokenHash).toBe(2);
  });

  it('keeps at most max entries, the least recently used going first', async () => {
    const { manager, calls } = cached({ cache: { ttl: '1h', max: 4 } });
    const tokens: string[] = [];
    for (let i = 0; i < 10; i++) tokens.push((await manager.create({ userId: `u${i}` })).token);
    for (const token of tokens) await manager.validate(token);
    expect(calls.findByTokenHash).toBe(10);
    await manager.validate(tokens[9]!);
    expect(calls.findByTokenHash).toBe(10);
    await manager.validate(tokens[0]!);
    expect(calls.findByTokenHash).toBe(11);
  });

  it('does not cache refusals: a flood of unknown tokens evicts nothing', async () => {
    const { manager, calls } = cached({ cache: { ttl: '1h', max: 4 } });
    const good = [(await manager.create({ userId: 'a' })).token, (await manager.create({ userId: 'b' })).token];
    for (const token of good) await manager.validate(token);
    for (let i = 0; i < 5000; i++) expect((await manager.validate(generateToken())).ok).toBe(false);
    const reads = calls.findByTokenHash!;
    for (const token of good) expect((await manager.validate(token)).ok).toBe(true);
    expect(calls.findByTokenHash).toBe(reads);
    // A refused token is asked again every time.
    const unknown = generateToken();
    await manager.validate(unknown);
    await manager.validate(unknown);
    expect(calls.findByTokenHash).toBe(reads + 2);
  });
});

describe('every change drops the session, here and on the other servers', () => {
  /** Two managers on one store, linked by a bus; both have validated `token`. */
  async function pair(options: Partial<SessionManagerOptions> = {}) {
    const bus = invalidationBus();
    const clock = manualClock(START);
    const shared = memoryStore();
    const make = () => {
      const { store, calls } = countingStore(shared);
      const manager = createSessionManager({ store, clock: clock.now, activity: false, alerts: false, ...options, cache: { ttl: '10s', invalidation: bus.channel() } });
      opened.push(manager);
      return { manager, calls };
    };
    const a = make();
    const b = make();
    await settle();
    const { token, session } = await a.manager.create({ userId: 'u1' });
    for (const side of [a, b]) {
      await side.manager.validate(token);
      await side.manager.validate(token);
      expect(side.calls.findByTokenHash).toBe(1);
    }
    return { a: a.manager, b: b.manager, token, session, bus, clock, shared };
  }

  const refusedBoth = async (managers: SessionManager[], token: string, reason: string) => {
    await settle();
    for (const manager of managers) expect(await manager.validate(token)).toEqual({ ok: false, reason });
  };

  it('revoke', async () => {
    const { a, b, token, session } = await pair();
    await a.revoke(session.id);
    await refusedBoth([a, b], token, 'revoked');
  });

  it('revokeAll', async () => {
    const { a, b, token } = await pair();
    expect(await b.revokeAll('u1')).toBe(1);
    await refusedBoth([a, b], token, 'revoked');
  });

  it('rotate: the old token is refused at once, the new one validates', async () => {
    const { a, b, token } = await pair();
    const { token: next } = await b.rotate(token);
    await refusedBoth([a, b], token, 'unknown');
    expect((await a.validate(next)).ok).toBe(true);
  });

  it('update', async () => {
    const { a, b, token, session } = await pair();
    await a.update(session.id, { metadata: { role: 'admin' } });
    await settle();
    const seen = await b.validate(token);
    expect(seen.ok && seen.session.metadata).toEqual({ role: 'admin' });
  });

  it('extend', async () => {
    const { a, b, token, session } = await pair();
    const extended = await b.extend(session.id, '1h');
    await settle();
    const seen = await a.validate(token);
    expect(seen.ok && seen.session.expiresAt).toBe(extended.expiresAt);
  });

  it('eviction at the session limit', async () => {
    const { a, b, token } = await pair({ maxSessionsPerUser: 1 });
    await b.create({ userId: 'u1' });
    await refusedBoth([a, b], token, 'revoked');
  });

  it('a drop of everything (messages may have been lost)', async () => {
    const { a, token, session, bus, shared } = await pair();
    await shared.revoke(session.id, 'behind its back', START);
    expect((await a.validate(token)).ok).toBe(true); // stale, as allowed within ttl
    bus.signalLoss();
    expect(await a.validate(token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('when the message is lost, a change elsewhere is seen after ttl', async () => {
    const { a, b, token, session, bus, clock } = await pair();
    bus.lose();
    await b.revoke(session.id);
    await refusedBoth([b], token, 'revoked');
    clock.advance('9s');
    expect((await a.validate(token)).ok).toBe(true); // stale, as allowed within ttl
    clock.advance('1s');
    expect(await a.validate(token)).toEqual({ ok: false, reason: 'revoked' });
  });
});

describe('a store read that a change overtakes', () => {
  it('does not put the old state back into the cache', async () => {
    const bus = invalidationBus();
    const clock = manualClock(START);
    const shared = memoryStore();
    let gate: Promise<void> | null = null;
    // Reads the session, then waits: the revoke lands between the read and the fill.
    const slow: SessionStore = Object.create(shared, {
      findByTokenHash: {
        value: async (hash: string) => {
          const found = await shared.findByTokenHash(hash);
          await gate;
          return found;
        },
      },
    });
    const { store, calls } = countingStore(slow);
    const reader = createSessionManager({ store, clock: clock.now, activity: false, alerts: false, cache: { ttl: '1h', invalidation: bus.channel() } });
    const writer = createSessionManager({ store: shared, clock: clock.now, activity: false, alerts: false, cache: { ttl: '1h', invalidation: bus.channel() } });
    opened.push(reader, writer);
    await settle();
    const { token, session } = await writer.create({ userId: 'u1' });
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const pending = reader.validate(token);
    await settle();
    await writer.revoke(session.id);
    await settle();
    open();
    expect((await pending).ok).toBe(true); // what the store said when it was read
    gate = null;
    expect(await reader.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    expect(calls.findByTokenHash).toBe(2);
  });
});

describe('the invalidation channel', () => {
  it('caches nothing before it has subscribed, or when subscribing failed', async () => {
    const onError = vi.fn();
    const failing: SessionInvalidation = {
      publish: async () => {},
      subscribe: async () => {
        throw new Error('broker down');
      },
      close: async () => {},
    };
    const { manager, calls } = cached({ cache: { invalidation: failing, onError } });
    const { token } = await manager.create({ userId: 'u1' });
    await manager.validate(token);
    await settle();
    await manager.validate(token);
    expect(calls.findByTokenHash).toBe(2);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'broker down' }));
  });

  it('a failed publish reaches onError and never fails the revoke', async () => {
    const onError = vi.fn();
    const channel: SessionInvalidation = {
      publish: async () => {
        throw new Error('publish failed');
      },
      subscribe: async () => {},
      close: async () => {},
    };
    const { manager } = cached({ cache: { invalidation: channel, onError } });
    await settle();
    const { token, session } = await manager.create({ userId: 'u1' });
    await manager.validate(token);
    expect((await manager.revoke(session.id)).status).toBe('revoked');
    expect(await manager.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    await settle();
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'publish failed' }));
  });

  it('is closed by close()', async () => {
    const bus = invalidationBus();
    const channel = bus.channel();
    const manager = createSessionManager({ store: memoryStore(), cache: { invalidation: channel } });
    await manager.close();
    expect(channel.closed).toBe(true);
  });
});

describe('cache options', () => {
  const fieldOf = (cache: unknown): string | undefined => {
    try {
      createSessionManager({ store: memoryStore(), cache: cache as SessionManagerOptions['cache'] });
    } catch (err) {
      if (err instanceof SessionError && err.code === 'INVALID_CONFIG') return String(err.details?.field);
      throw err;
    }
    return undefined;
  };

  it.each([
    [null, 'cache'],
    [5, 'cache'],
    [{ ttl: 0 }, 'cache.ttl'],
    [{ ttl: 'soon' }, 'cache.ttl'],
    [{ max: 0 }, 'cache.max'],
    [{ max: 1.5 }, 'cache.max'],
    [{ invalidation: {} }, 'cache.invalidation'],
    [{ invalidation: null }, 'cache.invalidation'],
    [{ onError: 'log' }, 'cache.onError'],
  ])('%j is INVALID_CONFIG naming %s', (cache, field) => {
    expect(fieldOf(cache)).toBe(field);
  });
});
