import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisStore } from '../../adapters/storage/redis/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, isSessionError, type SessionStore } from '../../src/index.js';
import { manualClock, runSessionConformance, runSessionStoreConformance } from '../../src/testing/index.js';
import { probeRedis, REDIS_URL, serviceGate } from '../support/services.js';
import { startThrowawayRedis } from '../support/throwaway-redis.js';

const newClient = () => createClient({ url: REDIS_URL });
type Client = ReturnType<typeof newClient>;

const reachable = serviceGate('Redis', await probeRedis());

describe.runIf(reachable)('redis', () => {
  const clients: Client[] = [];
  const connect = async (): Promise<Client> => {
    const client = newClient();
    client.on('error', () => {});
    await client.connect();
    clients.push(client);
    return client;
  };
  let shared: Client | undefined;
  const client = async (): Promise<Client> => (shared ??= await connect());
  afterAll(async () => {
    await Promise.all(clients.map((c) => (c.isOpen ? c.close() : undefined)));
  });
  const prefixes = new WeakMap<object, string>();

  const keysOf = async (prefix: string): Promise<string[]> => {
    const c = await client();
    const keys: string[] = [];
    for await (const batch of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch);
    return keys.sort();
  };
  const dropKeys = async (prefix: string): Promise<void> => {
    const keys = await keysOf(prefix);
    const c = await client();
    for (let i = 0; i < keys.length; i += 500) await c.del(keys.slice(i, i + 500));
  };
  // Every key under the test's prefix: its name, its DUMP serialisation (latin1) and its readable value.
  const dumpKeys = async (prefix: string): Promise<string> => {
    const c = await client();
    const out: string[] = [];
    for (const key of await keysOf(prefix)) {
      const type = await c.type(key);
      const value =
        type === 'string' ? await c.get(key)
        : type === 'hash' ? JSON.stringify(await c.hGetAll(key))
        : type === 'zset' ? JSON.stringify(await c.zRangeWithScores(key, 0, -1))
        : type;
      const raw = await c.sendCommand(['DUMP', key], { typeMapping: { 36: Buffer } } as never);
      out.push(`${key} ${type} ${value} ${Buffer.isBuffer(raw) ? raw.toString('latin1') : String(raw)}`);
    }
    return out.join('\n');
  };

  const options = (label: string) => ({
    createStore: async () => {
      const prefix = `sk_test_${label}_${randomBytes(6).toString('hex')}:`;
      const store = redisStore({ client: await client(), prefix });
      prefixes.set(store, prefix);
      await store.migrate();
      return store;
    },
    destroyStore: async (store: SessionStore) => dropKeys(prefixes.get(store)!),
    // A second connection stands in for another app server.
    createPeerStore: async (store: SessionStore) => redisStore({ client: await connect(), prefix: prefixes.get(store)! }),
    dump: async (store: SessionStore) => dumpKeys(prefixes.get(store)!),
  });

  runSessionConformance('redis', options('s'));
  runSessionStoreConformance('redis (run-all)', options('a'));

  describe('redisStore', () => {
    it('declares the session capability only', async () => {
      const store = redisStore({ client: await client(), prefix: 'sk_test_caps:' });
      expect(store.capabilities).toEqual({ activity: false, alerts: false });
      expect(store.kind).toBe('redis');
    });

    it('rejects a bad client or prefix with INVALID_CONFIG naming the field', async () => {
      const c = await client();
      const codeOf = (fn: () => unknown): unknown => {
        try {
          fn();
        } catch (err) {
          return isSessionError(err) ? [err.code, err.details?.field] : err;
        }
        return 'no error';
      };
      expect(codeOf(() => redisStore({ client: {} as never }))).toEqual(['INVALID_CONFIG', 'client']);
      expect(codeOf(() => redisStore({ client: c, prefix: 'a{b}:' }))).toEqual(['INVALID_CONFIG', 'prefix']);
      expect(codeOf(() => redisStore({ client: c, prefix: '' }))).toEqual(['INVALID_CONFIG', 'prefix']);
    });

    it('answers CLOSED after close(), and STORE_UNAVAILABLE when the client fails', async () => {
      const store = redisStore({ client: await client(), prefix: `sk_test_c_${randomBytes(4).toString('hex')}:` });
      await store.close();
      await expect(store.findById('x')).rejects.toMatchObject({ code: 'CLOSED' });
      const closed = createClient({ url: REDIS_URL });
      const broken = redisStore({ client: closed, prefix: 'sk_test_closed:' });
      await expect(broken.findById('x')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    });

    it('keys carry PEXPIREAT at the session end plus retainEnded; per-user keys share the {user} hash tag', async () => {
      const c = await client();
      const prefix = `sk_test_x_${randomBytes(4).toString('hex')}:`;
      try {
        const clock = manualClock(Date.now());
        const manager = createSessionManager({ store: redisStore({ client: c, prefix, retainEnded: '1h' }), clock: clock.now, idleTimeout: '30m' });
        const { session } = await manager.create({ userId: 'u1' });
        const keys = await keysOf(prefix);
        expect(keys.filter((k) => k.includes('{u1}')).length).toBe(4);
        const sessionKey = `${prefix}{u1}:s:${session.id}`;
        expect(await c.pExpireTime(sessionKey)).toBe(session.expiresAt + 3_600_000);
        await manager.revoke(session.id);
        expect(await c.pExpireTime(sessionKey)).toBe(Number(clock.now()) + 3_600_000);
        await manager.close();
      } finally {
        await dropKeys(prefix);
      }
    });

    it('the per-user live index keeps its live size over 10,000 create/revoke cycles', { timeout: 60_000 }, async () => {
      const c = await client();
      const prefix = `sk_test_i_${randomBytes(4).toString('hex')}:`;
      try {
        const store = redisStore({ client: c, prefix });
        const manager = createSessionManager({ store, clock: manualClock(Date.now()).now, maxSessionsPerUser: 3 });
        for (let i = 0; i < 10_000; i++) {
          const { session } = await manager.create({ userId: 'cycler' });
          await manager.revoke(session.id);
        }
        const kept = await manager.create({ userId: 'cycler' });
        expect(await c.zRange(`${prefix}{cycler}:live`, 0, -1)).toEqual([kept.session.id]);
        expect(await manager.count('cycler')).toBe(1);
        await manager.close();
      } finally {
        await dropKeys(prefix);
      }
    });

    it('a manager with redis for sessions and sqlite for activity and alerts works', async () => {
      const prefix = `sk_test_m_${randomBytes(4).toString('hex')}:`;
      const sqlite = sqliteStore({ filename: ':memory:' });
      await sqlite.migrate();
      try {
        const manager = createSessionManager({ store: redisStore({ client: await client(), prefix }), activityStore: sqlite, alertStore: sqlite });
        expect(manager.capabilities).toEqual({ activity: true, alerts: true });
        const { session, token } = await manager.create({ userId: 'mixed' });
        expect(await manager.validate(token)).toMatchObject({ ok: true });
        manager.activity.record(session.id, { type: 'export', category: 'data' });
        await manager.activity.flush();
        expect((await manager.activity.list({ sessionId: session.id })).items.map((r) => r.type)).toContain('export');
        expect(await manager.alerts.list({})).toMatchObject({ items: expect.any(Array) });
        await manager.revoke(session.id);
        expect(await manager.validate(token)).toMatchObject({ ok: false });
        await manager.close();
      } finally {
        await sqlite.close();
        await dropKeys(prefix);
      }
    });

    it('Redis down is STORE_UNAVAILABLE, never "logged out"; after a restart the same client serves again (scripts reloaded)', async () => {
      const server = await startThrowawayRedis();
      const own = createClient({ url: server.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } });
      own.on('error', () => {});
      try {
        await own.connect();
        const clock = manualClock(Date.now());
        const manager = createSessionManager({ store: redisStore({ client: own }), clock: clock.now });
        const { token } = await manager.create({ userId: 'outage' });
        expect(await manager.validate(token)).toMatchObject({ ok: true });
        await server.stop();
        await expect(manager.validate(token)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
        await expect(manager.create({ userId: 'outage' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
        await server.start();
        const deadline = Date.now() + 10_000;
        while (!own.isReady && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        // The restarted server is empty (nothing saved) and knows none of the scripts: EVALSHA gets
        // NOSCRIPT and the store falls back to EVAL.
        expect(await manager.validate(token)).toEqual({ ok: false, reason: 'unknown' });
        const again = await manager.create({ userId: 'outage' });
        expect(await manager.validate(again.token)).toMatchObject({ ok: true });
        await manager.close();
      } finally {
        if (own.isOpen) await own.close().catch(() => {});
        await server.destroy();
      }
    });
  });
});
