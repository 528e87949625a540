import { sql, type Kysely } from 'kysely';
import { LIVE_LAB_STATUSES, type LabStatus } from '../../../../src/labs/types.js';
import { LAB_COLUMNS } from '../columns.js';
import { param, prepare, type Values } from '../prepared.js';

/** The lab statements, compiled once per store. */
export type LabStatements = ReturnType<typeof labStatements>;

/** The fixed lab statements; updates and lists depend on their filters (see SqlLabStore). */
export function labStatements(db: Kysely<any>, table: string) {
  const live = LIVE_LAB_STATUSES.map((status) => sql.lit(status));
  return {
    // Both caps in one read: the user's live labs and all live labs (LAB_COUNT_COLUMNS).
    countLive: prepare(
      db
        .selectFrom(table)
        .select([sql<number>`count(case when user_id = ${param('userId')} then 1 end)`.as('of_user'), sql<number>`count(*)`.as('total')])
        .where('status', 'in', live),
      true,
    ),
    heldSubnets: prepare(db.selectFrom(table).select('subnet').where('subnet_held', '=', sql.lit(1))),
    insert: prepare(
      db
        .insertInto(table)
        .values({
          id: param('id'),
          session_id: param('sessionId'),
          user_id: param('userId'),
          template: param('template'),
          status: sql.lit('provisioning'),
          network_name: param('networkName'),
          network_id: param('networkId'),
          subnet: param('subnet'),
          gateway: param('gateway'),
          subnet_held: sql.lit(1),
          containers: param('containers'),
          created_at: param('createdAt'),
          updated_at: param('createdAt'),
          expires_at: param('expiresAt'),
          extensions: sql.lit(0),
        })
        .returning(LAB_COLUMNS),
      true,
    ),
    byId: prepare(db.selectFrom(table).select(LAB_COLUMNS).where('id', '=', param('id')), true),
    deleteEnded: prepare(
      db
        .deleteFrom(table)
        .where(
          'id',
          'in',
          db
            .selectFrom(table)
            .select('id')
            .where('status', 'in', [sql.lit('stopped'), sql.lit('failed')])
            .where('subnet_held', '=', sql.lit(0))
            .where('updated_at', '<', param('cutoff'))
            .limit(param('limit')),
        )
        .returning('id'),
    ),
  };
}

/** Placeholders `status0`..`status<n-1>` for a list of statuses, bound by {@link statusValues}. */
export function statusParams(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => param(`status${i}`));
}

/** The values of {@link statusParams}. */
export function statusValues(statuses: readonly LabStatus[]): Values {
  const values: Values = {};
  statuses.forEach((status, i) => (values[`status${i}`] = status));
  return values;
}
