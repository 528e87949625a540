import { orderedIdType, type MigrationFactory } from './migration-context.js';

/** The activity table: pages by session or user, newest first, and deletion by age. */
export const createActivity: MigrationFactory = (context) => ({
  async up(db) {
    const schema = context.schemaOf(db);
    const a = context.tables.activity;
    // Activity pages are ordered by (ts, id).
    await schema
      .createTable(a)
      .addColumn('id', orderedIdType(context), (c) => c.primaryKey())
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
});
