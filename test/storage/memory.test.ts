import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, type SessionStore } from '../../src/index.js';
import { manualClock, runLabStoreConformance, runSessionStoreConformance } from '../../src/testing/index.js';

runSessionStoreConformance('memory', { createStore: () => memoryStore() });
runLabStoreConformance('memory', { createStore: () => memoryStore() });

/**
 * The memory store has no second connection and no bytes on disk, so the run above skips the
 * createPeerStore and dump tests. This run exercises those code paths of the suite anyway: the peer
 * is the same instance (so it proves the two-manager logic, not cross-process locking), and the dump
 * is every argument the managers handed to the store - everything the store could possibly retain.
 */
const recorded = new WeakMap<SessionStore, string[]>();
runSessionStoreConformance('memory (same instance as peer, recorded store input as dump)', {
  createStore: () => recording(memoryStore()),
  createPeerStore: (store) => store,
  dump: async (store) => recorded.get(store)!.join('\n'),
});

function recording(store: SessionStore): SessionStore {
  const log: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        log.push(JSON.stringify(args));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  recorded.set(wrapped, log);
  return wrapped;
}

describe('memoryStore specifics', () => {
  it('reclaims sessions that ended more than retainEnded ago as new sessions are inserted', async () => {
    const clock = manualClock('2030-01-01T00:00:00Z');
    const sessions = createSessionManager({ store: memoryStore({ retainEnded: '1h' }), clock: clock.now });
    const ended = await sessions.create({ userId: 'u1' });
    await sessions.revoke(ended.session.id);
    clock.advance('59m');
    await sessions.create({ userId: 'u2' });
    expect(await sessions.get(ended.session.id)).not.toBeNull();
    clock.advance('2m');
    await sessions.create({ userId: 'u2' });
    expect(await sessions.get(ended.session.id)).toBeNull();
    expect(await sessions.count('u2')).toBe(2);
    await sessions.close();
  });

  it('an insert that throws SESSION_LIMIT reclaims nothing (a method that throws changes nothing)', async () => {
    const clock = manualClock('2030-01-01T00:00:00Z');
    const sessions = createSessionManager({
      store: memoryStore({ retainEnded: '1h' }),
      clock: clock.now,
      idleTimeout: '1d',
      maxSessionsPerUser: 1,
      onLimit: 'reject',
    });
    const ended = await sessions.create({ userId: 'u1' });
    await sessions.revoke(ended.session.id);
    await sessions.create({ userId: 'u2' });
    clock.advance('2h'); // `ended` is now reclaimable
    await expect(sessions.create({ userId: 'u2' })).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
    expect(await sessions.get(ended.session.id)).not.toBeNull();
    await sessions.create({ userId: 'u3' });
    expect(await sessions.get(ended.session.id)).toBeNull();
    await sessions.close();
  });

  it('returns frozen sessions, so callers cannot change stored state', async () => {
    const sessions = createSessionManager({ store: memoryStore() });
    const { session } = await sessions.create({ userId: 'u1', metadata: { nested: { a: 1 } } });
    expect(Object.isFrozen(session)).toBe(true);
    expect(Object.isFrozen(session.metadata.nested)).toBe(true);
    await sessions.close();
  });

  it('reclaims rotated-token records older than retainEnded as further rotations happen', async () => {
    const start = Date.parse('2030-01-01T00:00:00Z');
    const store = memoryStore({ retainEnded: '1h' });
    const rotateOne = async (id: string, at: number) => {
      const tokenHash = `hash-${id}`;
      const record = { id, tokenHash, userId: 'u1', tenantId: null, createdAt: at, lastActiveAt: at, expiresAt: at + 3_600_000, absoluteExpiresAt: at + 7_200_000, ip: null, userAgent: null, device: null, metadata: {} };
      await store.insert(record, at);
      await store.rotateToken(tokenHash, `${tokenHash}-next`, at, at + 3_600_000);
      return tokenHash;
    };
    const old = await rotateOne('ses_old', start);
    const recent = await rotateOne('ses_recent', start + 30 * 60_000);
    expect(await store.findRotatedToken(old)).toEqual({ sessionId: 'ses_old', userId: 'u1', rotatedAt: start });
    const latest = await rotateOne('ses_latest', start + 61 * 60_000);
    expect(await store.findRotatedToken(old)).toBeNull();
    expect(await store.findRotatedToken(recent)).not.toBeNull();
    expect(await store.findRotatedToken(latest)).not.toBeNull();
    await store.close();
  });

  it('drops counters no window can count any more as other keys are hit, and keeps at most 100,000 keys, least recently hit dropped first', async () => {
    const start = Date.parse('2030-01-01T00:00:00Z');
    const store = memoryStore();
    await store.hitCounter('expired', start, 60_000);
    await store.hitCounter('live', start + 60_000, 60_000);
    // 'expired' was the least recently hit key and no window reaching start + 60 s counts it.
    expect(await store.deleteCountersBefore(start + 3_600_000, 100)).toBe(1);

    expect(await store.hitCounter('k0', start, 60_000)).toBe(1);
    expect(await store.hitCounter('k1', start, 60_000)).toBe(1);
    expect(await store.hitCounter('k0', start, 60_000)).toBe(2);
    for (let i = 2; i <= 100_000; i++) await store.hitCounter(`k${i}`, start, 60_000);
    expect(await store.hitCounter('k0', start, 60_000)).toBe(3);
    expect(await store.hitCounter('k1', start, 60_000)).toBe(1);
    await store.close();
  });

  it('offers its labs as store.labs, beside the session store (which has no lab methods)', async () => {
    const store = memoryStore();
    expect(typeof store.labs.insertLab).toBe('function');
    expect('insertLab' in store).toBe(false);
    expect(await store.labs.listLabs({})).toEqual([]);
    await store.close();
  });

  it('close() makes every store method throw CLOSED', async () => {
    const store = memoryStore();
    await store.close();
    await expect(store.findById('ses_x')).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(store.migrate()).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(store.labs.listLabs({})).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
