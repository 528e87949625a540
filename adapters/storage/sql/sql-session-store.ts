import { createHash } from 'node:crypto';
import { sql, type Compilable, type Kysely, type OnConflictBuilder, type SelectQueryBuilder } from 'kysely';
import type {
  ActivityQuery,
  Alert,
  AlertOccurrence,
  AlertQuery,
  AlertStatus,
  ActivityRecord,
  EpochMs,
  NewSessionRecord,
  RotatedToken,
  ScanFilter,
  Session,
  SessionLimit,
  SessionMetadata,
  SessionStore,
} from '../../../src/contracts.js';
import { SessionError } from '../../../src/errors.js';
import { higherSeverity } from '../../../src/alerts/severity.js';
import { assertWithinLimit, deepFreeze, EMPTY_METADATA } from '../../../src/metadata.js';
import { assertBelowLabLimits, LabError, LIVE_LAB_STATUSES, type Lab, type LabChanges, type LabExpectation, type LabLimits, type LabQuery, type LabStatus, type NewLabRecord } from '../../../src/labs/types.js';
import { ACTIVITY_COLUMNS, ACTIVITY_TABLE, ALERT_COLUMNS, LAB_COLUMNS, migrateToLatest, SESSION_COLUMNS, tableNames, type SessionRow, type SqlTableNames } from './schema.js';
import type { BoundStatement, Row, SqlDriver, Statement, TransactionBody } from './sql-driver.js';

/**
 * The session store shared by the SQLite and Postgres adapters. Every statement is built with kysely
 * once, at construction, and then executed with positional values, so no request builds a query.
 */
export class SqlSessionStore implements SessionStore {
  readonly kind: string;
  readonly #driver: SqlDriver;
  readonly #tables: SqlTableNames;
  readonly #q: ReturnType<typeof buildStatements>;
  readonly #a: ReturnType<typeof buildActivityStatements>;
  /** Statements whose shape depends on which filters a call uses, compiled on first use. */
  readonly #variants = new Map<string, Prepared>();
  readonly #al: ReturnType<typeof buildAlertStatements>;
  readonly #rt: ReturnType<typeof buildRotationStatements>;
  readonly #c: ReturnType<typeof buildCounterStatements>;
  readonly #l: ReturnType<typeof buildLabStatements>;
  /** Postgres only: lookups by token hash issued in one tick share one round trip. */
  readonly #sessionLookups: LookupBatcher<Session>;
  readonly #rotatedLookups: LookupBatcher<RotatedToken>;
  #closed = false;

