import type { Kysely } from 'kysely';

/** A statement compiled once by kysely, executed many times with different values. */
export interface Statement {
  /** Stable name derived from the SQL text (Postgres uses it to prepare the statement once per connection). */
  readonly name: string;
  readonly sql: string;
  /** Returns at most one row (lookups and updates by key), so SQLite can step it just once. */
  readonly single: boolean;
}

/** One execution of a statement with its positional values. */
export interface BoundStatement {
  readonly statement: Statement;
  readonly parameters: readonly unknown[];
}

/**
 * The body of a transaction: yields each statement and receives its rows. A generator rather than an
 * async callback so that SQLite can run the whole body synchronously between BEGIN and COMMIT (no
 * other code can interleave on the shared connection), while Postgres awaits each statement.
 */
export type TransactionBody<T> = Generator<BoundStatement, T, Row[]>;

/** A result row as an array of column values, in the order of the statement's select list. */
export type Row = readonly unknown[];

/**
 * What the shared SQL store needs from a dialect. Kysely builds and compiles every statement and runs
 * the migrations; the driver executes the compiled text directly with the database client, so the hot
 * paths reuse prepared statements instead of building a query per call.
 */
export interface SqlDriver {
  readonly dialect: 'sqlite' | 'postgres';
  /** Kysely over the same database, for compiling statements and running the migrator. */
  readonly db: Kysely<any>;
  /**
   * Whether concurrent token lookups should be coalesced into one `= any($1)` query: worth it where
   * each statement costs a network round trip (Postgres), not for an in-process database (SQLite).
   */
  readonly batchLookups: boolean;
  /** Postgres schema holding the tables; undefined for SQLite. */
  readonly schema: string | undefined;
  /**
   * Runs one statement outside a transaction and returns its rows (empty without RETURNING). An
   * in-process database (SQLite) returns them synchronously, sparing the hot path a promise.
   */
  query(statement: Statement, parameters: readonly unknown[]): Row[] | Promise<Row[]>;
  /**
   * Runs `fn` in one transaction that also serialises writers for `lockKey` (a user id) across
   * processes: Postgres takes a transaction-scoped advisory lock on it; SQLite's `BEGIN IMMEDIATE`
   * already holds the database's single write lock. Rolls back if the body throws.
   */
  transaction<T>(lockKey: string | null, body: () => TransactionBody<T>): Promise<T>;
  /** True when the error means a table or schema does not exist (migrate() was not run). */
  isMissingTable(error: unknown): boolean;
  /** Closes what the driver opened itself; never a database or pool passed in by the caller. */
  close(): Promise<void>;
}
