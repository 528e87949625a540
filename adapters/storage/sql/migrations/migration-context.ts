import { sql, type CreateTableBuilder, type Kysely, type Migration, type SchemaModule } from 'kysely';
import type { SqlTableNames } from '../tables.js';
import type { SqlDriverCapabilities } from '../sql-driver.js';

/** What a migration needs to know about the store it migrates. */
export interface MigrationContext {
  readonly tables: SqlTableNames;
  readonly capabilities: SqlDriverCapabilities;
  /** The schema builder, in the store's schema where the engine has schemas. */
  schemaOf(db: Kysely<any>): SchemaModule;
}

/** One versioned migration, built for a store; never edit a released one, add the next instead. */
export type MigrationFactory = (context: MigrationContext) => Migration;

/**
 * The type of an id column that lists are ordered by: a binary collation where text compares by the
 * database's collation (Postgres), so ids order as JavaScript orders them and cursors mean the same
 * thing on every store.
 */
export function orderedIdType(context: MigrationContext) {
  return context.capabilities.collatedText ? sql`text collate "C"` : sql`text`;
}

/** A keyed table stored clustered by its key where the engine can (SQLite `WITHOUT ROWID`): one B-tree search per lookup. */
export function clustered<T extends CreateTableBuilder<string, string>>(context: MigrationContext, table: T): T {
  return context.capabilities.clusteredTables ? (table.modifyEnd(sql`without rowid`) as T) : table;
}
