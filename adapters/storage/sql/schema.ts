import { Migrator } from 'kysely';
import { SessionError } from '../../../src/errors.js';
import { migrationsFor } from './migrations/index.js';
import type { SqlDriver } from './sql-driver.js';

/** Names of the tables a SQL store uses, after `tablePrefix` is applied. */
export interface SqlTableNames {
  sessions: string;
  activity: string;
  alerts: string;
  rotatedTokens: string;
  counters: string;
  labs: string;
  migrations: string;
  migrationLock: string;
}

const PREFIX_PATTERN = /^[a-z_][a-z0-9_]{0,30}$/;

/** Validates a table prefix or schema name; they are identifiers, never user input. */
export function checkIdentifier(value: string, field: string): string {
  if (typeof value !== 'string' || (value !== '' && !PREFIX_PATTERN.test(value))) {
    throw new SessionError('INVALID_CONFIG', `${field} must match ${PREFIX_PATTERN} (lowercase letters, digits, underscores)`);
  }
  return value;
}

/** The table names for a `tablePrefix` (already checked by {@link checkIdentifier}). */
export function tableNames(prefix: string): SqlTableNames {
  return {
    sessions: `${prefix}sessions`,
    activity: `${prefix}activity`,
    alerts: `${prefix}alerts`,
    rotatedTokens: `${prefix}rotated_tokens`,
    counters: `${prefix}counters`,
    labs: `${prefix}labs`,
    migrations: `${prefix}migrations`,
    migrationLock: `${prefix}migrations_lock`,
  };
}

/**
 * Applies every pending migration with kysely's Migrator, which records applied versions in its own
 * table and holds a lock row while migrating, so concurrent `migrate()` calls from several processes
 * are safe and repeated calls do nothing.
 */
export async function migrateToLatest(driver: SqlDriver, tables: SqlTableNames): Promise<void> {
  const { schema } = driver;
  const context = {
    tables,
    capabilities: driver.capabilities,
    schemaOf: (db: typeof driver.db) => (schema === undefined ? db.schema : db.schema.withSchema(schema)),
  };
  const migrator = new Migrator({
    db: driver.db,
    provider: { getMigrations: async () => migrationsFor(context) },
    migrationTableName: tables.migrations,
    migrationLockTableName: tables.migrationLock,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new SessionError('STORE_UNAVAILABLE', `Migration ${failed ?? ''} failed: ${String((error as Error)?.message ?? error)}`, {
      cause: error,
    });
  }
}
