import type { EpochMs, NewSessionRecord, RotatedToken, ScanFilter, Session, SessionLimit, SessionMetadata } from '../../../src/contracts.js';
import { SessionError } from '../../../src/errors.js';
import { assertWithinLimit } from '../../../src/metadata.js';
import { columnPositions, COUNT_COLUMNS, ROTATED_TOKEN_COLUMNS, ROTATED_TOKEN_FIND_COLUMNS, SESSION_COLUMNS, SESSION_LOOKUP_COLUMNS } from './columns.js';
import { LookupBatcher } from './lookup-batcher.js';
import { deviceKeyOf, metadataOf, parseJson, rotatedHashOf, rotatedTokenMapper, SessionMapper, sessionIdOf, UNRESOLVED_DEVICE } from './mappers/index.js';
import { bind, bound, param, type Values } from './prepared.js';
import type { SqlStoreContext } from './sql-context.js';
import { rotationStatements, sessionStatements, type RotationStatements, type SessionStatements } from './statements/index.js';

/**
 * The session methods of the SQL store (sessions and rotation records), over one
 * {@link SqlStoreContext}. Every statement is built with kysely once, at construction, and then
 * executed with positional values, so no request builds a query.
 */
export class SqlSessionStore {
  readonly #ctx: SqlStoreContext;
  readonly #q: SessionStatements;
  readonly #rt: RotationStatements;
  /** This store's rows-to-sessions mapping, with its own device cache. */
  readonly #mapper = new SessionMapper();
  /** With batchLookups: lookups by token hash issued in one tick share one round trip. */
  readonly #sessionLookups: LookupBatcher<Session> | undefined;
  readonly #rotatedLookups: LookupBatcher<RotatedToken> | undefined;
  /**
   * The driver runs statements synchronously: the hot paths (validate, create) take its sync path,
   * so a validation on SQLite awaits no promise of the store's own.
   */
  readonly #sync: boolean;