  constructor(driver: SqlDriver, tablePrefix: string) {
    this.kind = driver.dialect;
    this.#driver = driver;
    this.#tables = tableNames(tablePrefix);
    this.#q = buildStatements(this.#table(), this.#tables.sessions, driver.dialect === 'postgres');
    this.#a = buildActivityStatements(this.#table(), this.#tables.activity);
    this.#al = buildAlertStatements(this.#table(), this.#tables.alerts, driver.dialect === 'postgres');
    this.#rt = buildRotationStatements(this.#table(), this.#tables);
    this.#c = buildCounterStatements(this.#table(), this.#tables.counters);
    this.#l = buildLabStatements(this.#table(), this.#tables.labs);
    this.#sessionLookups = new LookupBatcher(
      (tokenHashes) => this.#run('findByTokenHash', this.#q.byTokenHashes, { tokenHashes }) as Promise<Row[]>,
      (row) => row[TOKEN_HASH] as string,
      toSession,
    );
    this.#rotatedLookups = new LookupBatcher(
      (tokenHashes) => this.#run('findRotatedToken', this.#rt.findMany, { tokenHashes }) as Promise<Row[]>,
      (row) => row[0] as string,
      (row) => ({ sessionId: row[1] as string, userId: row[2] as string, rotatedAt: Number(row[3]) }),
    );
  }

  async migrate(): Promise<void> {
    this.#assertOpen();
    try {
      await migrateToLatest(this.#driver, this.#tables);
    } catch (err) {
      throw this.#error(err, 'migrate');
    }
  }

  async insert(record: NewSessionRecord, now: EpochMs, limit?: SessionLimit): Promise<{ session: Session; evicted: Session[] }> {
    const deviceJson = record.device === null ? null : JSON.stringify(record.device);
    const values = {
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
    if (limit === undefined) {
      const rows = await this.#run('insert', this.#q.insert, values);
      return { session: toSession(rows[0]!), evicted: [] };
    }
    const q = this.#q;
    return this.#transaction('insert', record.userId, function* () {
      const active = yield bound(q.activeOfUserOldestFirst, { userId: record.userId, now });
      const excess = active.length + 1 - limit.max;
      const evicted: Session[] = [];
      if (excess > 0) {
        if (limit.onLimit === 'reject') {
          throw new SessionError('SESSION_LIMIT', `User already has ${active.length} active sessions (maxSessionsPerUser is ${limit.max})`);
        }
        for (const row of active.slice(0, excess)) {
          const revoked = yield bound(q.revoke, { id: row[0], reason: 'limit', at: now });
          // Postgres: a revoke (which takes no user lock) may have committed since the read; that
          // session no longer counts, so it makes room just the same, and its revocation stands.
          if (revoked.length > 0) evicted.push(toSession(revoked[0]!));
        }
      }
      const rows = yield bound(q.insert, values);
      return { session: toSession(rows[0]!), evicted };
    });
  }

  async findByTokenHash(tokenHash: string): Promise<Session | null> {
    if (!this.#driver.batchLookups) {
      const rows = this.#run('findByTokenHash', this.#q.byTokenHash, { tokenHash });
      const session = first(Array.isArray(rows) ? rows : await rows);
      // A device not yet in this process's cache: read the row again, JSON included.
      return session !== null && session.device === UNRESOLVED_DEVICE ? this.findById(session.id) : session;
    }
    this.#assertOpen();
    return this.#sessionLookups.lookup(tokenHash);
  }

  async findById(id: string): Promise<Session | null> {
    return first(await this.#run('findById', this.#q.byId, { id }));
  }

  async touch(id: string, at: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null> {
    return first(await this.#run('touch', this.#q.touch, { id, at, idleExpiresAt }));
  }

  async extend(id: string, byMs: number, now: EpochMs, maxIdleExpiresAt: EpochMs): Promise<Session | null> {
    return first(await this.#run('extend', this.#q.extend, { id, byMs, now, maxIdleExpiresAt }));
  }

  async rotateToken(currentHash: string, nextHash: string, now: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null> {
    const values = { currentHash, nextHash, now, idleExpiresAt };
    // Postgres: one statement whose CTEs swap the hash and record the old one, so one round trip.
    if (this.#driver.dialect === 'postgres') return first(await this.#run('rotateToken', this.#rt.rotateAndRecord, values));
    // SQLite has no data-modifying CTEs: two statements in one (synchronous) transaction.
    const rotate = this.#q.rotate;
    const record = this.#rt.record;
    return this.#transaction('rotateToken', null, function* () {
      const rows = yield bound(rotate, values);
      if (rows.length === 0) return null;
      const session = toSession(rows[0]!);
      yield bound(record, { ...values, sessionId: session.id, userId: session.userId });
      return session;
    });
  }

  async findRotatedToken(tokenHash: string): Promise<RotatedToken | null> {
    // Every unknown token a client presents is looked up here (revokedTokenReuse): on Postgres a
    // guessing flood shares round trips, as validations do.
    if (this.#driver.batchLookups) {
      this.#assertOpen();
      return this.#rotatedLookups.lookup(tokenHash);
    }
    const rows = await this.#run('findRotatedToken', this.#rt.find, { tokenHash });
    const row = rows[0];
    return row === undefined ? null : { sessionId: row[0] as string, userId: row[1] as string, rotatedAt: Number(row[2]) };
  }

  async deleteRotatedTokensBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return (await this.#run('deleteRotatedTokensBefore', this.#rt.deleteBefore, { cutoff, limit })).length;
  }

  async mergeMetadata(id: string, patch: SessionMetadata, now: EpochMs, serializedLimit: number): Promise<Session | null> {
    if (this.#driver.dialect === 'sqlite') {
      // SQLite runs statements synchronously: read, merge and compare-and-swap back to back, two
      // statements and no transaction. Only another process can write in between; the swap then
      // misses and the loop merges again onto its result, so no key is lost.
      for (let attempt = 0; attempt < MERGE_ATTEMPTS; attempt++) {
        const current = this.#run('mergeMetadata', this.#q.activeById, { id, now }) as Row[];
        if (current.length === 0) return null;
        const old = current[0]![METADATA] as string;
        const json = JSON.stringify({ ...parseJson(old), ...patch });
        assertWithinLimit(json, serializedLimit);
        const swapped = this.#run('mergeMetadata', this.#q.swapMetadata, { id, now, old, metadata: json }) as Row[];
        if (swapped.length > 0) return toSession(swapped[0]!);
      }
    }
    const q = this.#q;
    if (q.mergeJsonb !== undefined) {
      // Postgres: one statement merges under the row lock the UPDATE takes, so one round trip. It
      // writes only when the merged text fits the limit; otherwise (or for what jsonb rejects, such
      // as \u0000) the locked read-merge-write below decides and reports exactly as other stores do.
      try {
        const merged = await this.#driver.query(q.mergeJsonb.statement, bind(q.mergeJsonb, { id, now, patch: JSON.stringify(patch), limit: serializedLimit }));
        if (merged.length > 0) return toSession(merged[0]!);
      } catch (err) {
        if (!isDataException(err)) throw this.#error(err, 'mergeMetadata');
      }
    }
    // SQLite under contention from other processes, and the Postgres cases above: read-merge-write
    // under a row lock (Postgres FOR UPDATE; SQLite's write lock).
    return this.#transaction('mergeMetadata', null, function* () {
      const current = yield bound(q.lockActive, { id, now });
      if (current.length === 0) return null;
      const json = JSON.stringify({ ...parseJson(current[0]![METADATA] as string), ...patch });
      assertWithinLimit(json, serializedLimit);
      return first(yield bound(q.setMetadata, { id, metadata: json }));
    });
  }

  async revoke(id: string, reason: string, at: EpochMs): Promise<Session | null> {
    return first(await this.#run('revoke', this.#q.revoke, { id, reason, at }));
  }

  async revokeAll(userId: string, reason: string, at: EpochMs, exceptId?: string): Promise<Session[]> {
    // Under the user's lock, so a concurrent insert lands entirely before or after it.
    const q = this.#q;
    return this.#transaction('revokeAll', userId, function* () {
      const rows = yield bound(q.revokeAllOfUser, { userId, reason, at, exceptId: exceptId ?? '' });
      return rows.map(toSession);
    });
  }

  async listByUser(userId: string, activeAt?: EpochMs): Promise<Session[]> {
    const rows =
      activeAt === undefined
        ? await this.#run('listByUser', this.#q.allOfUser, { userId })
        : await this.#run('listByUser', this.#q.activeOfUser, { userId, now: activeAt });
    return rows.map(toSession);
  }

  async countActive(userId: string, now: EpochMs): Promise<number> {
    const rows = await this.#run('countActive', this.#q.countActive, { userId, now });
    return Number(rows[0]?.[0] ?? 0);
  }

  async *scan(filter: ScanFilter, pageSize: number): AsyncIterable<Session[]> {
    const statement = this.#variant(['scan', filter.userId, filter.createdSince], () => {
      let query = this.#table().selectFrom(this.#tables.sessions).select(SESSION_COLUMNS).where('id', '>', param('after'));
      if (filter.userId !== undefined) query = query.where('user_id', '=', param('userId'));
      if (filter.createdSince !== undefined) query = query.where('created_at', '>=', param('createdSince'));
      return query.orderBy('id').limit(param('limit'));
    });
    let after = '';
    for (;;) {
      const rows = await this.#run('scan', statement, {
        userId: filter.userId,
        createdSince: filter.createdSince,
        after,
        limit: pageSize,
      });
      if (rows.length > 0) yield rows.map(toSession);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]![0] as string;
    }
  }

  async deleteEndedBefore(cutoff: EpochMs, limit: number): Promise<number> {
    const rows = await this.#run('deleteEndedBefore', this.#q.deleteEnded, { cutoff, limit });
    return rows.length;
  }

  async insertActivity(rows: readonly ActivityRecord[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.#driver.dialect === 'postgres') {
      // One statement for the whole batch: each column travels as one array parameter.
      const columns: Record<string, unknown[]> = {};
      for (const { field } of ACTIVITY_TABLE) columns[field] = rows.map((row) => activityValue(row, field));
      await this.#run('insertActivity', this.#a.insertUnnest, columns);
      return;
    }
    // SQLite: one prepared single-row insert per row inside one transaction, the fastest way there.
    const insert = this.#a.insertOne;
    await this.#transaction('insertActivity', null, function* () {
      for (const row of rows) {
        const values: Values = {};
        for (const { field } of ACTIVITY_TABLE) values[field] = activityValue(row, field);
        yield bound(insert, values);
      }
    });
  }

  async listActivity(query: ActivityQuery): Promise<ActivityRecord[]> {
    const statement = this.#variant(
      ['activity', query.sessionId, query.userId, query.since, query.until, query.category, query.before],
      () => {
        let q = this.#table().selectFrom(this.#tables.activity).select(ACTIVITY_COLUMNS);
        if (query.sessionId !== undefined) q = q.where('session_id', '=', param('sessionId'));
        if (query.userId !== undefined) q = q.where('user_id', '=', param('userId'));
        if (query.since !== undefined) q = q.where('ts', '>=', param('since'));
        if (query.until !== undefined) q = q.where('ts', '<', param('until'));
        if (query.category !== undefined) q = q.where('category', '=', param('category'));
        return newestFirst(q, 'ts', query.before !== undefined);
      },
    );
    const rows = await this.#run('listActivity', statement, {
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
    return (await this.#run('deleteActivityBefore', this.#a.deleteBefore, { cutoff, limit })).length;
  }

  async raiseAlert(occurrence: AlertOccurrence, windowMs: number): Promise<{ alert: Alert; created: boolean }> {
    const q = this.#al;
    // Under a lock on the dedup key, so concurrent occurrences (any process) fold into one alert.
    return this.#transaction('raiseAlert', `alert:${occurrence.dedupKey}`, function* () {
      const latest: Row[] = yield bound(q.latestOfKey, { dedupKey: occurrence.dedupKey });
      const row = latest[0];
      const evidence = JSON.stringify(occurrence.evidence);
      if (row !== undefined && row[5] !== 'resolved' && Number(row[7]) >= occurrence.at - windowMs) {
        const severity = higherSeverity(row[4] as Alert['severity'], occurrence.severity);
        const folded: Row[] = yield bound(q.fold, { id: row[0], severity, at: occurrence.at, evidence });
        return { alert: toAlert(folded[0]!), created: false };
      }
      const inserted: Row[] = yield bound(q.insert, { ...occurrence, evidence });
      return { alert: toAlert(inserted[0]!), created: true };
    });
  }

  async listAlerts(query: AlertQuery): Promise<Alert[]> {
    const prepared = this.#variant(['alerts', query.userId, query.status, query.severity, query.since, query.before], () => {
      let q = this.#table().selectFrom(this.#tables.alerts).select(ALERT_COLUMNS);
      if (query.userId !== undefined) q = q.where('user_id', '=', param('userId'));
      if (query.status !== undefined) q = q.where('status', '=', param('status'));
      if (query.severity !== undefined) q = q.where('severity', '=', param('severity'));
      if (query.since !== undefined) q = q.where('created_at', '>=', param('since'));
      return newestFirst(q, 'created_at', query.before !== undefined);
    });
    const rows = await this.#run('listAlerts', prepared, {
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
    const updated = await this.#run('setAlertStatus', this.#al.setStatus, { id, status, at, note: note ?? null });
    if (updated.length > 0) return toAlert(updated[0]!);
    // Not a transition this status allows (or no such alert): report the alert as it is.
    const current = await this.#run('setAlertStatus', this.#al.byId, { id });
    return current.length === 0 ? null : toAlert(current[0]!);
  }

  async deleteAlertsBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return (await this.#run('deleteAlertsBefore', this.#al.deleteBefore, { cutoff, limit })).length;
  }

  async hitCounter(key: string, at: EpochMs, windowMs: number, hits = 1): Promise<number> {
    const bucketMs = Math.ceil(windowMs / 10);
    const bucket = Math.floor(at / bucketMs);
    const values = { key, bucket, hits, oldest: bucket - 9, expiresAt: (bucket + 10) * bucketMs };
    if (this.#driver.dialect === 'postgres') {
      // One statement, one round trip: the upsert's own count (the row lock orders concurrent hits,
      // so each caller gets a distinct count) plus the nine older buckets.
      const rows = await this.#run('hitCounter', this.#c.hitAndCount, values);
      return Number(rows[0]![0]);
    }
    // SQLite: both statements back to back with no await between them, so no other hit of this
    // process lands in between; another process's hit may, which only adds to the sum.
    const hit = this.#run('hitCounter', this.#c.hit, values);
    if (!Array.isArray(hit)) await hit;
    const counted = this.#run('hitCounter', this.#c.count, values);
    return Number((Array.isArray(counted) ? counted : await counted)[0]![0]);
  }

  async deleteCountersBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return (await this.#run('deleteCountersBefore', this.#c.deleteBefore, { cutoff, limit })).length;
  }

  async insertLab(userId: string, limits: LabLimits, build: (heldSubnets: ReadonlySet<string>) => NewLabRecord): Promise<Lab> {
    const l = this.#l;
    // One lock for every allocation: the caps and the held subnets are global, so concurrent inserts
    // (any process) must see each other's rows. SQLite's BEGIN IMMEDIATE serialises them anyway.
    return this.#transaction('insertLab', LAB_ALLOCATION_LOCK, function* () {
      const counts = (yield bound(l.countLive, { userId }))[0]!;
      assertBelowLabLimits(Number(counts[0]), Number(counts[1]), limits);
      const held = new Set((yield bound(l.heldSubnets, {})).map((row) => row[0] as string));
      const record = build(held);
      if (held.has(record.network.subnet)) throw new Error(`insertLab: build returned subnet ${record.network.subnet}, which another lab holds`);
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
    this.#assertOpen();
    const { statuses } = expected;
    if (statuses.length === 0) return null;
    // One statement per length of the status list; absent changes bind null and keep the column.
    const statement = this.#variant([`updateLab:${statuses.length}`, expected.extensions], () => {
      let q = this.#table()
        .updateTable(this.#tables.labs)
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
    const rows = await this.#run('updateLab', statement, {
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
    const rows = await this.#run('getLab', this.#l.byId, { id });
    return rows.length === 0 ? null : toLab(rows[0]!);
  }

  async listLabs(query: LabQuery): Promise<Lab[]> {
    this.#assertOpen();
    const { statuses } = query;
    if (statuses?.length === 0) return [];
    const statement = this.#variant([`listLabs:${statuses?.length ?? 'any'}`, query.userId, query.sessionId, query.subnetHeld], () => {
      let q = this.#table().selectFrom(this.#tables.labs).select(LAB_COLUMNS);
      if (query.userId !== undefined) q = q.where('user_id', '=', param('userId'));
      if (query.sessionId !== undefined) q = q.where('session_id', '=', param('sessionId'));
      if (statuses !== undefined) q = q.where('status', 'in', statusParams(statuses.length));
      if (query.subnetHeld !== undefined) q = q.where('subnet_held', '=', param('subnetHeld'));
      return q.orderBy('created_at').orderBy('id');
    });
    const rows = await this.#run('listLabs', statement, {
      userId: query.userId,
      sessionId: query.sessionId,
      ...statusValues(statuses ?? []),
      subnetHeld: query.subnetHeld === undefined ? undefined : Number(query.subnetHeld),
    });
    return rows.map(toLab);
  }

  async deleteLabsEndedBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return (await this.#run('deleteLabsEndedBefore', this.#l.deleteEnded, { cutoff, limit })).length;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#driver.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionError('CLOSED', `The ${this.kind} store is closed`);
  }

  #table(): Kysely<any> {
    return this.#driver.schema === undefined ? this.#driver.db : this.#driver.db.withSchema(this.#driver.schema);
  }

  /** Runs one statement, mapping driver errors; synchronous where the driver is (SQLite). */
  #run(operation: string, prepared: Prepared, values: Values): Row[] | Promise<Row[]> {
    this.#assertOpen();
    try {
      const rows = this.#driver.query(prepared.statement, bind(prepared, values));
      return Array.isArray(rows) ? rows : rows.catch((err: unknown) => Promise.reject(this.#error(err, operation)));
    } catch (err) {
      throw this.#error(err, operation);
    }
  }

  async #transaction<T>(operation: string, lockKey: string | null, body: () => TransactionBody<T>): Promise<T> {
    this.#assertOpen();
    try {
      return await this.#driver.transaction(lockKey, body);
    } catch (err) {
      throw this.#error(err, operation);
    }
  }

  /** Maps a driver error; our own errors (thrown inside a transaction body) pass through unchanged. */
  #error(err: unknown, operation: string): SessionError | LabError {
    if (err instanceof SessionError || err instanceof LabError) return err;
    if (this.#driver.isMissingTable(err)) {
      return new SessionError('STORE_NOT_MIGRATED', `The ${this.kind} store has no sessions table; call store.migrate() first`, { cause: err });
    }
    const detail = err instanceof Error ? err.message : String(err);
    return new SessionError('STORE_UNAVAILABLE', `The ${this.kind} store failed during ${operation}: ${detail}`, { cause: err });
  }

  /**
   * The statement for one combination of filters: `parts` name the statement and then list the
   * optional filters, of which only presence matters (values are bound per call).
   */
  #variant(parts: readonly [string, ...unknown[]], build: () => Compilable): Prepared {
    const key = parts.map((part, i) => (i === 0 ? part : part === undefined ? 0 : 1)).join(':');
    let prepared = this.#variants.get(key);
    if (prepared === undefined) {
      prepared = prepare(build());
      this.#variants.set(key, prepared);
    }
    return prepared;
  }
}

