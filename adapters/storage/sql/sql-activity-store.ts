import type { ActivityQuery, ActivityRecord, ActivityStore, EpochMs } from '../../../src/contracts.js';
import { ACTIVITY_COLUMNS, ACTIVITY_TABLE } from './columns.js';
import { activityValue, toActivity } from './mappers/index.js';
import { bound, newestFirst, param, type Values } from './prepared.js';
import type { SqlStoreContext } from './sql-context.js';
import { activityStatements, type ActivityStatements } from './statements/index.js';

/** The activity trail of the SQL store, over one {@link SqlStoreContext}. */
export class SqlActivityStore implements ActivityStore {
  readonly #ctx: SqlStoreContext;
  readonly #a: ActivityStatements;

  constructor(ctx: SqlStoreContext) {
    this.#ctx = ctx;
    this.#a = activityStatements(ctx.db, ctx.tables.activity, ctx.capabilities);
  }

  async insertActivity(rows: readonly ActivityRecord[]): Promise<void> {
    if (rows.length === 0) return;
    const { insertUnnest, insertOne } = this.#a;
    if (insertUnnest !== undefined) {
      // One statement for the whole batch: each column travels as one array parameter.
      const columns: Record<string, unknown[]> = {};
      for (const { field } of ACTIVITY_TABLE) columns[field] = rows.map((row) => activityValue(row, field));
      await this.#ctx.run('insertActivity', insertUnnest, columns);
      return;
    }
    // One prepared single-row insert per row inside one transaction, the fastest way on SQLite.
    await this.#ctx.transaction('insertActivity', null, function* () {
      for (const row of rows) {
        const values: Values = {};
        for (const { field } of ACTIVITY_TABLE) values[field] = activityValue(row, field);
        yield bound(insertOne, values);
      }
    });
  }

  async listActivity(query: ActivityQuery): Promise<ActivityRecord[]> {
    const { db, tables } = this.#ctx;
    const statement = this.#ctx.variants.get(
      ['activity', query.sessionId, query.userId, query.since, query.until, query.category, query.before],
      () => {
        let q = db.selectFrom(tables.activity).select(ACTIVITY_COLUMNS);
        if (query.sessionId !== undefined) q = q.where('session_id', '=', param('sessionId'));
        if (query.userId !== undefined) q = q.where('user_id', '=', param('userId'));
        if (query.since !== undefined) q = q.where('ts', '>=', param('since'));
        if (query.until !== undefined) q = q.where('ts', '<', param('until'));
        if (query.category !== undefined) q = q.where('category', '=', param('category'));
        return newestFirst(q, 'ts', query.before !== undefined);
      },
    );
    const rows = await this.#ctx.run('listActivity', statement, {
      sessionId: query.sessionId,
      userId: query.userId,
      since: query.since,
      until: query.until,
      category: query.category,
      beforeTs: query.before?.ts,
      beforeId: query.before?.id,
      limit: query.limit,
    });
    return rows.map(toActivity);
  }

  async deleteActivityBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return (await this.#ctx.run('deleteActivityBefore', this.#a.deleteBefore, { cutoff, limit })).length;
  }
}
