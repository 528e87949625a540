import { clustered, type MigrationFactory } from './migration-context.js';

/** The record of replaced token hashes, and the sliding-window counters. */
export const createRotatedTokensAndCounters: MigrationFactory = (context) => ({
  async up(db) {
    const schema = context.schemaOf(db);
    const r = context.tables.rotatedTokens;
    // Keyed tables, clustered where the engine can, so each lookup is one B-tree search (as for sessions).
    await clustered(
      context,
      schema
        .createTable(r)
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('rotated_at', 'bigint', (c) => c.notNull()),
    ).execute();
    // Retention deletes by age.
    await schema.createIndex(`${r}_rotated_idx`).on(r).column('rotated_at').execute();
    const c = context.tables.counters;
    await clustered(
      context,
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
});
