import Database from 'better-sqlite3';
import { parseDuration, type Duration } from '../../../src/duration.js';
import { invalidConfig, SessionError } from '../../../src/errors.js';
import { checkIdentifier } from '../sql/tables.js';
import { createSqlStore, type SqlStore } from '../sql/sql-store.js';
import { SqliteDriver, type SqliteDatabase } from './sqlite-driver.js';

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
export function sqliteStore(options: SqliteStoreOptions): SqlStore {
  if (options === null || typeof options !== 'object') invalidConfig('sqliteStore() options', 'must be { filename } or { database }');
  const tablePrefix = checkIdentifier(options.tablePrefix ?? '', 'tablePrefix');
  let database: SqliteDatabase;
  let owned = false;
  let filename: string | undefined;
  if (options.database !== undefined) {
    if (typeof options.database.prepare !== 'function') {
      invalidConfig('database', 'must be a better-sqlite3 Database');
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
    invalidConfig('filename', 'must be non-empty, or give an open database');
  }
  return createSqlStore(new SqliteDriver(database, owned, filename), tablePrefix);
}
