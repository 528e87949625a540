import { stat, statSync } from 'node:fs';
import { Kysely, SqliteDialect } from 'kysely';
import { SessionError } from '../../../src/errors.js';
import type { Row, SqlDriver, SqlDriverCapabilities, Statement, TransactionBody } from '../sql/sql-driver.js';

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

/** The parts of a better-sqlite3 prepared `Statement` the store uses. */
export interface SqliteStatement {
  readonly reader: boolean;
  raw(toggle?: boolean): SqliteStatement;
  // better-sqlite3 binds an array of values to the anonymous parameters; no spread per call.
  get(parameters: readonly unknown[]): unknown;
  all(parameters: readonly unknown[]): unknown[];
  run(parameters: readonly unknown[]): unknown;
}

/** What SQLite can do, as the shared store reads it. */
const SQLITE_CAPABILITIES: SqlDriverCapabilities = Object.freeze({
  synchronous: true,
  // In-process: a lookup costs no round trip, so coalescing would only add latency.
  batchLookups: false,
  arrayParameters: false,
  writableCtes: false,
  jsonb: false,
  rowLocks: false,
  // BEGIN IMMEDIATE takes the database's single write lock instead.
  advisoryLocks: false,
  clusteredTables: true,
  collatedText: false,
});

const NO_PARAMETERS: readonly unknown[] = [];

/** How often a store checks that its file is still where it opened it. */
const FILE_CHECK_MS = 1000;

/**
 * The SQL driver over a better-sqlite3 database. better-sqlite3 is synchronous: each statement, and
 * each whole transaction body, runs to completion before any other code of this process, so nothing
 * can interleave on the shared connection and no transaction is ever left open across an await.
 */
export class SqliteDriver implements SqlDriver {
  readonly name = 'sqlite';
  readonly capabilities = SQLITE_CAPABILITIES;
  readonly schema = undefined;
  readonly db: Kysely<any>;
  readonly #database: SqliteDatabase;
  #control: { begin: SqliteStatement; commit: SqliteStatement; rollback: SqliteStatement } | null = null;
  readonly #owned: boolean;
  /** Prepared statements of this driver's database, by SQL text. */
  readonly #statements = new Map<string, SqliteStatement>();
  /** Set once the watched file is gone from its path; every statement then fails with it. */
  #lost: SessionError | null = null;
  #watch: NodeJS.Timeout | null = null;

  /** `owned`: close the database on close(); `filename`: watch that file (see #watchFile). */
  constructor(database: SqliteDatabase, owned: boolean, filename: string | undefined) {
    this.#database = database;
    this.#owned = owned;
    this.db = new Kysely<any>({ dialect: new SqliteDialect({ database: database as never }) });
    if (filename !== undefined) this.#watchFile(filename);
  }

  async query(statement: Statement, parameters: readonly unknown[]): Promise<Row[]> {
    return this.querySync(statement, parameters);
  }

  /** Runs the statement now; an arrow function so the store can hold it without binding. */
  readonly querySync = (statement: Statement, parameters: readonly unknown[]): Row[] => {
    if (this.#lost !== null) throw this.#lost;
    return this.#execute(statement, parameters);
  };

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
        this.#lost = new SessionError(
          'STORE_UNAVAILABLE',
          `The sqlite store's database file ${filename} was removed or replaced while open; restore it and restart the app`,
        );
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
