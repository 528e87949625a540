import { orderedIdType, type MigrationFactory } from './migration-context.js';

/** The alerts table: folding by dedup key, lists by user and by time. */
export const createAlerts: MigrationFactory = (context) => ({
  async up(db) {
    const schema = context.schemaOf(db);
    const t = context.tables.alerts;
    await schema
      .createTable(t)
      .addColumn('id', orderedIdType(context), (c) => c.primaryKey())
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
});
