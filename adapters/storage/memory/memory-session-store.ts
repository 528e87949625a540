import type {
  ActivityQuery,
  Alert,
  AlertOccurrence,
  AlertQuery,
  AlertStatus,
  ActivityRecord,
  EpochMs,
  NewSessionRecord,
  ScanFilter,
  Session,
  SessionLimit,
  SessionMetadata,
  SessionStore,
} from '../../../src/contracts.js';
import { parseDuration, type Duration } from '../../../src/duration.js';
import { SessionError } from '../../../src/errors.js';
import { higherSeverity } from '../../../src/alerts/severity.js';
import { assertWithinLimit, deepFreeze } from '../../../src/metadata.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How long ended (expired or revoked) sessions stay listable before the store reclaims their memory
   * on its own, a few entries per write. `cleanup()` can delete them earlier. Default `'1d'`.
   */
  retainEnded?: Duration;
  /** Activity rows kept at most; the oldest are discarded beyond it. Default 100,000. */
  maxActivityRows?: number;
}

/**
 * A store that keeps sessions in this process's memory: for tests, development and single-process
 * apps that accept losing sessions on restart. Operations are atomic because each one runs to
 * completion without yielding.
 *
 * @example
 * const sessions = createSessionManager({ store: memoryStore() });
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const maxActivityRows = options.maxActivityRows ?? 100_000;
  if (!Number.isSafeInteger(maxActivityRows) || maxActivityRows < 0) {
    throw new SessionError('INVALID_CONFIG', 'maxActivityRows must be a non-negative integer');
  }
  return new MemorySessionStore(parseDuration(options.retainEnded ?? '1d', 'retainEnded'), maxActivityRows);
}

// --- internal ---

/** Entries examined for reclamation per insert: keeps the sweep O(1) per request. */
const SWEEP_STEP = 4;

class MemorySessionStore implements SessionStore {
  readonly kind = 'memory';
  // Sessions are stored frozen and returned as they are, so a read allocates nothing; every change
  // replaces the object. The token hash lives only as a key, so sessions never carry it.
  readonly #byHash = new Map<string, Session>();
  readonly #hashById = new Map<string, string>();
  // Arrays rather than Sets: a user has few sessions, and an array costs far less memory.
  readonly #idsByUser = new Map<string, string[]>();
  readonly #retainEndedMs: number;
  // Activity in insertion order; lists scan it, which suits the memory store's scale.
  #activity: ActivityRecord[] = [];
  readonly #activityIds = new Set<string>();
  readonly #maxActivityRows: number;
  readonly #alerts = new Map<string, Alert>();
  /** The newest alert of each dedup key: the only one an occurrence can fold into. */
  readonly #alertByKey = new Map<string, string>();
  #sweep: Iterator<string> | null = null;
  #closed = false;

  constructor(retainEndedMs: number, maxActivityRows: number) {
    this.#retainEndedMs = retainEndedMs;
    this.#maxActivityRows = maxActivityRows;
  }

  async migrate(): Promise<void> {
    this.#assertOpen();
  }