// --- internal ---

type Values = Record<string, unknown>;

interface LookupWaiter<T> {
  resolve(value: T | null): void;
  reject(error: unknown): void;
}

/**
 * Coalesces the lookups by key issued in one tick into queries of at most {@link MAX_LOOKUP_BATCH}
 * keys (`= any($1)`): over a network the round trip, not the indexed lookup, limits lookups per second.
 */
class LookupBatcher<T> {
  readonly #query: (keys: string[]) => Promise<Row[]>;
  readonly #keyOf: (row: Row) => string;
  readonly #toValue: (row: Row) => T;
  #pending: Map<string, LookupWaiter<T>[]> | null = null;

  constructor(query: (keys: string[]) => Promise<Row[]>, keyOf: (row: Row) => string, toValue: (row: Row) => T) {
    this.#query = query;
    this.#keyOf = keyOf;
    this.#toValue = toValue;
  }

  lookup(key: string): Promise<T | null> {
    return new Promise<T | null>((resolve, reject) => {
      if (this.#pending === null) {
        this.#pending = new Map();
        process.nextTick(() => void this.#flush());
      }
      const waiters = this.#pending.get(key);
      if (waiters === undefined) this.#pending.set(key, [{ resolve, reject }]);
      else waiters.push({ resolve, reject });
    });
  }

  async #flush(): Promise<void> {
    const pending = this.#pending!;
    this.#pending = null;
    const keys = [...pending.keys()];
    for (let start = 0; start < keys.length; start += MAX_LOOKUP_BATCH) {
      const chunk = keys.slice(start, start + MAX_LOOKUP_BATCH);
      try {
        const rows = await this.#query(chunk);
        for (const row of rows) {
          const key = this.#keyOf(row);
          const value = this.#toValue(row);
          for (const waiter of pending.get(key) ?? []) waiter.resolve(value);
          pending.delete(key);
        }
        for (const key of chunk) for (const waiter of pending.get(key) ?? []) waiter.resolve(null);
      } catch (err) {
        for (const key of chunk) for (const waiter of pending.get(key) ?? []) waiter.reject(err);
      }
    }
  }
}

