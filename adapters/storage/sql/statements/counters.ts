import { sql, type Kysely } from 'kysely';
import { param, prepare } from '../prepared.js';
import type { SqlDriverCapabilities } from '../sql-driver.js';

/** The counter statements, compiled once per store. */
export type CounterStatements = ReturnType<typeof counterStatements>;

/**
 * Sliding-window counters in ten buckets per window. With `writableCtes` a hit and its count are one
 * statement (`hitAndCount`); otherwise `hit` then `count`.
 */
export function counterStatements(db: Kysely<any>, table: string, capabilities: SqlDriverCapabilities) {
  const hit = db
    .insertInto(table)
    .values({ key: param('key'), bucket: param('bucket'), hits: param('hits'), expires_at: param('expiresAt') })
    .onConflict((oc) => oc.columns(['key', 'bucket']).doUpdateSet({ hits: sql`${sql.ref(`${table}.hits`)} + ${sql.ref('excluded.hits')}` }));
  const window = (upTo: 'bucket' | 'below') =>
    db
      .selectFrom(table)
      .select(sql<number>`coalesce(sum(hits), 0)`.as('n'))
      .where('key', '=', param('key'))
      .where('bucket', '>=', param('oldest'))
      .where('bucket', upTo === 'bucket' ? '<=' : '<', param('bucket'));
  return {
    // The subquery reads the snapshot from before the upsert, hence only older buckets.
    hitAndCount: capabilities.writableCtes
      ? prepare(
          db
            .with('hit', () => hit.returning('hits'))
            .selectFrom('hit')
            .select(sql<number>`hits + (${window('below')})`.as('n')),
          true,
        )
      : undefined,
    hit: prepare(hit),
    count: prepare(window('bucket'), true),
    deleteBefore: prepare(
      db
        .deleteFrom(table)
        .where(sql<boolean>`(key, bucket) in ${db.selectFrom(table).select(['key', 'bucket']).where('expires_at', '<=', param('cutoff')).limit(param('limit'))}`)
        .returning('hits'),
    ),
  };
}
