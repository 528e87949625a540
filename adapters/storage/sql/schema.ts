import { Migrator } from 'kysely';
import { SessionError } from '../../../src/errors.js';
import { migrationsFor } from './migrations/index.js';
import type { SqlDriver } from './sql-driver.js';
import type { SqlTableNames } from './tables.js';

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
