import { Kysely, PostgresDialect, type PostgresPool as KyselyPostgresPool, type PostgresPoolClient as KyselyPostgresPoolClient } from 'kysely';
import type { Row, SqlDriver, SqlDriverCapabilities, Statement, TransactionBody } from '../sql/sql-driver.js';

/** A statement as the store sends it: named (prepared once per connection), rows as arrays. */
export interface PostgresQueryConfig {
  name?: string;
  text: string;
  values?: unknown[];
  rowMode?: 'array';
}

/** The part of a query result the store reads. */
export interface PostgresQueryResult {
  readonly rows: any[];
  readonly rowCount: number | null;
  readonly command: string;
}

/**
 * A client checked out of a {@link PostgresPool}: the methods the store uses, as `pg.PoolClient`
 * has them. Declared structurally so that this module's types do not depend on `pg`'s classes.
 */
export interface PostgresClient {
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
  query(config: PostgresQueryConfig): Promise<PostgresQueryResult>;
  /** Gives the client back; with an error, the pool discards it. */
  release(error?: Error | boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * The methods of a `pg.Pool` the store uses, declared structurally (as the SQLite adapter declares
 * its database): a `pg.Pool` fits, and so does any pool with the same four methods. The store calls
 * `end` and `on` only on a pool it opened itself.
 */
export interface PostgresPool {
  /** The callback form: the store attaches its 'error' listener in the tick the client is handed over. */
  connect(callback: (error: Error | undefined, client: PostgresClient | undefined, done: (release?: any) => void) => void): void;
  query(config: PostgresQueryConfig): Promise<PostgresQueryResult>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** What Postgres can do, as the shared store reads it. */
const POSTGRES_CAPABILITIES: SqlDriverCapabilities = Object.freeze({
  synchronous: false,
  // Each statement is a network round trip: concurrent validations share one.
  batchLookups: true,
  arrayParameters: true,
  writableCtes: true,
  jsonb: true,
  rowLocks: true,
  advisoryLocks: true,
  clusteredTables: false,
  collatedText: true,
});

/** SQLSTATE codes meaning the table or schema is missing. */
const MISSING_RELATION = new Set(['42P01', '3F000']);

/**
 * The SQL driver over a Postgres pool. `pool` is the pool, or, for a pool the store opens itself, a
 * function opening it on first use (so that loading the adapter does not load `pg`).
 */
export class PostgresDriver implements SqlDriver {
  readonly name = 'postgres';
  readonly capabilities = POSTGRES_CAPABILITIES;
  readonly db: Kysely<any>;
  readonly schema: string;
  #pool: PostgresPool | null;
  #opening: Promise<PostgresPool> | null = null;
  readonly #open: (() => Promise<PostgresPool>) | null;
  readonly #owned: boolean;

  constructor(pool: PostgresPool | (() => Promise<PostgresPool>), owned: boolean, schema: string) {
    this.#pool = typeof pool === 'function' ? null : pool;
    this.#open = typeof pool === 'function' ? pool : null;
    this.#owned = owned;
    this.schema = schema;
    // Kysely checks clients out too (the migrator's connection): through #lease, so they are listened to.
    const leased: KyselyPostgresPool = {
      connect: async () => {
        const lease = await this.#lease();
        return { query: lease.client.query.bind(lease.client) as unknown as KyselyPostgresPoolClient['query'], release: () => lease.release() };
      },
      end: async () => {},
    };
    this.db = new Kysely<any>({ dialect: new PostgresDialect({ pool: leased }) });
  }

  async query(statement: Statement, parameters: readonly unknown[]): Promise<Row[]> {
    const pool = this.#pool ?? (await this.#opened());
    return (await pool.query(toQueryConfig(statement, parameters))).rows as Row[];
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
        step = steps.next((await client.query(toQueryConfig(statement, parameters))).rows as Row[]);
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
    if (!this.#owned) return;
    const pool = this.#pool ?? (this.#opening === null ? null : await this.#opening.catch(() => null));
    await pool?.end();
  }

  // --- internal ---

  /** The pool the store opens itself, opened once on first use. */
  #opened(): Promise<PostgresPool> {
    this.#opening ??= this.#open!().then((pool) => (this.#pool = pool));
    return this.#opening;
  }

  /**
   * Checks a client out with an 'error' listener for as long as we hold it. pg emits 'error' on a
   * checked-out client whose connection dies (the server restarts, a network cut), and an 'error'
   * event nobody listens to kills the process. The query in flight fails anyway, and that failure
   * is what the caller sees (as STORE_UNAVAILABLE); the listener only records it, so the client is
   * released as broken and the pool discards it. Removed on release: a pool passed in does not
   * collect our listeners on its clients.
   */
  async #lease(): Promise<Lease> {
    const pool = this.#pool ?? (await this.#opened());
    return new Promise((resolve, reject) => {
      // The callback form: the listener is attached in the same tick the pool hands the client over.
      // After `await pool.connect()` it would come a microtask later, and the rest of the socket chunk
      // that completed the previous query (a FATAL from a dying server often follows in it) is
      // parsed before that.
      pool.connect((err, client) => {
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

/** A client checked out of the pool; release() gives it back, discarded if it or `broken` failed. */
interface Lease {
  readonly client: PostgresClient;
  release(broken?: Error): void;
}

/** A named query is parsed and planned once per connection, then only bound and executed; rows come as arrays. */
function toQueryConfig(statement: Statement, parameters: readonly unknown[]): PostgresQueryConfig {
  return { name: statement.name, text: statement.sql, values: parameters as unknown[], rowMode: 'array' };
}
