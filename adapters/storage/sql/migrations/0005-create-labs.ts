import { sql } from 'kysely';
import { orderedIdType, type MigrationFactory } from './migration-context.js';

/** The labs table, with the database's own guarantee that no subnet is held twice. */
export const createLabs: MigrationFactory = (context) => ({
  async up(db) {
    const schema = context.schemaOf(db);
    const l = context.tables.labs;
    // Labs are listed by (created_at, id).
    await schema
      .createTable(l)
      .addColumn('id', orderedIdType(context), (c) => c.primaryKey())
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
    // No subnet is held twice, whatever any process does.
    await schema.createIndex(`${l}_held_subnet_idx`).on(l).column('subnet').unique().where(sql.ref('subnet_held'), '=', 1).execute();
    // Caps count a user's live labs; lists go by user, by session and by status.
    await schema.createIndex(`${l}_user_status_idx`).on(l).columns(['user_id', 'status']).execute();
    await schema.createIndex(`${l}_session_idx`).on(l).column('session_id').execute();
    await schema.createIndex(`${l}_status_idx`).on(l).column('status').execute();
  },
});
