import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresInvalidation, postgresStore } from '../../adapters/storage/postgres/index.js';
import { redisInvalidation, redisStore } from '../../adapters/storage/redis/index.js';
import { createSessionManager, type SessionInvalidation, type SessionManager, type SessionStore } from '../../src/index.js';
import { countingStore } from '../support/invalidation-bus.js';
import { POSTGRES_URL, probePostgres, probeRedis, REDIS_URL, serviceGate } from '../support/services.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../support/throwaway-redis.js';

/** One app server: a manager with a cache whose entries outlive the test, so only invalidation refuses. */
interface Server {
  manager: SessionManager;
  calls: Record<string, number>;
}

const serve = (store: SessionStore, invalidation: SessionInvalidation): Server => {
  const { store: counted, calls } = countingStore(store);
  const errors: unknown[] = [];
  const manager = createSessionManager({
    store: counted,
    activity: false,
    alerts: false,
    touchInterval: '10m',
    idleTimeout: '1h',
    cache: { ttl: '1h', invalidation, onError: (error) => errors.push(error) },
  });
  return { manager, calls };
};

/** Polls until `check` holds, at most `ms`; resolves to whether it did. */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `b` serves a fresh session of `a` from its cache; `a` revokes it; `b` refuses it soon after. */
async function revokePropagates(a: Server, b: Server): Promise<void> {
  const { token, session } = await a.manager.create({ userId: `u-${randomBytes(4).toString('hex')}` });
  // The cache fills once the channel has subscribed.
  expect(await eventually(async () => {
    const reads = b.calls.findByTokenHash!;
    await b.manager.validate(token);
    return b.calls.findByTokenHash === reads;
  })).toBe(true);
  await a.manager.revoke(session.id);
  expect(await eventually(async () => !(await b.manager.validate(token)).ok)).toBe(true);
  expect(await b.manager.validate(token)).toEqual({ ok: false, reason: 'revoked' });
}

/** After an outage of `b`'s listener: its cache was dropped, and messages reach it again. */
async function recovers(a: Server, b: Server, breakListener: () => Promise<void>, restore: () => Promise<void>): Promise<void> {
  const { token, session } = await a.manager.create({ userId: 'u-outage' });
  await b.manager.validate(token);
  await b.manager.validate(token);
  const reads = b.calls.findByTokenHash!;
  await breakListener();
  // Dropped by the listener's failure: the next validate asks the store.
  expect(await eventually(async () => {
    await b.manager.validate(token);
    return b.calls.findByTokenHash! > reads;
  })).toBe(true);
  await restore();
  // Revokes that b was told of are refused at once, so only a resumed subscription passes this.
  expect(await eventually(async () => {
    const probe = await a.manager.create({ userId: 'u-outage' });
    await b.manager.validate(probe.token);
    const before = b.calls.findByTokenHash!;
    await b.manager.validate(probe.token);
    if (b.calls.findByTokenHash !== before) return false; // not cached yet (a drop after reconnect)
    await a.manager.revoke(probe.session.id);
    return eventually(async () => !(await b.manager.validate(probe.token)).ok, 500);
  }, 15_000)).toBe(true);
  await a.manager.revoke(session.id);
}

const newClient = (url: string) => createClient({ url });
type Client = ReturnType<typeof newClient>;

const redisReachable = serviceGate('Redis', await probeRedis());

