import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { SessionStore } from '../../../src/contracts.js';
import { SessionError } from '../../../src/errors.js';
import { checkIdentifier } from '../sql/schema.js';
import type { Row, SqlDriver, Statement, TransactionBody } from '../sql/sql-driver.js';
import { SqlSessionStore } from '../sql/sql-session-store.js';

/**
 * The parts of a better-sqlite3 `Database` the store uses, declared structurally so that this
 * module's types do not depend on `@types/better-sqlite3`.
 */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  close(): unknown;
  readonly open: boolean;
  readonly inTransaction: boolean;
}

const NO_PARAMETERS: readonly unknown[] = [];

export interface SqliteStatement {
  readonly reader: boolean;
  raw(toggle?: boolean): SqliteStatement;
  // better-sqlite3 binds an array of values to the anonymous parameters; no spread per call.
  get(parameters: readonly unknown[]): unknown;
  all(parameters: readonly unknown[]): unknown[];
  run(parameters: readonly unknown[]): unknown;
}

/** Options of {@link sqliteStore}: a file to open, or a better-sqlite3 database you manage. */
export type SqliteStoreOptions = (
  | {
      /** Path of the database file (created if missing), or `':memory:'`. The store opens and closes it. */
      filename: string;
      database?: never;
    }
  | {
      /** An open better-sqlite3 database. The store never closes it and leaves its pragmas alone. */
      database: SqliteDatabase;
      filename?: never;
    }
) & {
  /** Prefix of the table names, e.g. `'auth_'` gives `auth_sessions`. Default `''`. */
  tablePrefix?: string;
};

/**
 * A store in a SQLite database through better-sqlite3: sessions survive restarts with no server to
 * run. A file the store opens itself is put in WAL mode with a 5 s busy timeout, so several processes
 * may share it; each write that enforces a limit runs in a `BEGIN IMMEDIATE` transaction.
 *
 * @example
 * const store = sqliteStore({ filename: 'sessions.db' });
 * await store.migrate();
 * const sessions = createSessionManager({ store });
 */
export function sqliteStore(options: SqliteStoreOptions): SessionStore {
  if (options === null || typeof options !== 'object') throw new SessionError('INVALID_CONFIG', 'sqliteStore() expects { filename } or { database }');
  const tablePrefix = checkIdentifier(options.tablePrefix ?? '', 'tablePrefix');
  let database: SqliteDatabase;
  let owned = false;
  if (options.database !== undefined) {
    if (typeof options.database.prepare !== 'function') {
      throw new SessionError('INVALID_CONFIG', 'database must be a better-sqlite3 Database');
    }
    database = options.database;
  } else if (typeof options.filename === 'string' && options.filename.length > 0) {
    try {
      database = new Database(options.filename) as unknown as SqliteDatabase;
    } catch (err) {
      throw new SessionError('STORE_UNAVAILABLE', `Cannot open SQLite database ${options.filename}: ${(err as Error).message}`, { cause: err });
    }
    owned = true;
    database.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  } else {
    throw new SessionError('INVALID_CONFIG', 'sqliteStore() needs a non-empty filename or an open database');
  }
  return new SqlSessionStore(new SqliteDriver(database, owned), tablePrefix);
}

// --- internal ---

/**
 * better-sqlite3 is synchronous: each statement, and each whole transaction body, runs to completion
 * before any other code of this process, so nothing can interleave on the shared connection and no
 * transaction is ever left open across an await.
 */
class SqliteDriver implements SqlDriver {
  readonly batchLookups = false;
  readonly dialect = 'sqlite';
  readonly schema = undefined;
  readonly db: Kysely<any>;
  readonly #database: SqliteDatabase;
  #control: { begin: SqliteStatement; commit: SqliteStatement; rollback: SqliteStatement } | null = null;
  readonly #owned: boolean;
  readonly #statements = new Map<string, SqliteStatement>();

  constructor(database: SqliteDatabase, owned: boolean) {
    this.#database = database;
    this.#owned = owned;
    this.db = new Kysely<any>({ dialect: new SqliteDialect({ database: database as never }) });
  }

  query(statement: Statement, parameters: readonly unknown[]): Row[] {
    return this.#execute(statement, parameters);
  }

  async transaction<T>(_lockKey: string | null, body: () => TransactionBody<T>): Promise<T> {
    // IMMEDIATE takes the write lock up front, so a limit check and its insert see one state even
    // when other processes share the file.
    // Prepared once: exec() would parse the SQL text again on every transaction.
    const control = (this.#control ??= {
      begin: this.#database.prepare('BEGIN IMMEDIATE'),
      commit: this.#database.prepare('COMMIT'),
      rollback: this.#database.prepare('ROLLBACK'),
    });
    control.begin.run(NO_PARAMETERS);
    try {
      const steps = body();
      let step = steps.next();
      while (!step.done) step = steps.next(this.#execute(step.value.statement, step.value.parameters));
      control.commit.run(NO_PARAMETERS);
      return step.value;
    } catch (err) {
      if (this.#database.inTransaction) control.rollback.run(NO_PARAMETERS);
      throw err;
    }
  }

  isMissingTable(error: unknown): boolean {
    return error instanceof Error && /no such table/i.test(error.message);
  }

  async close(): Promise<void> {
    this.#statements.clear();
    if (this.#owned && this.#database.open) this.#database.close();
  }

  #execute(statement: Statement, parameters: readonly unknown[]): Row[] {
    let prepared = this.#statements.get(statement.sql);
    if (prepared === undefined) {
      prepared = this.#database.prepare(statement.sql);
      // Rows as arrays: no object with named keys built per row.
      if (prepared.reader) prepared.raw(true);
      this.#statements.set(statement.sql, prepared);
    }
    if (!prepared.reader) {
      prepared.run(parameters);
      return [];
    }
    if (!statement.single) return prepared.all(parameters) as Row[];
    // get() steps once; for UPDATE ... RETURNING SQLite applies the change on that first step.
    const row = prepared.get(parameters) as Row | undefined;
    return row === undefined ? [] : [row];
  }
}