/** Compare-and-swap rounds of a SQLite metadata merge before it takes the write lock instead. */
const MERGE_ATTEMPTS = 4;

/** A Postgres "data exception" (SQLSTATE class 22), e.g. text that is not valid jsonb. */
function isDataException(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}

/** The advisory lock key (Postgres) under which every insertLab runs. */
const LAB_ALLOCATION_LOCK = 'labs:allocate';

/** Placeholders `status0`..`status<n-1>` for a list of statuses, bound by {@link statusValues}. */
function statusParams(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => param(`status${i}`));
}

function statusValues(statuses: readonly LabStatus[]): Values {
  const values: Values = {};
  statuses.forEach((status, i) => (values[`status${i}`] = status));
  return values;
}

/** Hashes per batched lookup; larger batches only lengthen the slowest caller's wait. */
const MAX_LOOKUP_BATCH = 256;

/** A placeholder for a value supplied at execution time; kysely passes it through as a parameter. */
class Param {
  constructor(readonly name: string) {}
}

function param(name: string): any {
  return new Param(name);
}

/** A compiled statement and, for each positional parameter, the name of the value that fills it. */
interface Prepared {
  readonly statement: Statement;
  readonly names: readonly string[];
}

function prepare(query: Compilable, single = false): Prepared {
  const compiled = query.compile();
  const names = compiled.parameters.map((p) => {
    if (!(p instanceof Param)) throw new Error(`Statement has an inline value; use param(): ${compiled.sql}`);
    return p.name;
  });
  const name = 'sk_' + createHash('sha256').update(compiled.sql).digest('hex').slice(0, 24);
  return { statement: { name, sql: compiled.sql, single }, names };
}

