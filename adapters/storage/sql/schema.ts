import { Migrator, sql, type CreateTableBuilder, type Kysely, type Migration } from 'kysely';
import type { ActivityRecord } from '../../../src/contracts.js';
import { SessionError } from '../../../src/errors.js';
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

/**
 * Columns a session is read from, in this order: statements return rows as arrays (cheaper than
 * objects on the hot path) and `toSession` reads them by position. Instants are epoch milliseconds
 * in BIGINT columns; `device` and `metadata` hold JSON text.
 */
export const SESSION_COLUMNS = [
  'id',
  'user_id',
  'tenant_id',
  'created_at',
  'last_active_at',
  'expires_at',
  'absolute_expires_at',
  'revoked_at',
  'revoke_reason',
  'ip',
  'user_agent',
  'device',
  'metadata',
  'device_key',
] as const;

/**
 * The activity table, column by column in the order rows are read: the ActivityRecord field each
 * column holds, and its Postgres type (for the array parameters of the batch insert).
 */
export const ACTIVITY_TABLE = [
  { column: 'id', field: 'id', pgType: 'text' },
  { column: 'session_id', field: 'sessionId', pgType: 'text' },
  { column: 'user_id', field: 'userId', pgType: 'text' },
  { column: 'ts', field: 'ts', pgType: 'int8' },
  { column: 'type', field: 'type', pgType: 'text' },
  { column: 'category', field: 'category', pgType: 'text' },
  { column: 'method', field: 'method', pgType: 'text' },
  { column: 'path', field: 'path', pgType: 'text' },
  { column: 'status', field: 'status', pgType: 'int4' },
  { column: 'duration_ms', field: 'durationMs', pgType: 'int8' },
  { column: 'bytes_in', field: 'bytesIn', pgType: 'int8' },
  { column: 'bytes_out', field: 'bytesOut', pgType: 'int8' },
  { column: 'resource_type', field: 'resourceType', pgType: 'text' },
  { column: 'resource_id', field: 'resourceId', pgType: 'text' },
  { column: 'details', field: 'details', pgType: 'text' },
] as const satisfies readonly { column: string; field: keyof ActivityRecord; pgType: string }[];

export const ACTIVITY_COLUMNS = ACTIVITY_TABLE.map((c) => c.column);

/** Columns an alert is read from, in this order. */
export const ALERT_COLUMNS = [
  'id',
  'user_id',
  'session_id',
  'type',
  'severity',
  'status',
  'created_at',
  'last_seen_at',
  'evidence',
  'dedup_key',
  'count',
  'updated_at',
  'note',
] as const;

/**
 * Columns a lab is read from, in this order. `subnet_held` is an integer 0/1 on both dialects (SQLite
 * has no boolean); `containers` and `error` hold JSON text.
 */
export const LAB_COLUMNS = [
  'id',
  'session_id',
  'user_id',
  'template',
  'status',
  'network_name',
  'network_id',
  'subnet',
  'gateway',
  'subnet_held',
  'containers',
  'created_at',
  'updated_at',
  'expires_at',
  'extensions',
  'stop_reason',
  'error',
] as const;

/** A row of {@link SESSION_COLUMNS}. */
export type SessionRow = readonly unknown[];

const PREFIX_PATTERN = /^[a-z_][a-z0-9_]{0,30}$/;