describe.runIf(redisReachable)('redisInvalidation', () => {
  const prefix = `sk:test-cache-${randomBytes(4).toString('hex')}:`;
  const clients: Client[] = [];
  const servers: Server[] = [];
  let throwaway: ThrowawayRedis;
  const connect = async (url = REDIS_URL) => {
    const client = newClient(url);
    client.on('error', () => {});
    await client.connect();
    clients.push(client);
    return client;
  };
  /** A server whose store is on the shared Redis and whose channel is on `channelUrl`. */
  const server = async (channelUrl: string, channel: string): Promise<Server> => {
    const s = serve(redisStore({ client: await connect(), prefix }), redisInvalidation({ client: await connect(channelUrl), channel }));
    servers.push(s);
    return s;
  };
  beforeAll(async () => {
    throwaway = await startThrowawayRedis();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.manager.close().catch(() => {})));
    const client = await connect();
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
    await Promise.all(clients.map((c) => (c.isOpen ? c.close() : undefined)));
    await throwaway?.destroy();
  });

  it('a revoke on one server is refused by the other', async () => {
    const channel = `${prefix}invalidate`;
    await revokePropagates(await server(REDIS_URL, channel), await server(REDIS_URL, channel));
  });

  it('a subscriber whose Redis restarts drops its cache, then hears messages again', async () => {
    const a = await server(throwaway.url, 'invalidate');
    const b = await server(throwaway.url, 'invalidate');
    await revokePropagates(a, b);
    await recovers(a, b, () => throwaway.stop(), () => throwaway.start());
  });

  it('close() closes the subscriber connection it opened, not the caller client', async () => {
    const client = await connect();
    const before = await subscribers(client);
    const s = serve(redisStore({ client, prefix }), redisInvalidation({ client, channel: `${prefix}close` }));
    expect(await eventually(async () => (await subscribers(client)) === before + 1)).toBe(true);
    await s.manager.close();
    expect(await eventually(async () => (await subscribers(client)) === before)).toBe(true);
    expect(client.isOpen).toBe(true);
  });

  const subscribers = async (client: Client): Promise<number> => {
    const counts = (await client.sendCommand(['PUBSUB', 'NUMSUB', `${prefix}close`])) as [string, number];
    return Number(counts[1]);
  };
});

const postgresReachable = serviceGate('PostgreSQL', await probePostgres());

describe.runIf(postgresReachable)('postgresInvalidation', () => {
  const database = `sk_test_cache_${randomBytes(4).toString('hex')}`;
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
  const pools: pg.Pool[] = [];
  const servers: Server[] = [];
  const pool = () => {
    const p = new pg.Pool({ connectionString: url.href, max: 4 });
    p.on('error', () => {});
    pools.push(p);
    return p;
  };
  const server = (channel: string): Server => {
    const p = pool();
    const s = serve(postgresStore({ pool: p }), postgresInvalidation({ pool: p, channel }));
    servers.push(s);
    return s;
  };
  beforeAll(async () => {
    await admin.query(`CREATE DATABASE ${database}`);
    await postgresStore({ pool: pool() }).migrate();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.manager.close().catch(() => {})));
    await Promise.all(pools.map((p) => p.end()));
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('a revoke on one server is refused by the other', async () => {
    await revokePropagates(server('sk_invalidate'), server('sk_invalidate'));
  });

  it('a listener whose connection is killed drops its cache, reconnects and hears messages again', async () => {
    const a = server('sk_outage');
    const b = server('sk_outage');
    await revokePropagates(a, b);
    const kill = async () => {
      const { rowCount } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query = 'LISTEN sk_outage'`,
        [database],
      );
      // Both servers listen: both lose their connection, and b is what is watched.
      expect(rowCount).toBe(2);
    };
    await recovers(a, b, kill, async () => {});
  });

  it('splits a large revokeAll into payloads under the NOTIFY limit', async () => {
    const a = server('sk_batch');
    const b = server('sk_batch');
    const tokens: string[] = [];
    for (let i = 0; i < 400; i++) tokens.push((await a.manager.create({ userId: 'u-many' })).token);
    for (const token of tokens) await b.manager.validate(token);
    expect(await eventually(async () => {
      const reads = b.calls.findByTokenHash!;
      await b.manager.validate(tokens[0]!);
      return b.calls.findByTokenHash === reads;
    })).toBe(true);
    for (const token of tokens) await b.manager.validate(token);
    expect(await a.manager.revokeAll('u-many')).toBe(400);
    expect(await eventually(async () => {
      for (const token of tokens) if ((await b.manager.validate(token)).ok) return false;
      return true;
    })).toBe(true);
  });
});