function bind(prepared: Prepared, values: Values): unknown[] {
  const { names } = prepared;
  const parameters = new Array<unknown>(names.length);
  for (let i = 0; i < names.length; i++) parameters[i] = values[names[i]!] ?? null;
  return parameters;
}

function bound(prepared: Prepared, values: Values): BoundStatement {
  return { statement: prepared.statement, parameters: bind(prepared, values) };
}

/**
 * Orders a list newest first by `timeColumn`, then id, and with `keyset` continues after the
 * `(beforeTs, beforeId)` position of a previous page.
 */
function newestFirst<Q extends SelectQueryBuilder<any, any, any>>(query: Q, timeColumn: string, keyset: boolean): Compilable {
  const time = sql.ref(timeColumn);
  const page = keyset ? query.where(sql<boolean>`(${time} < ${param('beforeTs')} or (${time} = ${param('beforeTs')} and id < ${param('beforeId')}))`) : query;
  return page.orderBy(timeColumn, 'desc').orderBy('id', 'desc').limit(param('limit'));
}

function buildStatements(db: Kysely<any>, table: string, rowLocks: boolean) {
  const select = () => db.selectFrom(table).select(SESSION_COLUMNS);
  const isActive = (now: string) => sql<boolean>`revoked_at is null and expires_at > ${param(now)}`;
  // Touch and rotate never move activity or the idle deadline backwards.
  const touchColumns = (at: string) => ({
    last_active_at: sql`case when last_active_at > ${param(at)} then last_active_at else ${param(at)} end`,
    expires_at: sql`case when expires_at > ${param('idleExpiresAt')} then expires_at else ${param('idleExpiresAt')} end`,
  });
  const lockActive = select().where('id', '=', param('id')).where(isActive('now'));

  return {
    // The hot lookup reads the device's short key, not its JSON; see toSession.
    byTokenHash: prepare(
      db
        .selectFrom(table)
        .select(SESSION_COLUMNS.map((column) => (column === 'device' ? sql<null>`null`.as('device') : column)))
        .where('token_hash', '=', param('tokenHash')),
      true,
    ),
    byId: prepare(select().where('id', '=', param('id')), true),
    // Postgres only: many hashes in one query; the hash comes last to route each row to its caller.
    byTokenHashes: prepare(
      db
        .selectFrom(table)
        .select([...SESSION_COLUMNS, 'token_hash'])
        .where('token_hash', '=', sql<string>`any(${param('tokenHashes')})`),
    ),
    insert: prepare(
      db
        .insertInto(table)
        .values({
          id: param('id'),
          token_hash: param('tokenHash'),
          user_id: param('userId'),
          tenant_id: param('tenantId'),
          created_at: param('createdAt'),
          last_active_at: param('lastActiveAt'),
          expires_at: param('expiresAt'),
          absolute_expires_at: param('absoluteExpiresAt'),
          ip: param('ip'),
          user_agent: param('userAgent'),
          device: param('device'),
          device_key: param('deviceKey'),
          metadata: param('metadata'),
        })
        .returning(SESSION_COLUMNS),
      true,
    ),
    activeOfUserOldestFirst: prepare(
      select().where('user_id', '=', param('userId')).where(isActive('now')).orderBy('last_active_at').orderBy('created_at').orderBy('id'),
    ),
    activeOfUser: prepare(
      select().where('user_id', '=', param('userId')).where(isActive('now')).orderBy('last_active_at', 'desc').orderBy('created_at', 'desc'),
    ),
    allOfUser: prepare(select().where('user_id', '=', param('userId')).orderBy('last_active_at', 'desc').orderBy('created_at', 'desc')),
    countActive: prepare(
      db.selectFrom(table).select(sql<number>`count(*)`.as('n')).where('user_id', '=', param('userId')).where(isActive('now')),
    ),
    touch: prepare(db.updateTable(table).set(touchColumns('at')).where('id', '=', param('id')).where(isActive('at')).returning(SESSION_COLUMNS), true),
    rotate: prepare(
      db
        .updateTable(table)
        .set({ token_hash: param('nextHash'), ...touchColumns('now') })
        .where('token_hash', '=', param('currentHash'))
        .where(isActive('now'))
        .returning(SESSION_COLUMNS),
      true,
    ),
    // min(expires_at + byMs, absolute_expires_at, max(expires_at, cap)), read and written in one
    // statement so that concurrent extends cannot pass the cap. expires_at <= absolute_expires_at always.
    extend: prepare(
      db
        .updateTable(table)
        .set({
          expires_at: sql`case
            when expires_at >= ${param('maxIdleExpiresAt')} then expires_at
            when expires_at + ${param('byMs')} <= ${param('maxIdleExpiresAt')} and expires_at + ${param('byMs')} <= absolute_expires_at then expires_at + ${param('byMs')}
            when ${param('maxIdleExpiresAt')} <= absolute_expires_at then ${param('maxIdleExpiresAt')}
            else absolute_expires_at end`,
        })
        .where('id', '=', param('id'))
        .where(isActive('now'))
        .returning(SESSION_COLUMNS),
      true,
    ),
    lockActive: prepare(rowLocks ? lockActive.forUpdate() : lockActive, true),
    activeById: prepare(lockActive, true),
    swapMetadata: prepare(
      db
        .updateTable(table)
        .set({ metadata: param('metadata') })
        .where('id', '=', param('id'))
        .where('metadata', '=', param('old'))
        .where(isActive('now'))
        .returning(SESSION_COLUMNS),
      true,
    ),
    mergeJsonb: rowLocks
      ? prepare(
          db
            .updateTable(table)
            .set({ metadata: sql`(metadata::jsonb || ${param('patch')}::jsonb)::text` })
            .where('id', '=', param('id'))
            .where(isActive('now'))
            .where(sql<boolean>`octet_length((metadata::jsonb || ${param('patch')}::jsonb)::text) <= ${param('limit')}`)
            .returning(SESSION_COLUMNS),
          true,
        )
      : undefined,
    setMetadata: prepare(db.updateTable(table).set({ metadata: param('metadata') }).where('id', '=', param('id')).returning(SESSION_COLUMNS), true),
    revoke: prepare(
      db
        .updateTable(table)
        .set({ revoked_at: param('at'), revoke_reason: param('reason') })
        .where('id', '=', param('id'))
        .where('revoked_at', 'is', null)
        .returning(SESSION_COLUMNS),
      true,
    ),
    revokeAllOfUser: prepare(
      db
        .updateTable(table)
        .set({ revoked_at: param('at'), revoke_reason: param('reason') })
        .where('user_id', '=', param('userId'))
        .where(isActive('at'))
        .where('id', '<>', param('exceptId'))
        .returning(SESSION_COLUMNS),
    ),
    deleteEnded: prepare(
      db
        .deleteFrom(table)
        .where(
          'id',
          'in',
          db
            .selectFrom(table)
            .select('id')
            .where(sql<boolean>`expires_at < ${param('cutoff')} or revoked_at < ${param('cutoff')}`)
            .limit(param('limit')),
        )
        .returning('id'),
    ),
  };
}

