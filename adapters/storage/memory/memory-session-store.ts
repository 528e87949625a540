import type {
  ActivityQuery,
  Alert,
  AlertOccurrence,
  AlertQuery,
  ActivityRecord,
  EpochMs,
  NewSessionRecord,
  RotatedToken,
  ScanFilter,
  Session,
  SessionLimit,
  SessionMetadata,
  FullSessionStore,
} from '../../../src/contracts.js';
import { parseDuration, type Duration } from '../../../src/duration.js';
import { invalidConfig, SessionError } from '../../../src/errors.js';
import { isAfterPosition, newestFirst } from '../../../src/internal/pagination.js';
import { higherSeverity } from '../../../src/alerts/severity.js';
import { assertWithinLimit, deepFreeze } from '../../../src/metadata.js';
import type { LabStore } from '../../../src/labs/types.js';
import { CounterTable } from './memory-counter-table.js';
import { MemoryLabStore } from './memory-lab-store.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How long ended (expired or revoked) sessions, and the records of rotated-away tokens, stay before
   * the store reclaims their memory on its own, a few entries per write. `cleanup()` can delete them
   * earlier. Default `'1d'`.
   */
  retainEnded?: Duration;
  /** Activity rows kept at most; the oldest are discarded beyond it. Default 100,000. */
  maxActivityRows?: number;
  /**
   * Alerts kept at most (about 0.4 KB each with small evidence). Beyond it the store evicts the resolved alert
   * resolved longest ago, or, with none resolved, the alert least recently seen. Default 10,000.
   */
  maxAlerts?: number;
}

/**
 * What {@link memoryStore} returns: a store of every capability (sessions, activity, alerts), and
 * beside it the lab store of the same memory.
 */
export interface MemoryStore extends FullSessionStore {
  /** Labs for a provisioner (`dockerLabs({ manager, store: store.labs, ... })`); closed with this store. */
  readonly labs: LabStore;
}

/**
 * A store that keeps sessions in this process's memory: for tests, development and single-process
 * apps that accept losing sessions on restart. Operations are atomic because each one runs to
 * completion without yielding. Hit counters are per process and capped at 100,000 keys (the least
 * recently hit go first).
 *
 * @example
 * const sessions = createSessionManager({ store: memoryStore() });
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxActivityRows = options.maxActivityRows ?? 100_000;
  if (!Number.isSafeInteger(maxActivityRows) || maxActivityRows < 0) {
    invalidConfig('maxActivityRows', 'must be a non-negative integer');
  }
  const maxAlerts = options.maxAlerts ?? 10_000;
  if (!Number.isSafeInteger(maxAlerts) || maxAlerts < 1) invalidConfig('maxAlerts', 'must be a positive integer');
  return new MemorySessionStore(parseDuration(options.retainEnded ?? '1d', 'retainEnded'), maxActivityRows, maxAlerts);
}

// --- internal ---

/** Entries examined for reclamation per insert: keeps the sweep O(1) per request. */
const SWEEP_STEP = 4;
/** Counter keys kept at most; beyond it the least recently hit key is dropped. */
const MAX_COUNTER_KEYS = 100_000;
/** Buckets per counter window (CounterStore contract). */
const BUCKETS = 10;

class MemorySessionStore implements MemoryStore {
  readonly kind = 'memory';
  readonly capabilities = Object.freeze({ activity: true, alerts: true });
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
  /** Least recently seen first: an alert moves to the end when an occurrence folds into it. */
  readonly #alerts = new Map<string, Alert>();
  /** Ids of resolved alerts, resolved longest ago first: evicted before any other. */
  readonly #resolvedAlerts = new Set<string>();
  readonly #maxAlerts: number;
  /** The newest alert of each dedup key: the only one an occurrence can fold into. */
  readonly #alertByKey = new Map<string, string>();
  /** Rotated-away token hashes, oldest rotation first (Map insertion order). */
  readonly #rotated = new Map<string, RotatedToken>();
  /** Least recently hit key first: re-inserted on every hit. */
  readonly #counters = new CounterTable();
  #sweep: Iterator<string> | null = null;
  #closed = false;

