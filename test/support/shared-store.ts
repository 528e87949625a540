/**
 * One store shared by several app processes (test/support/scale-app.ts): a Redis key prefix or a
 * Postgres database of its own, which the caller creates with {@link createSharedStore} and every
 * process opens with {@link openSharedStore} from the same environment variables.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createClient } from 'redis';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { redisStore } from '../../adapters/storage/redis/index.js';
import type { SessionStore } from '../../src/index.js';
import { POSTGRES_URL, REDIS_URL } from './services.js';

export type SharedStoreKind = 'redis' | 'postgres';

const newRedisClient = (url: string) => createClient({ url });
type RedisClient = ReturnType<typeof newRedisClient>;

/** A store opened by one process; `close()` closes the store and whatever was opened for it. */
export interface OpenedStore {
  readonly store: SessionStore;
  /** The Redis client or pg pool behind the store, for what shares its connection (an invalidation channel). */
  readonly redis: RedisClient | null;
  readonly pool: pg.Pool | null;
  close(): Promise<void>;
}

/** The shared data, created by the test or bench: what the app processes are given, and a handle of its own. */
export interface SharedStore extends OpenedStore {
  readonly kind: SharedStoreKind;
  /** `SK_STORE` and the location (`SK_REDIS_URL` + `SK_REDIS_PREFIX`, or `SK_PG_URL`). */
  readonly env: Record<string, string>;
  /** Closes this process's handle, then deletes the prefix's keys or drops the database. */
  destroy(): Promise<void>;
}

/**
 * Creates an empty namespace on the machine's Redis or Postgres (named after `label` and a random
 * suffix), migrated, and opens it in this process.
 *
 * @example
 * const shared = await createSharedStore('redis', 'scale');
 * const app = startChild('scale-app.ts', shared.env);
 */
export async function createSharedStore(kind: SharedStoreKind, label: string): Promise<SharedStore> {
  const name = `sk_${label}_${randomBytes(5).toString('hex')}`;
  if (kind === 'redis') {
    const env = { SK_STORE: 'redis', SK_REDIS_URL: REDIS_URL, SK_REDIS_PREFIX: `${name}:` };
    const opened = await openSharedStore(env);
    return {
      ...opened,
      kind,
      env,
      async destroy() {
        const client = opened.redis!;
        const keys: string[] = [];
        for await (const batch of client.scanIterator({ MATCH: `${env.SK_REDIS_PREFIX}*`, COUNT: 1000 })) keys.push(...batch);
        for (let i = 0; i < keys.length; i += 500) await client.del(keys.slice(i, i + 500));
        await opened.close();
      },
    };
  }
  await adminQuery(`create database ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const env = { SK_STORE: 'postgres', SK_PG_URL: url.href };
  const opened = await openSharedStore(env);
  await opened.store.migrate();
  return {
    ...opened,
    kind,
    env,
    async destroy() {
      await opened.close();
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}

/**
 * Opens the store that `env` names (see {@link SharedStore.env}); `SK_PG_POOL_SIZE` sizes the pool
 * (default 4, so that a few processes stay well inside Postgres's connection limit).
 */
export async function openSharedStore(env: Record<string, string | undefined>): Promise<OpenedStore> {
  if (env.SK_STORE === 'redis') {
    const redis = newRedisClient(env.SK_REDIS_URL!);
    // Reconnects are the client's business; an 'error' without a listener would crash the process.
    redis.on('error', () => {});
    await redis.connect();
    const store = redisStore({ client: redis, prefix: env.SK_REDIS_PREFIX! });
    return {
      store,
      redis,
      pool: null,
      async close() {
        await store.close();
        if (redis.isOpen) await redis.close();
      },
    };
  }
  if (env.SK_STORE === 'postgres') {
    const pool = new pg.Pool({ connectionString: env.SK_PG_URL!, max: Number(env.SK_PG_POOL_SIZE ?? 4) });
    pool.on('error', () => {});
    const store = postgresStore({ pool });
    return {
      store,
      redis: null,
      pool,
      async close() {
        await store.close();
        await pool.end();
      },
    };
  }
  throw new Error(`SK_STORE must be redis or postgres, not ${String(env.SK_STORE)}`);
}

// --- internal ---

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
