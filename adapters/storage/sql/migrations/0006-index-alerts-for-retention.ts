import type { MigrationFactory } from './migration-context.js';

/** cleanup() deletes alerts last seen, or resolved, before its cutoff: one index per condition. */
export const indexAlertsForRetention: MigrationFactory = (context) => ({
  async up(db) {
    const schema = context.schemaOf(db);
    const t = context.tables.alerts;
    await schema.createIndex(`${t}_last_seen_idx`).on(t).column('last_seen_at').execute();
    await schema.createIndex(`${t}_resolved_idx`).on(t).columns(['status', 'updated_at']).execute();
  },
});