  constructor(ctx: SqlStoreContext) {
    this.#ctx = ctx;
    this.#sync = ctx.capabilities.synchronous;
    this.#q = sessionStatements(ctx.db, ctx.tables.sessions, ctx.capabilities);
    this.#rt = rotationStatements(ctx.db, ctx.tables, ctx.capabilities);
    const { byTokenHashes } = this.#q;
    const { findMany } = this.#rt;
    if (ctx.capabilities.batchLookups && byTokenHashes !== undefined && findMany !== undefined) {
      const hashAt = columnPositions(SESSION_LOOKUP_COLUMNS).token_hash;
      this.#sessionLookups = new LookupBatcher(
        (tokenHashes) => ctx.run('findByTokenHash', byTokenHashes, { tokenHashes }),
        (row) => row[hashAt] as string,
        this.#mapper.toSession,
      );
      this.#rotatedLookups = new LookupBatcher((tokenHashes) => ctx.run('findRotatedToken', findMany, { tokenHashes }), rotatedHashOf, fromLookup);
    }
  }

  /** The device cache of this store (for tests: two stores never share one). */
  get mapper(): SessionMapper {
    return this.#mapper;
  }

  async insert(record: NewSessionRecord, now: EpochMs, limit?: SessionLimit): Promise<{ session: Session; evicted: Session[] }> {
    const values = sessionValues(record);
    const q = this.#q;
    const { toSession } = this.#mapper;
    if (limit === undefined) {
      const rows = this.#sync ? this.#ctx.runSync('insert', q.insert, values) : await this.#ctx.run('insert', q.insert, values);
      return { session: toSession(rows[0]!), evicted: [] };
    }
    return this.#ctx.transaction('insert', record.userId, function* () {
      const active = yield bound(q.activeOfUserOldestFirst, { userId: record.userId, now });
      const excess = active.length + 1 - limit.max;
      const evicted: Session[] = [];
      if (excess > 0) {
        if (limit.onLimit === 'reject') {
          throw new SessionError('SESSION_LIMIT', `User already has ${active.length} active sessions (maxSessionsPerUser is ${limit.max})`);
        }
        for (const row of active.slice(0, excess)) {
          const revoked = yield bound(q.revoke, { id: sessionIdOf(row), reason: 'limit', at: now });
          // Without a user lock on revoke (advisory locks), a revoke may have committed since the
          // read; that session no longer counts, so it makes room just the same, and its revocation stands.
          if (revoked.length > 0) evicted.push(toSession(revoked[0]!));
        }
      }
      const rows = yield bound(q.insert, values);
      return { session: toSession(rows[0]!), evicted };
    });
  }

  async findByTokenHash(tokenHash: string): Promise<Session | null> {
    if (this.#sessionLookups !== undefined) {
      this.#ctx.assertOpen();
      return this.#sessionLookups.lookup(tokenHash);
    }
    const values = { tokenHash };
    const { byTokenHash } = this.#q;
    const rows = this.#sync ? this.#ctx.runSync('findByTokenHash', byTokenHash, values) : await this.#ctx.run('findByTokenHash', byTokenHash, values);
    const session = this.#mapper.first(rows);
    // A device not yet in this store's cache: read the row again, JSON included.
    return session !== null && session.device === UNRESOLVED_DEVICE ? this.findById(session.id) : session;
  }

  async findById(id: string): Promise<Session | null> {
    const values = { id };
    const rows = this.#sync ? this.#ctx.runSync('findById', this.#q.byId, values) : await this.#ctx.run('findById', this.#q.byId, values);
    return this.#mapper.first(rows);
  }

  async touch(id: string, at: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null> {
    const values = { id, at, idleExpiresAt };
    const rows = this.#sync ? this.#ctx.runSync('touch', this.#q.touch, values) : await this.#ctx.run('touch', this.#q.touch, values);
    return this.#mapper.first(rows);
  }

  async extend(id: string, byMs: number, now: EpochMs, maxIdleExpiresAt: EpochMs): Promise<Session | null> {
    return this.#mapper.first(await this.#ctx.run('extend', this.#q.extend, { id, byMs, now, maxIdleExpiresAt }));
  }

  async rotateToken(currentHash: string, nextHash: string, now: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null> {
    const values = { currentHash, nextHash, now, idleExpiresAt };
    // One statement whose CTEs swap the hash and record the old one, so one round trip.
    if (this.#rt.rotateAndRecord !== undefined) return this.#mapper.first(await this.#ctx.run('rotateToken', this.#rt.rotateAndRecord, values));
    // Otherwise two statements in one transaction.
    const { rotate, record } = this.#rt;
    const { toSession } = this.#mapper;
    return this.#ctx.transaction('rotateToken', null, function* () {
      const rows = yield bound(rotate, values);
      if (rows.length === 0) return null;
      const session = toSession(rows[0]!);
      yield bound(record, { ...values, sessionId: session.id, userId: session.userId });
      return session;
    });
  }

  async findRotatedToken(tokenHash: string): Promise<RotatedToken | null> {
    // Every unknown token a client presents is looked up here (revokedTokenReuse): with batched
    // lookups a guessing flood shares round trips, as validations do.
    if (this.#rotatedLookups !== undefined) {
      this.#ctx.assertOpen();
      return this.#rotatedLookups.lookup(tokenHash);
    }
    const values = { tokenHash };
    const rows = this.#sync ? this.#ctx.runSync('findRotatedToken', this.#rt.find, values) : await this.#ctx.run('findRotatedToken', this.#rt.find, values);
    return rows.length === 0 ? null : fromFind(rows[0]!);
  }

  async deleteRotatedTokensBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return (await this.#ctx.run('deleteRotatedTokensBefore', this.#rt.deleteBefore, { cutoff, limit })).length;
  }

  async mergeMetadata(id: string, patch: SessionMetadata, now: EpochMs, serializedLimit: number): Promise<Session | null> {
    if (this.#ctx.capabilities.synchronous) {
      const merged = this.#mergeBackToBack(id, patch, now, serializedLimit);
      if (merged !== undefined) return merged;
    }
    const q = this.#q;
    const { toSession } = this.#mapper;
    if (q.mergeJsonb !== undefined) {
      // One statement merges under the row lock the UPDATE takes, so one round trip. It writes only
      // when the merged text fits the limit; otherwise (or for what jsonb rejects, such as \u0000)
      // the locked read-merge-write below decides and reports exactly as other stores do.
      try {
        this.#ctx.assertOpen();
        const values = { id, now, patch: JSON.stringify(patch), limit: serializedLimit };
        const merged = await this.#ctx.driver.query(q.mergeJsonb.statement, bind(q.mergeJsonb, values));
        if (merged.length > 0) return toSession(merged[0]!);
      } catch (err) {
        if (!isDataException(err)) throw this.#ctx.error(err, 'mergeMetadata');
      }
    }
    // Read-merge-write under a row lock (FOR UPDATE where the engine has row locks, else its write lock).
    return this.#ctx.transaction('mergeMetadata', null, function* () {
      const current = yield bound(q.lockActive, { id, now });
      if (current.length === 0) return null;
      const json = JSON.stringify({ ...parseJson(metadataOf(current[0]!)), ...patch });
      assertWithinLimit(json, serializedLimit);
      const rows = yield bound(q.setMetadata, { id, metadata: json });
      return rows.length === 0 ? null : toSession(rows[0]!);
    });
  }

  async revoke(id: string, reason: string, at: EpochMs): Promise<Session | null> {
    return this.#mapper.first(await this.#ctx.run('revoke', this.#q.revoke, { id, reason, at }));
  }

  async revokeAll(userId: string, reason: string, at: EpochMs, exceptId?: string): Promise<Session[]> {
    // Under the user's lock, so a concurrent insert lands entirely before or after it.
    const q = this.#q;
    const { toSession } = this.#mapper;
    return this.#ctx.transaction('revokeAll', userId, function* () {
      const rows = yield bound(q.revokeAllOfUser, { userId, reason, at, exceptId: exceptId ?? '' });
      return rows.map(toSession);
    });
  }

  async listByUser(userId: string, activeAt?: EpochMs): Promise<Session[]> {
    const rows =
      activeAt === undefined
        ? await this.#ctx.run('listByUser', this.#q.allOfUser, { userId })
        : await this.#ctx.run('listByUser', this.#q.activeOfUser, { userId, now: activeAt });
    return rows.map(this.#mapper.toSession);
  }

  async countActive(userId: string, now: EpochMs): Promise<number> {
    const rows = await this.#ctx.run('countActive', this.#q.countActive, { userId, now });
    return Number(rows[0]?.[COUNT_AT.n] ?? 0);
  }

  async *scan(filter: ScanFilter, pageSize: number): AsyncIterable<Session[]> {
    const { db, tables } = this.#ctx;
    const statement = this.#ctx.variants.get(['scan', filter.userId, filter.createdSince], () => {
      let query = db.selectFrom(tables.sessions).select(SESSION_COLUMNS).where('id', '>', param('after'));
      if (filter.userId !== undefined) query = query.where('user_id', '=', param('userId'));
      if (filter.createdSince !== undefined) query = query.where('created_at', '>=', param('createdSince'));
      return query.orderBy('id').limit(param('limit'));
    });
    let after = '';
    for (;;) {
      const rows = await this.#ctx.run('scan', statement, { userId: filter.userId, createdSince: filter.createdSince, after, limit: pageSize });
      if (rows.length > 0) yield rows.map(this.#mapper.toSession);
      if (rows.length < pageSize) return;
      after = sessionIdOf(rows[rows.length - 1]!);
    }
  }

  async deleteEndedBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return (await this.#ctx.run('deleteEndedBefore', this.#q.deleteEnded, { cutoff, limit })).length;
  }

  // --- internal ---

  /**
   * A synchronous driver runs read, merge and compare-and-swap back to back: two statements and no
   * transaction. Only another process can write in between; the swap then misses and the loop merges
   * again onto its result, so no key is lost. Undefined after {@link MERGE_ATTEMPTS} misses.
   */
  #mergeBackToBack(id: string, patch: SessionMetadata, now: EpochMs, serializedLimit: number): Session | null | undefined {
    for (let attempt = 0; attempt < MERGE_ATTEMPTS; attempt++) {
      const current = this.#ctx.runSync('mergeMetadata', this.#q.activeById, { id, now });
      if (current.length === 0) return null;
      const old = metadataOf(current[0]!);
      const json = JSON.stringify({ ...parseJson(old), ...patch });
      assertWithinLimit(json, serializedLimit);
      const swapped = this.#ctx.runSync('mergeMetadata', this.#q.swapMetadata, { id, now, old, metadata: json });
      if (swapped.length > 0) return this.#mapper.toSession(swapped[0]!);
    }
    return undefined;
  }
}

/** Compare-and-swap rounds of a back-to-back metadata merge before it takes the write lock instead. */
const MERGE_ATTEMPTS = 4;

const COUNT_AT = columnPositions(COUNT_COLUMNS);
/** Rotated tokens as the single lookup and the batched lookup select them. */
const fromFind = rotatedTokenMapper(ROTATED_TOKEN_FIND_COLUMNS);
const fromLookup = rotatedTokenMapper(ROTATED_TOKEN_COLUMNS);

/** A Postgres "data exception" (SQLSTATE class 22), e.g. text that is not valid jsonb. */
function isDataException(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}

/** The values of the insert statement for a new session. */
function sessionValues(record: NewSessionRecord): Values {
  const deviceJson = record.device === null ? null : JSON.stringify(record.device);
  return {
    id: record.id,
    tokenHash: record.tokenHash,
    userId: record.userId,
    tenantId: record.tenantId,
    createdAt: record.createdAt,
    lastActiveAt: record.lastActiveAt,
    expiresAt: record.expiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    ip: record.ip,
    userAgent: record.userAgent,
    device: deviceJson,
    deviceKey: deviceJson === null ? null : deviceKeyOf(deviceJson),
    metadata: JSON.stringify(record.metadata),
  };
}
