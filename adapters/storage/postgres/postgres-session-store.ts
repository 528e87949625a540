import pg from 'pg';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type { FullSessionStore } from '../../../src/contracts.js';
import type { LabStore } from '../../../src/labs/types.js';
import { SessionError } from '../../../src/errors.js';
import { checkIdentifier } from '../sql/schema.js';
import type { Row, SqlDriver, Statement, TransactionBody } from '../sql/sql-driver.js';
import { SqlSessionStore } from '../sql/sql-session-store.js';

/** Options of {@link postgresStore}: a connection string to open a pool for, or a `pg.Pool` you manage. */
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
      pool: pg.Pool;
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
export function postgresStore(options: PostgresStoreOptions): FullSessionStore & LabStore {
  if (options === null || typeof options !== 'object') {
    throw new SessionError('INVALID_CONFIG', 'postgresStore() expects { connectionString } or { pool }');
  }
  const schema = checkIdentifier(options.schema ?? 'public', 'schema');
  if (schema === '') throw new SessionError('INVALID_CONFIG', 'schema must not be empty');
  const tablePrefix = checkIdentifier(options.tablePrefix ?? '', 'tablePrefix');
  let pool: pg.Pool;
  let owned = false;
  if (options.pool !== undefined) {
    if (typeof options.pool.query !== 'function' || typeof options.pool.connect !== 'function') {
      throw new SessionError('INVALID_CONFIG', 'pool must be a pg.Pool');
    }
    pool = options.pool;
  } else if (typeof options.connectionString === 'string' && options.connectionString.length > 0) {
    const max = options.poolSize ?? 10;
    if (!Number.isSafeInteger(max) || max < 1) throw new SessionError('INVALID_CONFIG', 'poolSize must be a positive integer');
    // A database host that drops packets must not hang requests: connecting gives up after 5 s
    // (STORE_UNAVAILABLE), and TCP keepalive finds connections that died silently.
    pool = new pg.Pool({ connectionString: options.connectionString, max, connectionTimeoutMillis: 5000, keepAlive: true });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => {});
    owned = true;
  } else {
    throw new SessionError('INVALID_CONFIG', 'postgresStore() needs a non-empty connectionString or a pool');
  }
  return new SqlSessionStore(new PostgresDriver(pool, owned, schema), tablePrefix);
}

// --- internal ---

/** A client checked out of the pool; release() gives it back, discarded if it or `broken` failed. */
interface Lease {
  readonly client: pg.PoolClient;
  release(broken?: Error): void;
}

/** SQLSTATE codes meaning the table or schema is missing. */
const MISSING_RELATION = new Set(['42P01', '3F000']);

class PostgresDriver implements SqlDriver {
  readonly batchLookups = true;
  readonly dialect = 'postgres';
  readonly db: Kysely<any>;
  readonly schema: string;
  readonly #pool: pg.Pool;
  readonly #owned: boolean;

  constructor(pool: pg.Pool, owned: boolean, schema: string) {
    this.#pool = pool;
    this.#owned = owned;
    this.schema = schema;
    // Kysely checks clients out too (the migrator's connection): through #lease, so they are listened to.
    const leased: PostgresPool = {
      connect: async () => {
        const lease = await this.#lease();
        return { query: lease.client.query.bind(lease.client) as PostgresPoolClient['query'], release: () => lease.release() };
      },
      end: async () => {},
    };
    this.db = new Kysely<any>({ dialect: new PostgresDialect({ pool: leased }) });
  }

  async query(statement: Statement, parameters: readonly unknown[]): Promise<Row[]> {
    return (await this.#pool.query(toQueryConfig(statement, parameters))).rows;
  }

  async transaction<T>(lockKey: string | null, body: () => TransactionBody<T>): Promise<T> {
    const lease = await this.#lease();
    const { client } = lease;
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      if (lockKey !== null) {
        // Serialises writers for one user across every process sharing this database.
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`sessionkeeper:${this.schema}:${lockKey}`]);
      }
      const steps = body();
      let step = steps.next();
      while (!step.done) {
        const { statement, parameters } = step.value;
        step = steps.next((await client.query(toQueryConfig(statement, parameters))).rows);
      }
      await client.query('COMMIT');
      return step.value;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      throw err;
    } finally {
      // A client whose rollback failed is discarded rather than returned to the pool mid-transaction.
      lease.release(broken);
    }
  }

  isMissingTable(error: unknown): boolean {
    return MISSING_RELATION.has((error as { code?: string } | null)?.code ?? '');
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#pool.end();
  }

  /**
   * Checks a client out with an 'error' listener for as long as we hold it. pg emits 'error' on a
   * checked-out client whose connection dies (the server restarts, a network cut), and an 'error'
   * event nobody listens to kills the process. The query in flight fails anyway, and that failure
   * is what the caller sees (as STORE_UNAVAILABLE); the listener only records it, so the client is
   * released as broken and the pool discards it. Removed on release: a pool passed in does not
   * collect our listeners on its clients.
   */
  #lease(): Promise<Lease> {
    return new Promise((resolve, reject) => {
      // The callback form: the listener is attached in the same tick the pool hands the client over.
      // After `await pool.connect()` it would come a microtask later, and the rest of the socket chunk
      // that completed the previous query (a FATAL from a dying server often follows in it) is
      // parsed before that.
      this.#pool.connect((err, client) => {
        if (err || client === undefined) return reject(err);
        let failure: Error | undefined;
        const onError = (error: Error) => void (failure ??= error);
        client.on('error', onError);
        resolve({
          client,
          release(broken) {
            try {
              client.release(failure ?? broken);
            } finally {
              client.removeListener('error', onError);
            }
          },
        });
      });
    });
  }
}

/** A named query is parsed and planned once per connection, then only bound and executed; rows come as arrays. */
function toQueryConfig(statement: Statement, parameters: readonly unknown[]): pg.QueryArrayConfig {
  return { name: statement.name, text: statement.sql, values: parameters as unknown[], rowMode: 'array' };
}