  async insert(record: NewSessionRecord, now: EpochMs, limit?: SessionLimit): Promise<{ session: Session; evicted: Session[] }> {
    this.#assertOpen();
    if (this.#byHash.has(record.tokenHash) || this.#hashById.has(record.id)) {
      throw new SessionError('INVALID_ARGUMENT', 'A session with this id or token hash already exists');
    }
    const evicted: Session[] = [];
    if (limit !== undefined) {
      const active = this.#sessionsOf(record.userId).filter((s) => isActive(s, now));
      const excess = active.length + 1 - limit.max;
      if (excess > 0) {
        if (limit.onLimit === 'reject') {
          throw new SessionError('SESSION_LIMIT', `User already has ${active.length} active sessions (maxSessionsPerUser is ${limit.max})`);
        }
        active.sort(byLeastRecentlyActive);
        for (const old of active.slice(0, excess)) evicted.push(this.#put(revoked(old, 'limit', now)));
      }
    }
    // Reclaim only past the checks that can throw (a method that throws must have changed nothing),
    // and before storing the new record, which is therefore never reclaimed by its own insert.
    this.#reclaimSome(now);
    const { tokenHash, ...fields } = record;
    const session = freezeSession({ ...fields, status: 'active', revokedAt: null, revokeReason: null });
    this.#byHash.set(tokenHash, session);
    this.#hashById.set(session.id, tokenHash);
    const ids = this.#idsByUser.get(session.userId);
    if (ids === undefined) this.#idsByUser.set(session.userId, [session.id]);
    else ids.push(session.id);
    return { session, evicted };
  }

  async findByTokenHash(tokenHash: string): Promise<Session | null> {
    this.#assertOpen();
    return this.#byHash.get(tokenHash) ?? null;
  }

  async findById(id: string): Promise<Session | null> {
    this.#assertOpen();
    return this.#get(id);
  }

  async touch(id: string, at: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null> {
    this.#assertOpen();
    const session = this.#get(id);
    if (session === null || !isActive(session, at)) return null;
    return this.#put(touched(session, at, idleExpiresAt));
  }

  async extend(id: string, byMs: number, now: EpochMs): Promise<Session | null> {
    this.#assertOpen();
    const session = this.#get(id);
    if (session === null || !isActive(session, now)) return null;
    const expiresAt = Math.min(session.expiresAt + byMs, session.absoluteExpiresAt);
    return this.#put(freezeSession({ ...session, expiresAt }));
  }

  async rotateToken(currentHash: string, nextHash: string, now: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null> {
    this.#assertOpen();
    const session = this.#byHash.get(currentHash);
    if (session === undefined || !isActive(session, now) || this.#byHash.has(nextHash)) return null;
    const updated = touched(session, now, idleExpiresAt);
    this.#byHash.delete(currentHash);
    this.#byHash.set(nextHash, updated);
    this.#hashById.set(updated.id, nextHash);
    return updated;
  }

  async mergeMetadata(id: string, patch: SessionMetadata, now: EpochMs, serializedLimit: number): Promise<Session | null> {
    this.#assertOpen();
    const session = this.#get(id);
    if (session === null || !isActive(session, now)) return null;
    const json = JSON.stringify({ ...session.metadata, ...patch });
    assertWithinLimit(json, serializedLimit);
    // Re-parsing gives the store its own copy, detached from the caller's objects.
    return this.#put(freezeSession({ ...session, metadata: JSON.parse(json) }));
  }

  async revoke(id: string, reason: string, at: EpochMs): Promise<Session | null> {
    this.#assertOpen();
    const session = this.#get(id);
    if (session === null || session.status === 'revoked') return null;
    return this.#put(revoked(session, reason, at));
  }

  async revokeAll(userId: string, reason: string, at: EpochMs, exceptId?: string): Promise<Session[]> {
    this.#assertOpen();
    const result: Session[] = [];
    for (const session of this.#sessionsOf(userId)) {
      if (isActive(session, at) && session.id !== exceptId) result.push(this.#put(revoked(session, reason, at)));
    }
    return result;
  }

  async listByUser(userId: string, activeAt?: EpochMs): Promise<Session[]> {
    this.#assertOpen();
    const sessions = this.#sessionsOf(userId);
    const selected = activeAt === undefined ? sessions : sessions.filter((s) => isActive(s, activeAt));
    return selected.sort((a, b) => b.lastActiveAt - a.lastActiveAt || b.createdAt - a.createdAt);
  }

  async countActive(userId: string, now: EpochMs): Promise<number> {
    this.#assertOpen();
    let count = 0;
    for (const session of this.#sessionsOf(userId)) if (isActive(session, now)) count++;
    return count;
  }

  async *scan(filter: ScanFilter, pageSize: number): AsyncIterable<Session[]> {
    this.#assertOpen();
    const ids = filter.userId === undefined ? this.#hashById.keys() : (this.#idsByUser.get(filter.userId) ?? []).slice();
    let page: Session[] = [];
    for (const id of ids) {
      const session = this.#get(id);
      if (session === null || (filter.createdSince !== undefined && session.createdAt < filter.createdSince)) continue;
      page.push(session);
      if (page.length === pageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  async deleteEndedBefore(cutoff: EpochMs, limit: number): Promise<number> {
    this.#assertOpen();
    let deleted = 0;
    for (const [id, hash] of this.#hashById) {
      if (deleted === limit) break;
      if (endedBefore(this.#byHash.get(hash)!, cutoff)) {
        this.#delete(id);
        deleted++;
      }
    }
    return deleted;
  }

  async insertActivity(rows: readonly ActivityRecord[]): Promise<void> {
    this.#assertOpen();
    for (const row of rows) {
      if (this.#activityIds.has(row.id)) continue;
      this.#activityIds.add(row.id);
      this.#activity.push(deepFreeze(structuredClone(row)));
    }
    const excess = this.#activity.length - this.#maxActivityRows;
    if (excess > 0) for (const dropped of this.#activity.splice(0, excess)) this.#activityIds.delete(dropped.id);
  }

  async listActivity(query: ActivityQuery): Promise<ActivityRecord[]> {
    this.#assertOpen();
    const { before } = query;
    return this.#activity
      .filter(
        (row) =>
          (query.sessionId === undefined || row.sessionId === query.sessionId) &&
          (query.userId === undefined || row.userId === query.userId) &&
          (query.since === undefined || row.ts >= query.since) &&
          (query.until === undefined || row.ts < query.until) &&
          (query.category === undefined || row.category === query.category) &&
          (before === undefined || row.ts < before.ts || (row.ts === before.ts && row.id < before.id)),
      )
      .sort(newestFirst)
      .slice(0, query.limit);
  }

  async deleteActivityBefore(cutoff: EpochMs, limit: number): Promise<number> {
    this.#assertOpen();
    let deleted = 0;
    this.#activity = this.#activity.filter((row) => {
      if (deleted === limit || row.ts >= cutoff) return true;
      this.#activityIds.delete(row.id);
      deleted++;
      return false;
    });
    return deleted;
  }

  async raiseAlert(occurrence: AlertOccurrence, windowMs: number): Promise<{ alert: Alert; created: boolean }> {
    this.#assertOpen();
    const latestId = this.#alertByKey.get(occurrence.dedupKey);
    const latest = latestId === undefined ? undefined : this.#alerts.get(latestId);
    if (latest !== undefined && latest.status !== 'resolved' && latest.lastSeenAt >= occurrence.at - windowMs) {
      const folded = deepFreeze({
        ...latest,
        severity: higherSeverity(latest.severity, occurrence.severity),
        lastSeenAt: Math.max(latest.lastSeenAt, occurrence.at),
        evidence: structuredClone(occurrence.evidence),
        count: latest.count + 1,
      });
      this.#alerts.set(folded.id, folded);
      return { alert: folded, created: false };
    }
    const alert: Alert = deepFreeze({
      id: occurrence.id,
      userId: occurrence.userId,
      sessionId: occurrence.sessionId,
      type: occurrence.type,
      severity: occurrence.severity,
      status: 'open',
      createdAt: occurrence.at,
      lastSeenAt: occurrence.at,
      evidence: structuredClone(occurrence.evidence),
      dedupKey: occurrence.dedupKey,
      count: 1,
      updatedAt: null,
      note: null,
    });
    this.#alerts.set(alert.id, alert);
    this.#alertByKey.set(alert.dedupKey, alert.id);
    return { alert, created: true };
  }

  async listAlerts(query: AlertQuery): Promise<Alert[]> {
    this.#assertOpen();
    const { before } = query;
    return [...this.#alerts.values()]
      .filter(
        (a) =>
          (query.userId === undefined || a.userId === query.userId) &&
          (query.status === undefined || a.status === query.status) &&
          (query.severity === undefined || a.severity === query.severity) &&
          (query.since === undefined || a.createdAt >= query.since) &&
          (before === undefined || a.createdAt < before.createdAt || (a.createdAt === before.createdAt && a.id < before.id)),
      )
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, query.limit);
  }

  async setAlertStatus(id: string, status: AlertStatus, at: EpochMs, note?: string): Promise<Alert | null> {
    this.#assertOpen();
    const alert = this.#alerts.get(id);
    if (alert === undefined) return null;
    const updated = Object.freeze({ ...alert, status, updatedAt: at, note: note ?? alert.note });
    this.#alerts.set(id, updated);
    return updated;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#alerts.clear();
    this.#alertByKey.clear();
    this.#activity = [];
    this.#activityIds.clear();
    this.#byHash.clear();
    this.#hashById.clear();
    this.#idsByUser.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionError('CLOSED', 'The memory store is closed');
  }

  #get(id: string): Session | null {
    const hash = this.#hashById.get(id);
    return hash === undefined ? null : this.#byHash.get(hash)!;
  }

  /** Replaces a stored session by its updated copy. */
  #put(session: Session): Session {
    this.#byHash.set(this.#hashById.get(session.id)!, session);
    return session;
  }

  #sessionsOf(userId: string): Session[] {
    const ids = this.#idsByUser.get(userId);
    return ids === undefined ? [] : ids.map((id) => this.#get(id)!);
  }

  #delete(id: string): void {
    const hash = this.#hashById.get(id);
    if (hash === undefined) return;
    const session = this.#byHash.get(hash)!;
    this.#byHash.delete(hash);
    this.#hashById.delete(id);
    const ids = this.#idsByUser.get(session.userId)!;
    const rest = ids.filter((other) => other !== id);
    if (rest.length === 0) this.#idsByUser.delete(session.userId);
    else this.#idsByUser.set(session.userId, rest);
  }

  /** Incremental sweep: examines a few entries per call, resuming where the last call stopped. */
  #reclaimSome(now: EpochMs): void {
    const cutoff = now - this.#retainEndedMs;
    for (let i = 0; i < SWEEP_STEP; i++) {
      this.#sweep ??= this.#hashById.keys();
      const next = this.#sweep.next();
      if (next.done) {
        this.#sweep = null;
        return;
      }
      // Deleting the entry just yielded is safe: Map iterators tolerate deletion.
      const session = this.#get(next.value);
      if (session !== null && endedBefore(session, cutoff)) this.#delete(next.value);
    }
  }
}

function isActive(session: Session, now: EpochMs): boolean {
  return session.status === 'active' && now < session.expiresAt;
}

/** A session ends at the earlier of its revocation and its idle deadline. */
function endedBefore(session: Session, cutoff: EpochMs): boolean {
  return session.expiresAt < cutoff || (session.revokedAt !== null && session.revokedAt < cutoff);
}

function newestFirst(a: ActivityRecord, b: ActivityRecord): number {
  return b.ts - a.ts || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function byLeastRecentlyActive(a: Session, b: Session): number {
  return a.lastActiveAt - b.lastActiveAt || a.createdAt - b.createdAt;
}

function touched(session: Session, at: EpochMs, idleExpiresAt: EpochMs): Session {
  return freezeSession({
    ...session,
    lastActiveAt: Math.max(session.lastActiveAt, at),
    expiresAt: Math.max(session.expiresAt, idleExpiresAt),
  });
}

function revoked(session: Session, reason: string, at: EpochMs): Session {
  return freezeSession({ ...session, status: 'revoked', revokedAt: at, revokeReason: reason });
}

/** Builds every stored session with one property order, so they share a single hidden class. */
function freezeSession(s: Session): Session {
  return Object.freeze({
    id: s.id,
    userId: s.userId,
    tenantId: s.tenantId,
    status: s.status,
    createdAt: s.createdAt,
    lastActiveAt: s.lastActiveAt,
    expiresAt: s.expiresAt,
    absoluteExpiresAt: s.absoluteExpiresAt,
    revokedAt: s.revokedAt,
    revokeReason: s.revokeReason,
    ip: s.ip,
    userAgent: s.userAgent,
    device: deepFreeze(s.device),
    metadata: deepFreeze(s.metadata),
  });
}
