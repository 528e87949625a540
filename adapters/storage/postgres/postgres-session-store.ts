import { invalidConfig } from '../../../src/errors.js';
import { checkIdentifier } from '../sql/tables.js';
import { createSqlStore, type SqlStore } from '../sql/sql-store.js';
import { PostgresDriver, type PostgresPool } from './postgres-driver.js';

/**
 * Options of {@link postgresStore}: a connection string to open a pool for, or a pool you manage: a
 * `pg.Pool`, or anything with the methods of {@link PostgresPool}.
 */
export type PostgresStoreOptions = (
  | {
      /** e.g. `postgres://user@127.0.0.1:5432/app`. The store opens a pool and ends it on close(). */
      connectionString: string;
      /** Size of the pool the store opens. Default 10. */
      poolSize?: number;
      pool?: never;
    }
  | {
      /**
       * A pool you created. The store never ends it, and never adds a pool-level `'error'` listener to
       * it: attach `pool.on('error', ...)` yourself, or an idle client losing its connection (a
       * database restart) crashes the process. Clients the store checks out are covered while it holds them.
       */
      pool: PostgresPool;
      connectionString?: never;
      poolSize?: never;
    }
) & {
  /** Schema holding the tables; created by migrate() if missing. Default `'public'`. */
  schema?: string;
  /** Prefix of the table names, e.g. `'auth_'` gives `auth_sessions`. Default `''`. */
  tablePrefix?: string;
};

/**
 * A store in PostgreSQL through pg: for several app servers sharing sessions. Hot statements are
 * prepared once per connection; limits hold across processes through a per-user advisory lock.
 *
 * While the database is unreachable every call fails with `STORE_UNAVAILABLE` (the HTTP middleware
 * answers 503 and keeps the cookie); once it is back, the next calls succeed on fresh connections,
 * with no restart of the app. A connection dying under the store never crashes the process: each
 * client it checks out has an `'error'` listener while held, and the pool it opens has one too. A
 * pool you pass in is yours: give it `pool.on('error', ...)` (see {@link PostgresStoreOptions}).
 *
 * @example
 * const store = postgresStore({ connectionString: process.env.DATABASE_URL! });
 * await store.migrate();
 * const sessions = createSessionManager({ store, maxSessionsPerUser: 5 });
 */
export function postgresStore(options: PostgresStoreOptions): SqlStore {
  if (options === null || typeof options !== 'object') {
    invalidConfig('postgresStore() options', 'must be { connectionString } or { pool }');
  }
  const schema = checkIdentifier(options.schema ?? 'public', 'schema');
  if (schema === '') invalidConfig('schema', 'must not be empty');
  const tablePrefix = checkIdentifier(options.tablePrefix ?? '', 'tablePrefix');
  if (options.pool !== undefined) {
    if (typeof options.pool.query !== 'function' || typeof options.pool.connect !== 'function') {
      invalidConfig('pool', 'must be a pg.Pool (or have its connect and query methods)');
    }
    return createSqlStore(new PostgresDriver(options.pool, false, schema), tablePrefix);
  }
  if (typeof options.connectionString !== 'string' || options.connectionString.length === 0) {
    invalidConfig('connectionString', 'must be non-empty, or give a pool');
  }
  const max = options.poolSize ?? 10;
  if (!Number.isSafeInteger(max) || max < 1) invalidConfig('poolSize', 'must be a positive integer');
  const { connectionString } = options;
  return createSqlStore(new PostgresDriver(() => openPool(connectionString, max), true, schema), tablePrefix);
}

// --- internal ---

/**
 * Opens the pool of a store given a connection string, on the store's first statement: `pg` is
 * imported then, so loading this adapter (or its types) does not load `pg`.
 */
async function openPool(connectionString: string, max: number): Promise<PostgresPool> {
  const { default: pg } = await import('pg');
  // A database host that drops packets must not hang requests: connecting gives up after 5 s
  // (STORE_UNAVAILABLE), and TCP keepalive finds connections that died silently.
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 5000, keepAlive: true });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => {});
  return pool;
}