function activityValue(row: ActivityRecord, field: (typeof ACTIVITY_TABLE)[number]['field']): unknown {
  const value = row[field];
  return field === 'details' ? (value === null ? null : JSON.stringify(value)) : value;
}

function buildActivityStatements(db: Kysely<any>, table: string) {
  const insertValues = Object.fromEntries(ACTIVITY_TABLE.map(({ column, field }) => [column, param(field)]));
  const arrays = sql.join(ACTIVITY_TABLE.map(({ field, pgType }) => sql`${param(field)}::${sql.raw(pgType)}[]`));
  return {
    insertOne: prepare(db.insertInto(table).values(insertValues).onConflict((oc) => oc.column('id').doNothing())),
    insertUnnest: prepare(
      db
        .insertInto(table)
        .columns(ACTIVITY_COLUMNS)
        .expression(sql`select * from unnest(${arrays})`)
        .onConflict((oc) => oc.column('id').doNothing()),
    ),
    deleteBefore: prepare(
      db
        .deleteFrom(table)
        .where('id', 'in', db.selectFrom(table).select('id').where('ts', '<', param('cutoff')).limit(param('limit')))
        .returning('id'),
    ),
  };
}

function buildAlertStatements(db: Kysely<any>, table: string, rowLocks: boolean) {
  const latest = db.selectFrom(table).select(ALERT_COLUMNS).where('dedup_key', '=', param('dedupKey')).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(sql.lit(1));
  return {
    latestOfKey: prepare(rowLocks ? latest.forUpdate() : latest, true),
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

/** What `rotateToken` remembers of a replaced hash, and the statements that read and prune it. */
function buildRotationStatements(db: Kysely<any>, tables: SqlTableNames) {
  const table = tables.rotatedTokens;
  const columns = ['token_hash', 'session_id', 'user_id', 'rotated_at'] as const;
  // Hashes are random, so one is rotated away once; should one ever come back, its latest rotation wins.
  const latestWins = (oc: OnConflictBuilder<any, any>) =>
    oc.column('token_hash').doUpdateSet({
      session_id: sql.ref('excluded.session_id'),
      user_id: sql.ref('excluded.user_id'),
      rotated_at: sql.ref('excluded.rotated_at'),
    });
  const swap = db
    .updateTable(tables.sessions)
    .set({
      token_hash: param('nextHash'),
      last_active_at: sql`case when last_active_at > ${param('now')} then last_active_at else ${param('now')} end`,
      expires_at: sql`case when expires_at > ${param('idleExpiresAt')} then expires_at else ${param('idleExpiresAt')} end`,
    })
    .where('token_hash', '=', param('currentHash'))
    .where(sql<boolean>`revoked_at is null and expires_at > ${param('now')}`)
    .returning(SESSION_COLUMNS);
  return {
    // Postgres: the swap and the record in one statement. Every data-modifying CTE runs, read or not,
    // and `recorded` inserts a row only if `rotated` updated one.
    rotateAndRecord: prepare(
      db
        .with('rotated', () => swap)
        .with('recorded', (qb) =>
          qb
            .insertInto(table)
            .columns(columns)
            .expression((eb) =>
              eb
                .selectFrom('rotated')
                .select([
                  sql<string>`cast(${param('currentHash')} as text)`.as('token_hash'),
                  'id',
                  'user_id',
                  sql<number>`cast(${param('now')} as bigint)`.as('rotated_at'),
                ]),
            )
            .onConflict(latestWins),
        )
        .selectFrom('rotated')
        .select(SESSION_COLUMNS),
      true,
    ),
    // SQLite: run after the swap (`q.rotate`) succeeded, in the same transaction.
    record: prepare(
      db
        .insertInto(table)
        .values({ token_hash: param('currentHash'), session_id: param('sessionId'), user_id: param('userId'), rotated_at: param('now') })
        .onConflict(latestWins),
    ),
    find: prepare(db.selectFrom(table).select(columns.slice(1)).where('token_hash', '=', param('tokenHash')), true),
    // Postgres only: many hashes in one query, each row led by its hash.
    findMany: prepare(db.selectFrom(table).select(columns).where('token_hash', '=', sql<string>`any(${param('tokenHashes')})`)),
    deleteBefore: prepare(
      db
        .deleteFrom(table)
        .where('token_hash', 'in', db.selectFrom(table).select('token_hash').where('rotated_at', '<', param('cutoff')).limit(param('limit')))
        .returning('token_hash'),
    ),
  };
}

function buildCounterStatements(db: Kysely<any>, table: string) {
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
    // Postgres: the subquery reads the snapshot from before the upsert, hence only older buckets.
    hitAndCount: prepare(
      db
        .with('hit', () => hit.returning('hits'))
        .selectFrom('hit')
        .select(sql<number>`hits + (${window('below')})`.as('n')),
      true,
    ),
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

function buildLabStatements(db: Kysely<any>, table: string) {
  const live = LIVE_LAB_STATUSES.map((status) => sql.lit(status));
  return {
    // Both caps in one read: the user's live labs and all live labs.
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

/** Maps a row of LAB_COLUMNS, by position, to a frozen lab. */
function toLab(row: Row): Lab {
  const error = row[16] as string | null;
  return Object.freeze({
    id: row[0] as string,
    sessionId: row[1] as string,
    userId: row[2] as string,
    template: row[3] as string,
    status: row[4] as LabStatus,
    network: Object.freeze({ name: row[5] as string, id: row[6] as string | null, subnet: row[7] as string, gateway: row[8] as string }),
    containers: deepFreeze(JSON.parse(row[10] as string) as Lab['containers']),
    createdAt: Number(row[11]),
    updatedAt: Number(row[12]),
    expiresAt: Number(row[13]),
    extensions: Number(row[14]),
    stopReason: row[15] as Lab['stopReason'],
    error: error === null ? null : deepFreeze(parseJson(error)),
    subnetHeld: Number(row[9]) === 1,
  });
}

function toAlert(row: Row): Alert {
  return {
    id: row[0] as string,
    userId: row[1] as string | null,
    sessionId: row[2] as string | null,
    type: row[3] as string,
    severity: row[4] as Alert['severity'],
    status: row[5] as AlertStatus,
    createdAt: Number(row[6]),
    lastSeenAt: Number(row[7]),
    evidence: parseJson(row[8] as string),
    dedupKey: row[9] as string,
    count: Number(row[10]),
    updatedAt: row[11] === null ? null : Number(row[11]),
    note: row[12] as string | null,
  };
}

function toActivity(row: Row): ActivityRecord {
  const details = row[14] as string | null;
  return {
    id: row[0] as string,
    sessionId: row[1] as string,
    userId: row[2] as string | null,
    ts: Number(row[3]),
    type: row[4] as string,
    category: row[5] as ActivityRecord['category'],
    method: row[6] as string | null,
    path: row[7] as string | null,
    status: row[8] === null ? null : Number(row[8]),
    durationMs: row[9] === null ? null : Number(row[9]),
    bytesIn: row[10] === null ? null : Number(row[10]),
    bytesOut: row[11] === null ? null : Number(row[11]),
    resourceType: row[12] as string | null,
    resourceId: row[13] as string | null,
    details: details === null ? null : parseJson(details),
  };
}

function first(rows: readonly SessionRow[]): Session | null {
  return rows.length === 0 ? null : toSession(rows[0]!);
}

const METADATA = SESSION_COLUMNS.indexOf('metadata');
const TOKEN_HASH = SESSION_COLUMNS.length;

/** Maps a row of SESSION_COLUMNS, by position. */
function toSession(row: SessionRow): Session {
  const revokedAt = row[7] as number | string | null;
  const device = row[11] as string | null;
  const metadata = row[12] as string;
  return {
    id: row[0] as string,
    userId: row[1] as string,
    tenantId: row[2] as string | null,
    status: revokedAt === null ? 'active' : 'revoked',
    // pg returns BIGINT as strings; SQLite returns numbers. Epoch ms fit a double exactly.
    createdAt: Number(row[3]),
    lastActiveAt: Number(row[4]),
    expiresAt: Number(row[5]),
    absoluteExpiresAt: Number(row[6]),
    revokedAt: revokedAt === null ? null : Number(revokedAt),
    revokeReason: row[8] as string | null,
    ip: row[9] as string | null,
    userAgent: row[10] as string | null,
    device: resolveDevice(row[13] as string | null, device),
    metadata: metadata === '{}' ? EMPTY_METADATA : (parseJson(metadata) as SessionMetadata),
  };
}

/**
 * Devices repeat: most sessions come from a few browser builds. Each row carries a short key of its
 * device JSON, and parsed devices are cached by that key (frozen, so sessions share them): a
 * validation reads 22 characters instead of the JSON and parses nothing.
 */
const deviceCache = new Map<string, NonNullable<Session['device']>>();
const DEVICE_CACHE_SIZE = 2_000;
/** Marks a row read without its device JSON whose key is not cached yet. */
const UNRESOLVED_DEVICE: NonNullable<Session['device']> = Object.freeze({ class: 'unknown' });

function deviceKeyOf(json: string): string {
  return createHash('sha256').update(json).digest('base64url').slice(0, 22);
}

function resolveDevice(key: string | null, json: string | null): Session['device'] {
  if (key === null) return json === null ? null : (parseJson(json) as Session['device']);
  const cached = deviceCache.get(key);
  if (cached !== undefined) return cached;
  if (json === null) return UNRESOLVED_DEVICE;
  const device = deepFreeze(parseJson(json) as NonNullable<Session['device']>);
  if (deviceCache.size >= DEVICE_CACHE_SIZE) deviceCache.delete(deviceCache.keys().next().value!);
  deviceCache.set(key, device);
  return device;
}

function parseJson(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}