/** Validates a table prefix or schema name; they are identifiers, never user input. */
export function checkIdentifier(value: string, field: string): string {
  if (typeof value !== 'string' || (value !== '' && !PREFIX_PATTERN.test(value))) {
    throw new SessionError('INVALID_CONFIG', `${field} must match ${PREFIX_PATTERN} (lowercase letters, digits, underscores)`);
  }
  return value;
}

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
  const migrator = new Migrator({
    db: driver.db,
    provider: { getMigrations: async () => migrations(driver, tables) },
    migrationTableName: tables.migrations,
    migrationLockTableName: tables.migrationLock,
    ...(driver.schema === undefined ? {} : { migrationTableSchema: driver.schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new SessionError('STORE_UNAVAILABLE', `Migration ${failed ?? ''} failed: ${String((error as Error)?.message ?? error)}`, {
      cause: error,
    });
  }
}

// --- internal ---

/** Versioned migrations; never edit a released one, add the next instead. */
function migrations(driver: SqlDriver, tables: SqlTableNames): Record<string, Migration> {
  const schemaOf = (db: Kysely<any>) => (driver.schema === undefined ? db.schema : db.schema.withSchema(driver.schema));
  const t = tables.sessions;
  return {
    '0001_create_sessions': {
      async up(db) {
        const schema = schemaOf(db);
        // SQLite: a WITHOUT ROWID table keyed by the token hash makes validation one B-tree search
        // instead of two (index, then table), about 20% more lookups per second.
        const clusteredByToken = driver.dialect === 'sqlite';
        let table = schema
          .createTable(t)
          .addColumn('id', 'text', (c) => (clusteredByToken ? c.notNull().unique() : c.primaryKey()))
          .addColumn('token_hash', 'text', (c) => (clusteredByToken ? c.primaryKey() : c.notNull().unique()))
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('tenant_id', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_active_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('absolute_expires_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .addColumn('revoke_reason', 'text')
          .addColumn('ip', 'text')
          .addColumn('user_agent', 'text')
          .addColumn('device', 'text')
          // A short hash of the device JSON: validation reads this instead of the JSON itself.
          .addColumn('device_key', 'text')
          .addColumn('metadata', 'text', (c) => c.notNull());
        if (clusteredByToken) table = table.modifyEnd(sql`without rowid`);
        await table.execute();
        // Listing and limit checks read one user's sessions by recency.
        await schema.createIndex(`${t}_user_active_idx`).on(t).columns(['user_id', 'last_active_at']).execute();
        // cleanup() finds ended sessions by either deadline.
        await schema.createIndex(`${t}_expires_idx`).on(t).column('expires_at').execute();
        await schema.createIndex(`${t}_revoked_idx`).on(t).column('revoked_at').execute();
      },
    },
    '0002_create_activity': {
      async up(db) {
        const schema = schemaOf(db);
        const a = tables.activity;
        // Activity pages are ordered by (ts, id); a binary collation makes Postgres order ids as
        // JavaScript and SQLite do, so cursors mean the same thing on every store.
        const idType = driver.dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
        await schema
          .createTable(a)
          .addColumn('id', idType, (c) => c.primaryKey())
          .addColumn('session_id', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text')
          .addColumn('ts', 'bigint', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('category', 'text', (c) => c.notNull())
          .addColumn('method', 'text')
          .addColumn('path', 'text')
          .addColumn('status', 'integer')
          .addColumn('duration_ms', 'bigint')
          .addColumn('bytes_in', 'bigint')
          .addColumn('bytes_out', 'bigint')
          .addColumn('resource_type', 'text')
          .addColumn('resource_id', 'text')
          .addColumn('details', 'text')
          .execute();
        await schema.createIndex(`${a}_session_ts_idx`).on(a).columns(['session_id', 'ts']).execute();
        await schema.createIndex(`${a}_user_ts_idx`).on(a).columns(['user_id', 'ts']).execute();
        // Retention deletes by age.
        await schema.createIndex(`${a}_ts_idx`).on(a).column('ts').execute();
      },
    },
    '0003_create_alerts': {
      async up(db) {
        const schema = schemaOf(db);
        const t = tables.alerts;
        const idType = driver.dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
        await schema
          .createTable(t)
          .addColumn('id', idType, (c) => c.primaryKey())
          // Null for alerts about a client rather than an account (token guessing).
          .addColumn('user_id', 'text')
          .addColumn('session_id', 'text')
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('evidence', 'text', (c) => c.notNull())
          .addColumn('dedup_key', 'text', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .addColumn('updated_at', 'bigint')
          .addColumn('note', 'text')
          .execute();
        // Folding looks up the newest alert of a dedup key; lists go by user and by time.
        await schema.createIndex(`${t}_dedup_idx`).on(t).columns(['dedup_key', 'created_at']).execute();
        await schema.createIndex(`${t}_user_idx`).on(t).columns(['user_id', 'created_at']).execute();
        await schema.createIndex(`${t}_created_idx`).on(t).column('created_at').execute();
      },
    },
    '0004_create_rotated_tokens_and_counters': {
      async up(db) {
        const schema = schemaOf(db);
        // SQLite: keyed tables without a rowid, so each lookup is one B-tree search (as for sessions).
        const withoutRowid = (table: CreateTableBuilder<string, string>) =>
          driver.dialect === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table;
        const r = tables.rotatedTokens;
        await withoutRowid(
          schema
            .createTable(r)
            .addColumn('token_hash', 'text', (c) => c.primaryKey())
            .addColumn('session_id', 'text', (c) => c.notNull())
            .addColumn('user_id', 'text', (c) => c.notNull())
            .addColumn('rotated_at', 'bigint', (c) => c.notNull()),
        ).execute();
        // Retention deletes by age.
        await schema.createIndex(`${r}_rotated_idx`).on(r).column('rotated_at').execute();
        const c = tables.counters;
        await withoutRowid(
          schema
            .createTable(c)
            .addColumn('key', 'text', (col) => col.notNull())
            .addColumn('bucket', 'bigint', (col) => col.notNull())
            .addColumn('hits', 'integer', (col) => col.notNull())
            // The first instant no window can count this bucket: (bucket + 10) * bucketMs.
            .addColumn('expires_at', 'bigint', (col) => col.notNull())
            .addPrimaryKeyConstraint(`${c}_pkey`, ['key', 'bucket']),
        ).execute();
        await schema.createIndex(`${c}_expires_idx`).on(c).column('expires_at').execute();
      },
    },
    '0005_create_labs': {
      async up(db) {
        const schema = schemaOf(db);
        const l = tables.labs;
        // Labs are listed by (created_at, id): a binary collation orders ids as JavaScript does.
        const idType = driver.dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
        await schema
          .createTable(l)
          .addColumn('id', idType, (c) => c.primaryKey())
          .addColumn('session_id', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('template', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('network_name', 'text', (c) => c.notNull())
          .addColumn('network_id', 'text')
          .addColumn('subnet', 'text', (c) => c.notNull())
          .addColumn('gateway', 'text', (c) => c.notNull())
          .addColumn('subnet_held', 'integer', (c) => c.notNull())
          .addColumn('containers', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('extensions', 'integer', (c) => c.notNull())
          .addColumn('stop_reason', 'text')
          .addColumn('error', 'text')
          .execute();
        // The database's own guarantee that no subnet is held twice, whatever any process does.
        await schema.createIndex(`${l}_held_subnet_idx`).on(l).column('subnet').unique().where(sql.ref('subnet_held'), '=', 1).execute();
        // Caps count a user's live labs; lists go by user, by session and by status.
        await schema.createIndex(`${l}_user_status_idx`).on(l).columns(['user_id', 'status']).execute();
        await schema.createIndex(`${l}_session_idx`).on(l).column('session_id').execute();
        await schema.createIndex(`${l}_status_idx`).on(l).column('status').execute();
      },
    },
    '0006_index_alerts_for_retention': {
      async up(db) {
        const schema = schemaOf(db);
        const t = tables.alerts;
        // cleanup() deletes alerts last seen, or resolved, before its cutoff: one index per condition.
        await schema.createIndex(`${t}_last_seen_idx`).on(t).column('last_seen_at').execute();
        await schema.createIndex(`${t}_resolved_idx`).on(t).columns(['status', 'updated_at']).execute();
      },
    },
  };
}
