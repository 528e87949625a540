import type { Alert, AlertOccurrence, AlertQuery, AlertStore, CounterStore, EpochMs } from '../../../src/contracts.js';
import { higherSeverity } from '../../../src/alerts/severity.js';
import { ALERT_COLUMNS, columnPositions, COUNT_COLUMNS } from './columns.js';
import { ALERT_AT, toAlert } from './mappers/index.js';
import { bound, newestFirst, param } from './prepared.js';
import type { SqlStoreContext } from './sql-context.js';
import type { Row } from './sql-driver.js';
import { alertStatements, counterStatements, type AlertStatements, type CounterStatements } from './statements/index.js';

/** The alerts and the sliding-window counters of the SQL store, over one {@link SqlStoreContext}. */
export class SqlAlertStore implements AlertStore, CounterStore {
  readonly #ctx: SqlStoreContext;
  readonly #al: AlertStatements;
  readonly #c: CounterStatements;

  constructor(ctx: SqlStoreContext) {
    this.#ctx = ctx;
    this.#al = alertStatements(ctx.db, ctx.tables.alerts, ctx.capabilities);
    this.#c = counterStatements(ctx.db, ctx.tables.counters, ctx.capabilities);
  }

  async raiseAlert(occurrence: AlertOccurrence, windowMs: number): Promise<{ alert: Alert; created: boolean }> {
    const q = this.#al;
    // Under a lock on the dedup key, so concurrent occurrences (any process) fold into one alert.
    return this.#ctx.transaction('raiseAlert', `alert:${occurrence.dedupKey}`, function* () {
      const latest: Row[] = yield bound(q.latestOfKey, { dedupKey: occurrence.dedupKey });
      const row = latest[0];
      const evidence = JSON.stringify(occurrence.evidence);
      if (row !== undefined && row[ALERT_AT.status] !== 'resolved' && Number(row[ALERT_AT.last_seen_at]) >= occurrence.at - windowMs) {
        const severity = higherSeverity(row[ALERT_AT.severity] as Alert['severity'], occurrence.severity);
        const folded: Row[] = yield bound(q.fold, { id: row[ALERT_AT.id], severity, at: occurrence.at, evidence });
        return { alert: toAlert(folded[0]!), created: false };
      }
      const inserted: Row[] = yield bound(q.insert, { ...occurrence, evidence });
      return { alert: toAlert(inserted[0]!), created: true };
    });
  }

  async listAlerts(query: AlertQuery): Promise<Alert[]> {
    const { db, tables } = this.#ctx;
    const prepared = this.#ctx.variants.get(['alerts', query.userId, query.status, query.severity, query.since, query.before], () => {
      let q = db.selectFrom(tables.alerts).select(ALERT_COLUMNS);
      if (query.userId !== undefined) q = q.where('user_id', '=', param('userId'));
      if (query.status !== undefined) q = q.where('status', '=', param('status'));
      if (query.severity !== undefined) q = q.where('severity', '=', param('severity'));
      if (query.since !== undefined) q = q.where('created_at', '>=', param('since'));
      return newestFirst(q, 'created_at', query.before !== undefined);
    });
    const rows = await this.#ctx.run('listAlerts', prepared, {
      userId: query.userId,
      status: query.status,
      severity: query.severity,
      since: query.since,
      beforeTs: query.before?.createdAt,
      beforeId: query.before?.id,
      limit: query.limit,
    });
    return rows.map(toAlert);
  }

  async setAlertStatus(id: string, status: 'acknowledged' | 'resolved', at: EpochMs, note?: string): Promise<Alert | null> {
    const updated = await this.#ctx.run('setAlertStatus', this.#al.setStatus, { id, status, at, note: note ?? null });
    if (updated.length > 0) return toAlert(updated[0]!);
    // Not a transition this status allows (or no such alert): report the alert as it is.
    const current = await this.#ctx.run('setAlertStatus', this.#al.byId, { id });
    return current.length === 0 ? null : toAlert(current[0]!);
  }

  async deleteAlertsBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return (await this.#ctx.run('deleteAlertsBefore', this.#al.deleteBefore, { cutoff, limit })).length;
  }

  async hitCounter(key: string, at: EpochMs, windowMs: number, hits = 1): Promise<number> {
    const bucketMs = Math.ceil(windowMs / 10);
    const bucket = Math.floor(at / bucketMs);
    const values = { key, bucket, hits, oldest: bucket - 9, expiresAt: (bucket + 10) * bucketMs };
    const { hitAndCount, hit, count } = this.#c;
    if (hitAndCount !== undefined) {
      // One statement, one round trip: the upsert's own count (the row lock orders concurrent hits,
      // so each caller gets a distinct count) plus the nine older buckets.
      return Number((await this.#ctx.run('hitCounter', hitAndCount, values))[0]![COUNT_AT.n]);
    }
    if (this.#ctx.capabilities.synchronous) {
      // Both statements back to back with no await between them, so no other hit of this process
      // lands in between; another process's hit may, which only adds to the sum.
      this.#ctx.runSync('hitCounter', hit, values);
      return Number(this.#ctx.runSync('hitCounter', count, values)[0]![COUNT_AT.n]);
    }
    await this.#ctx.run('hitCounter', hit, values);
    return Number((await this.#ctx.run('hitCounter', count, values))[0]![COUNT_AT.n]);
  }

  async deleteCountersBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return (await this.#ctx.run('deleteCountersBefore', this.#c.deleteBefore, { cutoff, limit })).length;
  }
}

const COUNT_AT = columnPositions(COUNT_COLUMNS);
