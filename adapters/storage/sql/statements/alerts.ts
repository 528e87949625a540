import { sql, type Kysely } from 'kysely';
import { ALERT_COLUMNS } from '../columns.js';
import { param, prepare } from '../prepared.js';
import type { SqlDriverCapabilities } from '../sql-driver.js';

/** The alert statements, compiled once per store. */
export type AlertStatements = ReturnType<typeof alertStatements>;

/**
 * Raising (fold into the newest alert of a dedup key, or insert), status changes and retention.
 * With `rowLocks` the newest alert is read `FOR UPDATE`.
 */
export function alertStatements(db: Kysely<any>, table: string, capabilities: SqlDriverCapabilities) {
  const latest = db
    .selectFrom(table)
    .select(ALERT_COLUMNS)
    .where('dedup_key', '=', param('dedupKey'))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(sql.lit(1));
  return {
    latestOfKey: prepare(capabilities.rowLocks ? latest.forUpdate() : latest, true),
    fold: prepare(
      db
        .updateTable(table)
        .set({
          severity: param('severity'),
          last_seen_at: sql`case when last_seen_at > ${param('at')} then last_seen_at else ${param('at')} end`,
          evidence: param('evidence'),
          count: sql`count + 1`,
        })
        .where('id', '=', param('id'))
        .returning(ALERT_COLUMNS),
      true,
    ),
    insert: prepare(
      db
        .insertInto(table)
        .values({
          id: param('id'),
          user_id: param('userId'),
          session_id: param('sessionId'),
          type: param('type'),
          severity: param('severity'),
          status: sql.lit('open'),
          created_at: param('at'),
          last_seen_at: param('at'),
          evidence: param('evidence'),
          dedup_key: param('dedupKey'),
          count: sql.lit(1),
        })
        .returning(ALERT_COLUMNS),
      true,
    ),
    setStatus: prepare(
      db
        .updateTable(table)
        .set({ status: param('status'), updated_at: param('at'), note: sql`coalesce(${param('note')}, note)` })
        .where('id', '=', param('id'))
        // Acknowledge only what is open; resolve anything not yet resolved.
        .where(sql<boolean>`status = 'open' or (status = 'acknowledged' and ${param('status')} = 'resolved')`)
        .returning(ALERT_COLUMNS),
      true,
    ),
    byId: prepare(db.selectFrom(table).select(ALERT_COLUMNS).where('id', '=', param('id')), true),
    deleteBefore: prepare(
      db
        .deleteFrom(table)
        .where(
          'id',
          'in',
          db
            .selectFrom(table)
            .select('id')
            .where(sql<boolean>`last_seen_at < ${param('cutoff')} or (status = 'resolved' and updated_at < ${param('cutoff')})`)
            .limit(param('limit')),
        )
        .returning('id'),
    ),
  };
}
