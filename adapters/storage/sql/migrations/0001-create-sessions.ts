import type { MigrationFactory } from './migration-context.js';
import { clustered } from './migration-context.js';

/** The sessions table and the indexes of listing, limits and clean-up. */
export const createSessions: MigrationFactory = (context) => ({
  async up(db) {
    const schema = context.schemaOf(db);
    const t = context.tables.sessions;
    // Clustered by the token hash where the engine can: validation becomes one B-tree search
    // instead of two (index, then table), about 20% more lookups per second on SQLite.
    const byToken = context.capabilities.clusteredTables;
    const table = schema
      .createTable(t)
      .addColumn('id', 'text', (c) => (byToken ? c.notNull().unique() : c.primaryKey()))
      .addColumn('token_hash', 'text', (c) => (byToken ? c.primaryKey() : c.notNull().unique()))
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
    await clustered(context, table).execute();
    // Listing and limit checks read one user's sessions by recency.
    await schema.createIndex(`${t}_user_active_idx`).on(t).columns(['user_id', 'last_active_at']).execute();
    // cleanup() finds ended sessions by either deadline.
    await schema.createIndex(`${t}_expires_idx`).on(t).column('expires_at').execute();
    await schema.createIndex(`${t}_revoked_idx`).on(t).column('revoked_at').execute();
  },
});
