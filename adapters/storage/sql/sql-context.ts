import type { Kysely } from 'kysely';
import { invalidConfig, SessionError } from '../../../src/errors.js';
import { LabError } from '../../../src/labs/types.js';
import { bind, VariantCache, type Prepared, type Values } from './prepared.js';
import { migrateToLatest } from './schema.js';
import { tableNames, type SqlTableNames } from './tables.js';
import type { Row, SqlDriver, SqlDriverCapabilities, Statement, TransactionBody } from './sql-driver.js';

/**
 * What the capability stores of one SQL store share: the driver, the table names, whether the store
 * is closed, the statements compiled on demand, and the one place statements run and driver errors
 * become `SessionError`s. Nothing here is shared between two stores.
 */
export class SqlStoreContext {
  /** The engine's name, for messages. */
  readonly kind: string;
  readonly driver: SqlDriver;
  readonly capabilities: SqlDriverCapabilities;
  readonly tables: SqlTableNames;
  /** Kysely in the store's schema, for building statements. */
  readonly db: Kysely<any>;
  /** Statements whose shape depends on a call's filters, compiled on first use. */
  readonly variants = new VariantCache();
  readonly #querySync: ((statement: Statement, parameters: readonly unknown[]) => Row[]) | undefined;
  #closed = false;

  constructor(driver: SqlDriver, tablePrefix: string) {
    if (driver.capabilities.synchronous !== (typeof driver.querySync === 'function')) {
      invalidConfig(`the ${driver.name} driver`, 'must offer querySync() exactly when it declares capabilities.synchronous');
    }
    this.kind = driver.name;
    this.driver = driver;
    this.capabilities = driver.capabilities;
    this.tables = tableNames(tablePrefix);
    this.db = driver.schema === undefined ? driver.db : driver.db.withSchema(driver.schema);
    this.#querySync = driver.querySync?.bind(driver);
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Throws `CLOSED` once the store is closed. */
  assertOpen(): void {
    if (this.#closed) throw new SessionError('CLOSED', `The ${this.kind} store is closed`);
  }

  /** Runs one statement outside a transaction; driver errors become `SessionError`s. */
  async run(operation: string, prepared: Prepared, values: Values): Promise<Row[]> {
    this.assertOpen();
    try {
      return await this.driver.query(prepared.statement, bind(prepared, values));
    } catch (err) {
      throw this.error(err, operation);
    }
  }

  /**
   * {@link run} without the promise, for the hot paths of a synchronous driver; callers check
   * `capabilities.synchronous` first (the constructor checked that the driver then has querySync).
   */
  runSync(operation: string, prepared: Prepared, values: Values): Row[] {
    this.assertOpen();
    try {
      return this.#querySync!(prepared.statement, bind(prepared, values));
    } catch (err) {
      throw this.error(err, operation);
    }
  }

  /** Runs a transaction body (see {@link SqlDriver.transaction}); driver errors become `SessionError`s. */
  async transaction<T>(operation: string, lockKey: string | null, body: () => TransactionBody<T>): Promise<T> {
    this.assertOpen();
    try {
      return await this.driver.transaction(lockKey, body);
    } catch (err) {
      throw this.error(err, operation);
    }
  }

  /** Maps a driver error; our own errors (thrown inside a transaction body) pass through unchanged. */
  error(err: unknown, operation: string): SessionError | LabError {
    if (err instanceof SessionError || err instanceof LabError) return err;
    if (this.driver.isMissingTable(err)) {
      return new SessionError('STORE_NOT_MIGRATED', `The ${this.kind} store has no sessions table; call store.migrate() first`, { cause: err });
    }
    const detail = err instanceof Error ? err.message : String(err);
    return new SessionError('STORE_UNAVAILABLE', `The ${this.kind} store failed during ${operation}: ${detail}`, { cause: err });
  }

  /** Creates or upgrades every table of the store. */
  async migrate(): Promise<void> {
    this.assertOpen();
    try {
      await migrateToLatest(this.driver, this.tables);
    } catch (err) {
      throw this.error(err, 'migrate');
    }
  }

  /** Closes the driver once; later calls of any store sharing this context throw `CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.driver.close();
  }
}
