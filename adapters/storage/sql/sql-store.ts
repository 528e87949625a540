import type {
  ActivityQuery,
  ActivityRecord,
  Alert,
  AlertOccurrence,
  AlertQuery,
  EpochMs,
  FullSessionStore,
  NewSessionRecord,
  RotatedToken,
  ScanFilter,
  Session,
  SessionLimit,
  SessionMetadata,
} from '../../../src/contracts.js';
import { SqlActivityStore } from './sql-activity-store.js';
import { SqlAlertStore } from './sql-alert-store.js';
import { SqlStoreContext } from './sql-context.js';
import type { SqlDriver } from './sql-driver.js';
import { SqlLabStore } from './sql-lab-store.js';
import { SqlSessionStore } from './sql-session-store.js';

/** The optional capabilities a SQL store implements: all of them. */
export interface SqlStoreCapabilities {
  readonly activity: true;
  readonly alerts: true;
}

/**
 * What `sqliteStore()` and `postgresStore()` return: one object with every store method (sessions,
 * activity, alerts, counters), the lab store over the same database as a separate object, and the
 * capabilities it implements.
 */
export interface SqlStore extends FullSessionStore {
  /** The lab store over the same database and tables; closed with this store. */
  readonly labs: SqlLabStore;
  /** Which optional capabilities this store implements: `{ activity: true, alerts: true }`. */
  readonly capabilities: SqlStoreCapabilities;
}

/** Frozen once: every SQL store implements both. */
const CAPABILITIES: SqlStoreCapabilities = Object.freeze({ activity: true, alerts: true });

/**
 * Builds the store over a driver: one {@link SqlStoreContext} shared by the capability stores, none
 * of it shared with any other store.
 *
 * @example
 * const store = createSqlStore(new SqliteDriver(database, false, undefined), '');
 */
export function createSqlStore(driver: SqlDriver, tablePrefix: string): SqlStore {
  return new CompositeSqlStore(new SqlStoreContext(driver, tablePrefix));
}

// --- internal ---

/** The store users get: the capability stores behind one object, each method delegating. */
class CompositeSqlStore implements SqlStore {
  readonly kind: string;
  readonly labs: SqlLabStore;
  readonly sessions: SqlSessionStore;
  readonly activity: SqlActivityStore;
  readonly alerts: SqlAlertStore;
  readonly #ctx: SqlStoreContext;

  constructor(ctx: SqlStoreContext) {
    this.#ctx = ctx;
    this.kind = ctx.kind;
    this.sessions = new SqlSessionStore(ctx);
    this.activity = new SqlActivityStore(ctx);
    this.alerts = new SqlAlertStore(ctx);
    this.labs = new SqlLabStore(ctx);
  }

  /** A getter without a setter: assigning to it throws. */
  get capabilities(): SqlStoreCapabilities {
    return CAPABILITIES;
  }

  migrate(): Promise<void> {
    return this.#ctx.migrate();
  }

  close(): Promise<void> {
    return this.#ctx.close();
  }

  // Sessions and rotation records.
  insert(record: NewSessionRecord, now: EpochMs, limit?: SessionLimit): Promise<{ session: Session; evicted: Session[] }> {
    return this.sessions.insert(record, now, limit);
  }
  findByTokenHash(tokenHash: string): Promise<Session | null> {
    return this.sessions.findByTokenHash(tokenHash);
  }
  findById(id: string): Promise<Session | null> {
    return this.sessions.findById(id);
  }
  touch(id: string, at: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null> {
    return this.sessions.touch(id, at, idleExpiresAt);
  }
  extend(id: string, byMs: number, now: EpochMs, maxIdleExpiresAt: EpochMs): Promise<Session | null> {
    return this.sessions.extend(id, byMs, now, maxIdleExpiresAt);
  }
  rotateToken(currentHash: string, nextHash: string, now: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null> {
    return this.sessions.rotateToken(currentHash, nextHash, now, idleExpiresAt);
  }
  findRotatedToken(tokenHash: string): Promise<RotatedToken | null> {
    return this.sessions.findRotatedToken(tokenHash);
  }
  deleteRotatedTokensBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return this.sessions.deleteRotatedTokensBefore(cutoff, limit);
  }
  mergeMetadata(id: string, patch: SessionMetadata, now: EpochMs, serializedLimit: number): Promise<Session | null> {
    return this.sessions.mergeMetadata(id, patch, now, serializedLimit);
  }
  revoke(id: string, reason: string, at: EpochMs): Promise<Session | null> {
    return this.sessions.revoke(id, reason, at);
  }
  revokeAll(userId: string, reason: string, at: EpochMs, exceptId?: string): Promise<Session[]> {
    return this.sessions.revokeAll(userId, reason, at, exceptId);
  }
  listByUser(userId: string, activeAt?: EpochMs): Promise<Session[]> {
    return this.sessions.listByUser(userId, activeAt);
  }
  countActive(userId: string, now: EpochMs): Promise<number> {
    return this.sessions.countActive(userId, now);
  }
  scan(filter: ScanFilter, pageSize: number): AsyncIterable<Session[]> {
    return this.sessions.scan(filter, pageSize);
  }
  deleteEndedBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return this.sessions.deleteEndedBefore(cutoff, limit);
  }

  // Activity.
  insertActivity(rows: readonly ActivityRecord[]): Promise<void> {
    return this.activity.insertActivity(rows);
  }
  listActivity(query: ActivityQuery): Promise<ActivityRecord[]> {
    return this.activity.listActivity(query);
  }
  deleteActivityBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return this.activity.deleteActivityBefore(cutoff, limit);
  }

  // Alerts and counters.
  raiseAlert(occurrence: AlertOccurrence, windowMs: number): Promise<{ alert: Alert; created: boolean }> {
    return this.alerts.raiseAlert(occurrence, windowMs);
  }
  listAlerts(query: AlertQuery): Promise<Alert[]> {
    return this.alerts.listAlerts(query);
  }
  setAlertStatus(id: string, status: 'acknowledged' | 'resolved', at: EpochMs, note?: string): Promise<Alert | null> {
    return this.alerts.setAlertStatus(id, status, at, note);
  }
  deleteAlertsBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return this.alerts.deleteAlertsBefore(cutoff, limit);
  }
  hitCounter(key: string, at: EpochMs, windowMs: number, hits?: number): Promise<number> {
    return this.alerts.hitCounter(key, at, windowMs, hits);
  }
  deleteCountersBefore(cutoff: EpochMs, limit: number): Promise<number> {
    return this.alerts.deleteCountersBefore(cutoff, limit);
  }
}
