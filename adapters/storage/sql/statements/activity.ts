import { sql, type Kysely } from 'kysely';
import { ACTIVITY_COLUMNS, ACTIVITY_TABLE } from '../columns.js';
import { param, prepare } from '../prepared.js';
import type { SqlDriverCapabilities } from '../sql-driver.js';

/** The activity statements, compiled once per store. */
export type ActivityStatements = ReturnType<typeof activityStatements>;

/**
 * Inserts and retention of the activity table. With `arrayParameters` a whole batch is one INSERT
 * whose columns each travel as one array (`insertUnnest`); otherwise one prepared single-row insert per row.
 */
export function activityStatements(db: Kysely<any>, table: string, capabilities: SqlDriverCapabilities) {
  const insertValues = Object.fromEntries(ACTIVITY_TABLE.map(({ column, field }) => [column, param(field)]));
  const arrays = sql.join(ACTIVITY_TABLE.map(({ field, pgType }) => sql`${param(field)}::${sql.raw(pgType)}[]`));
  return {
    insertOne: prepare(db.insertInto(table).values(insertValues).onConflict((oc) => oc.column('id').doNothing())),
    insertUnnest: capabilities.arrayParameters
      ? prepare(
          db
            .insertInto(table)
            .columns(ACTIVITY_COLUMNS)
            .expression(sql`select * from unnest(${arrays})`)
            .onConflict((oc) => oc.column('id').doNothing()),
        )
      : undefined,
    deleteBefore: prepare(
      db
        .deleteFrom(table)
        .where('id', 'in', db.selectFrom(table).select('id').where('ts', '<', param('cutoff')).limit(param('limit')))
        .returning('id'),
    ),
  };
}
