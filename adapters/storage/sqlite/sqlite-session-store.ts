import { stat, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { FullSessionStore } from '../../../src/contracts.js';
import type { LabStore } from '../../../src/labs/types.js';
import { parseDuration, type Duration } from '../../../src/duration.js';
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
      /**
       * How long a write waits for another connection's lock before it fails with `STORE_UNAVAILABLE`.
       * better-sqlite3 waits synchronously: the whole process stalls for that long. Default `'5s'`.
       */
      busyTimeout?: Duration;
      database?: never;
    }
  | {
      /** An open better-sqlite3 database. The store never closes it and leaves its pragmas alone. */
      database: SqliteDatabase;
      filename?: never;
      busyTimeout?: never;
    }
) & {
  /** Prefix of the table names, e.g. `'auth_'` gives `auth_sessions`. Default `''`. */
  tablePrefix?: string;
};

/**
 * A store in a SQLite database through better-sqlite3: sessions survive restarts with no server to
 * run. A file the store opens itself is put in WAL mode with a busy timeout (5 s unless
 * `busyTimeout` says otherwise), so several processes may share it; each write that enforces a limit
 * runs in a `BEGIN IMMEDIATE` transaction. Such a file is also watched: once its path no longer names
 * the file the store has open (deleted, its directory removed, replaced), every call fails with
 * `STORE_UNAVAILABLE` within a second, rather than writing sessions into a file nobody will read again.
 *
 * @example
 * const store = sqliteStore({ filename: 'sessions.db' });
 * await store.migrate();
 * const sessions = createSessionManager({ store });
 */
export function sqliteStore(options: SqliteStoreOptions): FullSessionStore & LabStore {
  if (options === null || typeof options !== 'object') throw new SessionError('INVALID_CONFIG', 'sqliteStore() expects { filename } or { database }');
  const tablePrefix = checkIdentifier(options.tablePrefix ?? '', 'tablePrefix');
  let database: SqliteDatabase;
  let owned = false;
  let filename: string | undefined;
  if (options.database !== undefined) {
    if (typeof options.database.prepare !== 'function') {
      throw new SessionError('INVALID_CONFIG', 'database must be a better-sqlite3 Database');
    }
    database = options.database;
  } else if (typeof options.filename === 'string' && options.filename.length > 0) {
    const busyMs = parseDuration(options.busyTimeout ?? '5s', 'busyTimeout');
    let opened: SqliteDatabase | undefined;
    try {
      opened = new Database(options.filename) as unknown as SqliteDatabase;
      // The first statement reads the file: a file that is not a database fails here.
      opened.exec(`PRAGMA busy_timeout = ${busyMs}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;`);
    } catch (err) {
      if (opened?.open) opened.close();
      throw new SessionError('STORE_UNAVAILABLE', `Cannot open SQLite database ${options.filename}: ${(err as Error).message}`, { cause: err });
    }
    database = opened;
    owned = true;
    filename = options.filename === ':memory:' ? undefined : options.filename;
  } else {
    throw new SessionError('INVALID_CONFIG', 'sqliteStore() needs a non-empty filename or an open database');
  }
  return new SqlSessionStore(new SqliteDriver(database, owned, filename), tablePrefix);
}

// --- internal ---

/** How often a store checks that its file is still where it opened it. */
const FILE_CHECK_MS = 1000;

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
  /** Set once the watched file is gone from its path; every statement then fails with it. */
  #lost: Error | null = null;
  #watch: NodeJS.Timeout | null = null;

  constructor(database: SqliteDatabase, owned: boolean, filename: string | undefined) {
    this.#database = database;
    this.#owned = owned;
    this.db = new Kysely<any>({ dialect: new SqliteDialect({ database: database as never }) });
    if (filename !== undefined) this.#watchFile(filename);
  }

  query(statement: Statement, parameters: readonly unknown[]): Row[] {
    if (this.#lost !== null) throw this.#lost;
    return this.#execute(statement, parameters);
  }

  async transaction<T>(_lockKey: string | null, body: () => TransactionBody<T>): Promise<T> {
    if (this.#lost !== null) throw this.#lost;
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
    if (this.#watch !== null) clearInterval(this.#watch);
    this.#statements.clear();
    if (this.#owned && this.#database.open) this.#database.close();
  }

  /**
   * On Linux a deleted file stays readable and writable through the open descriptor: the store would
   * go on validating and creating sessions in a file no other process, and no restart, will see
   * (a revocation made there would be undone by the restart). Checked on a timer, off the hot path.
   */
  #watchFile(filename: string): void {
    const opened = statSync(filename);
    let checking = false;
    this.#watch = setInterval(() => {
      if (checking) return;
      checking = true;
      stat(filename, (error, current) => {
        checking = false;
        const gone = error ? error.code === 'ENOENT' || error.code === 'ENOTDIR' : current.ino !== opened.ino || current.dev !== opened.dev;
        if (!gone || this.#lost !== null) return;
        this.#lost = new Error(`the database file ${filename} was removed or replaced while open; restore it and restart the app`);
        clearInterval(this.#watch!);
      });
    }, FILE_CHECK_MS).unref();
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
