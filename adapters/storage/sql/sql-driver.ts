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
 * async callback so that a synchronous driver (SQLite) can run the whole body between BEGIN and
 * COMMIT with no other code interleaving on the shared connection, while Postgres awaits each statement.
 */
export type TransactionBody<T> = Generator<BoundStatement, T, Row[]>;

/** A result row as an array of column values, in the order of the statement's select list. */
export type Row = readonly unknown[];

/**
 * What a database engine can do, as flags the shared store reads instead of comparing dialect names
 * (kysely's `supportsReturning` style). Each flag picks a cheaper or safer statement where the engine
 * offers one; the store has a correct path for either value of every flag.
 */
export interface SqlDriverCapabilities {
  /**
   * Statements run to completion in the calling thread ({@link SqlDriver.querySync} exists): a read
   * followed by a write with no await in between sees no other statement of this process.
   */
  readonly synchronous: boolean;
  /**
   * Concurrent token lookups are worth coalescing into one `= any($1)` query: true where each
   * statement costs a network round trip. Requires {@link arrayParameters}.
   */
  readonly batchLookups: boolean;
  /** A parameter may be bound to an array (`= any($1)`, `unnest($1::text[], ...)`). */
  readonly arrayParameters: boolean;
  /** INSERT/UPDATE inside a `WITH` clause, so a write and its follow-up take one round trip. */
  readonly writableCtes: boolean;
  /** A `jsonb` type whose `||` merges objects, so a metadata patch is one UPDATE. */
  readonly jsonb: boolean;
  /** `SELECT ... FOR UPDATE` locks the rows it reads until the transaction ends. */
  readonly rowLocks: boolean;
  /**
   * `transaction(lockKey)` serialises on a per-key advisory lock; without it the driver's
   * transaction holds the database's single write lock, which serialises every key at once.
   */
  readonly advisoryLocks: boolean;
  /** Tables may be stored clustered by their primary key (SQLite `WITHOUT ROWID`). */
  readonly clusteredTables: boolean;
  /** Text compares by the collation of the database unless a column says `collate "C"` (Postgres). */
  readonly collatedText: boolean;
}

/**
 * What the shared SQL store needs from a dialect. Kysely builds and compiles every statement and runs
 * the migrations; the driver executes the compiled text directly with the database client, so the hot
 * paths reuse prepared statements instead of building a query per call.
 */
export interface SqlDriver {
  /** The engine's name, for messages and `store.kind` only; behaviour follows {@link capabilities}. */
  readonly name: string;
  readonly capabilities: SqlDriverCapabilities;
  /** Kysely over the same database, for compiling statements and running the migrator. */
  readonly db: Kysely<any>;
  /** Schema holding the tables; undefined where the engine has none (SQLite). */
  readonly schema: string | undefined;
  /** Runs one statement outside a transaction and returns its rows (empty without RETURNING). */
  query(statement: Statement, parameters: readonly unknown[]): Promise<Row[]>;
  /** Present exactly when `capabilities.synchronous`: {@link query} without the promise, for hot paths. */
  readonly querySync?: (statement: Statement, parameters: readonly unknown[]) => Row[];
  /**
   * Runs `body` in one transaction that also serialises writers for `lockKey` (a user id) across
   * processes: an advisory lock on it where `capabilities.advisoryLocks`, otherwise the database's
   * write lock taken at BEGIN. Rolls back if the body throws.
   */
  transaction<T>(lockKey: string | null, body: () => TransactionBody<T>): Promise<T>;
  /** True when the error means a table or schema does not exist (migrate() was not run). */
  isMissingTable(error: unknown): boolean;
  /** Closes what the driver opened itself; never a database or pool passed in by the caller. */
  close(): Promise<void>;
}