  readonly labs = new MemoryLabStore(() => this.#assertOpen());

  constructor(retainEndedMs: number, maxActivityRows: number, maxAlerts: number) {
    this.#retainEndedMs = retainEndedMs;
    this.#maxActivityRows = maxActivityRows;
    this.#maxAlerts = maxAlerts;
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

  async extend(id: string, byMs: number, now: EpochMs, maxIdleExpiresAt: EpochMs): Promise<Session | null> {
    this.#assertOpen();
    const session = this.#get(id);
    if (session === null || !isActive(session, now)) return null;
    const expiresAt = Math.min(session.expiresAt + byMs, session.absoluteExpiresAt, Math.max(session.expiresAt, maxIdleExpiresAt));
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
    // Only sessions that rotate pay for a record; it outlives its session until it ages out itself.
    this.#rotated.delete(currentHash);
    this.#rotated.set(currentHash, Object.freeze({ sessionId: updated.id, userId: updated.userId, rotatedAt: now }));
    this.#reclaimRotated(now);
    return updated;
  }

  async findRotatedToken(tokenHash: string): Promise<RotatedToken | null> {
    this.#assertOpen();
    return this.#rotated.get(tokenHash) ?? null;
  }

  async deleteRotatedTokensBefore(cutoff: EpochMs, limit: number): Promise<number> {
    this.#assertOpen();
    let deleted = 0;
    for (const [hash, record] of this.#rotated) {
      if (deleted === limit) break;
      if (record.rotatedAt < cutoff) {
        this.#rotated.delete(hash);
        deleted++;
      }
    }
    return deleted;
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
    const before = query.before && { time: query.before.ts, id: query.before.id };
    return this.#activity
      .filter(
        (row) =>
          (query.sessionId === undefined || row.sessionId === query.sessionId) &&
          (query.userId === undefined || row.userId === query.userId) &&
          (query.since === undefined || row.ts >= query.since) &&
          (query.until === undefined || row.ts < query.until) &&
          (query.category === undefined || row.category === query.category) &&
          isAfterPosition(row.ts, row.id, before),
      )
      .sort((a, b) => newestFirst(a.ts, a.id, b.ts, b.id))
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
      this.#alerts.delete(folded.id);
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
    if (this.#alerts.size > this.#maxAlerts) this.#deleteAlert(this.#resolvedAlerts.values().next().value ?? this.#alerts.keys().next().value!);
    return { alert, created: true };
  }

  async listAlerts(query: AlertQuery): Promise<Alert[]> {
    this.#assertOpen();
    const before = query.before && { time: query.before.createdAt, id: query.before.id };
    return [...this.#alerts.values()]
      .filter(
        (a) =>
          (query.userId === undefined || a.userId === query.userId) &&
          (query.status === undefined || a.status === query.status) &&
          (query.severity === undefined || a.severity === query.severity) &&
          (query.since === undefined || a.createdAt >= query.since) &&
          isAfterPosition(a.createdAt, a.id, before),
      )
      .sort((a, b) => newestFirst(a.createdAt, a.id, b.createdAt, b.id))
      .slice(0, query.limit);
  }

  async setAlertStatus(id: string, status: 'acknowledged' | 'resolved', at: EpochMs, note?: string): Promise<Alert | null> {
    this.#assertOpen();
    const alert = this.#alerts.get(id);
    if (alert === undefined) return null;
    // Acknowledge only what is open; resolve anything not yet resolved.
    if (alert.status === 'resolved' || (status === 'acknowledged' && alert.status !== 'open')) return alert;
    const updated = Object.freeze({ ...alert, status, updatedAt: at, note: note ?? alert.note });
    this.#alerts.set(id, updated);
    if (status === 'resolved') this.#resolvedAlerts.add(id);
    return updated;
  }

  async deleteAlertsBefore(cutoff: EpochMs, limit: number): Promise<number> {
    this.#assertOpen();
    let deleted = 0;
    for (const alert of this.#alerts.values()) {
      if (deleted === limit) break;
      if (alert.lastSeenAt < cutoff || (alert.status === 'resolved' && alert.updatedAt! < cutoff)) {
        this.#deleteAlert(alert.id);
        deleted++;
      }
    }
    return deleted;
  }

  async hitCounter(key: string, at: EpochMs, windowMs: number, hits = 1): Promise<number> {
    this.#assertOpen();
    const bucketMs = Math.ceil(windowMs / BUCKETS);
    const bucket = Math.floor(at / bucketMs);
    let counter = this.#counters.get(key);
    if (counter === undefined) {
      counter = { key, bucketMs, newest: bucket, hits: new Array<number>(BUCKETS).fill(0), prev: null, next: null };
    } else if (counter.bucketMs !== bucketMs || bucket - counter.newest >= BUCKETS) {
      counter.bucketMs = bucketMs;
      counter.newest = bucket;
      counter.hits.fill(0);
    } else {
      for (let b = counter.newest + 1; b <= bucket; b++) counter.hits[slot(b)] = 0;
      counter.newest = Math.max(counter.newest, bucket);
    }
    this.#counters.touch(counter);
    if (this.#counters.size > MAX_COUNTER_KEYS) this.#counters.delete(this.#counters.oldestFirst().next().value!);
    this.#reclaimCounters(at);
    // A hit in a bucket the ring no longer holds is counted for its caller only.
    if (bucket <= counter.newest - BUCKETS) return hits;
    counter.hits[slot(bucket)]! += hits;
    let sum = 0;
    for (let b = counter.newest - BUCKETS + 1; b <= bucket; b++) sum += counter.hits[slot(b)]!;
    return sum;
  }

  async deleteCountersBefore(cutoff: EpochMs, limit: number): Promise<number> {
    this.#assertOpen();
    let deleted = 0;
    for (const counter of this.#counters.oldestFirst()) {
      if (deleted === limit) break;
      // Bucket b counts until (b + 10) * bucketMs: oldest first, so stop at the first still counted.
      for (let b = counter.newest - BUCKETS + 1; b <= counter.newest && deleted < limit; b++) {
        if ((b + BUCKETS) * counter.bucketMs > cutoff) break;
        if (counter.hits[slot(b)] !== 0) {
          counter.hits[slot(b)] = 0;
          deleted++;
        }
      }
      if (counter.hits.every((hits) => hits === 0)) this.#counters.delete(counter);
    }
    return deleted;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.labs.clear();
    this.#rotated.clear();
    this.#counters.clear();
    this.#alerts.clear();
    this.#resolvedAlerts.clear();
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

  #deleteAlert(id: string): void {
    const alert = this.#alerts.get(id)!;
    this.#alerts.delete(id);
    this.#resolvedAlerts.delete(id);
    if (this.#alertByKey.get(alert.dedupKey) === id) this.#alertByKey.delete(alert.dedupKey);
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
    this.#reclaimRotated(now);
  }

  /** Drops rotated-token records older than retainEnded from the front (the oldest), a few per call. */
  #reclaimRotated(now: EpochMs): void {
    const cutoff = now - this.#retainEndedMs;
    let examined = 0;
    for (const [hash, record] of this.#rotated) {
      if (examined++ === SWEEP_STEP || record.rotatedAt >= cutoff) return;
      this.#rotated.delete(hash);
    }
  }

  /** Drops the least recently hit keys that no window reaching `now` counts any more, a few per call. */
  #reclaimCounters(now: EpochMs): void {
    let examined = 0;
    for (const counter of this.#counters.oldestFirst()) {
      if (examined++ === SWEEP_STEP || (counter.newest + BUCKETS) * counter.bucketMs > now) return;
      this.#counters.delete(counter);
    }
  }
}

/** The ring slot of bucket `b` (epoch buckets are non-negative, but stay correct if one is not). */
function slot(b: number): number {
  return ((b % BUCKETS) + BUCKETS) % BUCKETS;
}

function isActive(session: Session, now: EpochMs): boolean {
  return session.status === 'active' && now < session.expiresAt;
}

/** A session ends at the earlier of its revocation and its idle deadline. */
function endedBefore(session: Session, cutoff: EpochMs): boolean {
  return session.expiresAt < cutoff || (session.revokedAt !== null && session.revokedAt < cutoff);
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
