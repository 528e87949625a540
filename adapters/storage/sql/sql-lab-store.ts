import { sql } from 'kysely';
import type { EpochMs } from '../../../src/contracts.js';
import { SessionError } from '../../../src/errors.js';
import { assertBelowLabLimits, type Lab, type LabChanges, type LabExpectation, type LabLimits, type LabQuery, type LabStore, type NewLabRecord } from '../../../src/labs/types.js';
import { columnPositions, LAB_COLUMNS, LAB_COUNT_COLUMNS } from './columns.js';
import { toLab } from './mappers/index.js';
import { bound, param } from './prepared.js';
import type { SqlStoreContext } from './sql-context.js';
import { labStatements, statusParams, statusValues, type LabStatements } from './statements/index.js';

/**
 * The labs of the SQL store, over one {@link SqlStoreContext}: what `store.labs` is. Closing the
 * store closes it too.
 *
 * @example
 * const store = sqliteStore({ filename: 'app.db' });
 * await store.migrate();
 * const lab = await store.labs.getLab(labId);
 */
export class SqlLabStore implements LabStore {
  readonly #ctx: SqlStoreContext;
  readonly #l: LabStatements;

  constructor(ctx: SqlStoreContext) {
    this.#ctx = ctx;
    this.#l = labStatements(ctx.db, ctx.tables.labs);
  }

  async insertLab(userId: string, limits: LabLimits, build: (heldSubnets: ReadonlySet<string>) => NewLabRecord): Promise<Lab> {
    const l = this.#l;
    // One lock for every allocation: the caps and the held subnets are global, so concurrent inserts
    // (any process) must see each other's rows. Without advisory locks the write lock serialises them anyway.
    return this.#ctx.transaction('insertLab', LAB_ALLOCATION_LOCK, function* () {
      const counts = (yield bound(l.countLive, { userId }))[0]!;
      assertBelowLabLimits(Number(counts[COUNT_AT.of_user]), Number(counts[COUNT_AT.total]), limits);
      const held = new Set((yield bound(l.heldSubnets, {})).map((row) => row[SUBNET_AT] as string));
      const record = build(held);
      if (held.has(record.network.subnet)) {
        throw new SessionError('INVALID_ARGUMENT', `insertLab: build returned subnet ${record.network.subnet}, which another lab holds`);
      }
      const rows = yield bound(l.insert, {
        id: record.id,
        sessionId: record.sessionId,
        userId: record.userId,
        template: record.template,
        networkName: record.network.name,
        networkId: record.network.id,
        subnet: record.network.subnet,
        gateway: record.network.gateway,
        containers: JSON.stringify(record.containers),
        createdAt: record.createdAt,
        expiresAt: record.expiresAt,
      });
      return toLab(rows[0]!);
    });
  }

  async updateLab(id: string, expected: LabExpectation, changes: LabChanges): Promise<Lab | null> {
    this.#ctx.assertOpen();
    const { statuses } = expected;
    if (statuses.length === 0) return null;
    const { db, tables } = this.#ctx;
    // One statement per length of the status list; absent changes bind null and keep the column.
    const statement = this.#ctx.variants.get([`updateLab:${statuses.length}`, expected.extensions], () => {
      let q = db
        .updateTable(tables.labs)
        .set({
          updated_at: param('updatedAt'),
          status: sql`coalesce(${param('status')}, status)`,
          network_id: sql`coalesce(${param('networkId')}, network_id)`,
          containers: sql`coalesce(${param('containers')}, containers)`,
          expires_at: sql`coalesce(${param('expiresAt')}, expires_at)`,
          extensions: sql`coalesce(${param('extensions')}, extensions)`,
          stop_reason: sql`coalesce(${param('stopReason')}, stop_reason)`,
          error: sql`coalesce(${param('error')}, error)`,
          subnet_held: sql`case when ${param('releaseSubnet')} = 1 then 0 else subnet_held end`,
        })
        .where('id', '=', param('id'))
        .where('status', 'in', statusParams(statuses.length));
      if (expected.extensions !== undefined) q = q.where('extensions', '=', param('expectedExtensions'));
      return q.returning(LAB_COLUMNS);
    });
    const rows = await this.#ctx.run('updateLab', statement, {
      id,
      ...statusValues(statuses),
      expectedExtensions: expected.extensions,
      updatedAt: changes.updatedAt,
      status: changes.status,
      networkId: changes.networkId,
      containers: changes.containers === undefined ? undefined : JSON.stringify(changes.containers),
      expiresAt: changes.expiresAt,
      extensions: changes.extensions,
      stopReason: changes.stopReason,
      error: changes.error === undefined ? undefined : JSON.stringify(changes.error),
      releaseSubnet: changes.releaseSubnet === true ? 1 : 0,
    });
    return rows.length === 0 ? null : toLab(rows[0]!);
  }

  async getLab(id: string): Promise<Lab | null> {
    const rows = await this.#ctx.run('getLab', this.#l.byId, { id });
    return rows.length === 0 ? null : toLab(rows[0]!);
  }

  async listLabs(query: LabQuery): Promise<Lab[]> {
    this.#ctx.assertOpen();
    const { statuses } = query;
    if (statuses?.length === 0) return [];
    const { db, tables } = this.#ctx;
    const statement = this.#ctx.variants.get([`listLabs:${statuses?.length ?? 'any'}`, query.userId, query.sessionId, query.subnetHeld], () => {
      let q = db.selectFrom(tables.labs).select(LAB_COLUMNS);
      if (query.userId !== undefined) q = q.where('user_id', '=', param('userId'));
      if (query.sessionId !== undefined) q = q.where('session_id', '=', param('sessionId'));
      if (statuses !== undefined) q = q.where('status', 'in', statusParams(statuses.length));
      if (query.subnetHeld !== undefined) q = q.where('subnet_held', '=', param('subnetHeld'));
      return q.orderBy('created_at').orderBy('id');
    });
    const rows = await this.#ctx.run('listLabs', statement, {
      userId: query.userId,
      sessionId: query.sessionId,
      ...statusValues(statuses ?? []),
      subnetHeld: query.subnetHeld === undefined ? undefined : Number(query.subnetHeld),
    });
    return rows.map(toLab);
  }

  async deleteLabsEndedBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return (await this.#ctx.run('deleteLabsEndedBefore', this.#l.deleteEnded, { cutoff, limit })).length;
  }
}

// --- internal ---

/** The advisory lock key under which every insertLab runs. */
const LAB_ALLOCATION_LOCK = 'labs:allocate';

const COUNT_AT = columnPositions(LAB_COUNT_COLUMNS);
/** `heldSubnets` selects the one column `subnet`. */
const SUBNET_AT = columnPositions(['subnet'] as const).subnet;
