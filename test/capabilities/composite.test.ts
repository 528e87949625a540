import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, type ActivityStore, type AlertRule, type AlertStore, type SessionManager } from '../../src/index.js';
import { CHROME_WINDOWS, HttpTestClient } from '../../src/http/testing/index.js';
import { manualClock, runActivityStoreConformance, runAlertStoreConformance, type ManualClock } from '../../src/testing/index.js';
import { frameworks } from '../http/servers.js';

// Sessions in one engine, the audit trail in another: memory sessions, SQLite activity and alerts.
const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-composite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const files = new WeakMap<object, string>();
const auditStore = async () => {
  const filename = join(dir, `audit-${++counter}.db`);
  const store = sqliteStore({ filename });
  files.set(store, filename);
  await store.migrate();
  return store;
};

runActivityStoreConformance('sqlite activity beside memory sessions', {
  createStore: (): Promise<ActivityStore> => auditStore(),
  createSessionStore: () => memoryStore(),
});
runAlertStoreConformance('sqlite alerts beside memory sessions', {
  createStore: (): Promise<AlertStore> => auditStore(),
  createSessionStore: () => memoryStore(),
  // A second connection to the same file stands in for another process.
  createPeerStore: (store) => sqliteStore({ filename: files.get(store)! }),
});

/** Raises one alert when `watched` signs in. */
const watchList = (watched: string): AlertRule => ({
  type: 'watchList',
  events: ['created'],
  evaluate: (event) =>
    event.type === 'created' && event.session.userId === watched
      ? { userId: watched, sessionId: event.session.id, severity: 'low', evidence: { reason: 'watch list' } }
      : null,
});

describe.each(frameworks)('memory sessions + SQLite activity and alerts, end to end over $name on 127.0.0.1', (framework) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(clock?: ManualClock): Promise<{ manager: SessionManager; app: HttpTestClient; filename: string; audit: ActivityStore; sessions: ReturnType<typeof memoryStore> }> {
    const filename = join(dir, `e2e-${framework.name}-${++counter}.db`);
    const audit = sqliteStore({ filename });
    await audit.migrate();
    const sessions = memoryStore();
    const manager = createSessionManager({
      store: sessions,
      activityStore: audit,
      alertStore: audit,
      activity: { flushInterval: '10ms' },
      alerts: { custom: [watchList('alice')] },
      ...(clock === undefined ? {} : { clock: clock.now }),
    });
    const server = await framework.start(manager, { middleware: { track: true } });
    cleanups.push(async () => {
      await server.close();
      await manager.close();
    });
    return { manager, app: new HttpTestClient(server), filename, audit, sessions };
  }

  it('requests are written to SQLite and read back through the self-service API; sessions never touch SQLite', async () => {
    const { manager, app, filename } = await start();
    expect(manager.capabilities).toEqual({ activity: true, alerts: true });
    const a = await app.login('alice', CHROME_WINDOWS);
    expect((await app.get('/protected', { cookie: a.cookie })).status).toBe(200);
    expect((await app.get('/protected?page=2', { bearer: a.token })).status).toBe(200);
    await manager.alerts.flush();

    // Requests are recorded once their response is sent: wait for both rows to be written.
    const items = await vi.waitFor(async () => {
      await manager.activity.flush();
      const activity = await app.get('/api/v1/me/sessions/activity', { bearer: a.token });
      expect(activity.status).toBe(200);
      const rows = (activity.body as { items: Array<{ path: string; status: number }> }).items;
      expect(rows.filter((item) => item.path === '/protected')).toHaveLength(2);
      return rows;
    });
    expect(items.find((item) => item.path === '/protected')).toMatchObject({ status: 200 });
    const alerts = await app.get('/api/v1/me/sessions/alerts', { cookie: a.cookie });
    expect(alerts.status).toBe(200);
    expect((alerts.body as { items: Array<{ type: string }> }).items.map((alert) => alert.type)).toEqual(['watchList']);

    // What is on disk: the audit trail, and not one session.
    const db = new Database(filename, { readonly: true });
    try {
      const count = (sql: string, ...args: unknown[]) => (db.prepare(sql).get(...args) as { n: number }).n;
      expect(count("select count(*) as n from activity where user_id = ? and path = '/protected'", 'alice')).toBe(2);
      expect(count("select count(*) as n from alerts where user_id = ? and type = 'watchList'", 'alice')).toBe(1);
      expect(count('select count(*) as n from sessions')).toBe(0);
    } finally {
      db.close();
    }
    // The sessions themselves are in memory, where the manager finds them.
    expect(await manager.count('alice')).toBe(1);
  });

  it('cleanup() deletes activity in the activity store; close() closes every store once', async () => {
    const clock = manualClock('2030-01-01T00:00:00Z');
    const { manager, app, filename, audit, sessions } = await start(clock);
    const a = await app.login('alice', CHROME_WINDOWS);
    await app.get('/protected', { cookie: a.cookie });
    await vi.waitFor(async () => {
      await manager.activity.flush();
      expect((await manager.activity.list({ userId: 'alice' })).items.length).toBeGreaterThan(0);
    });
    clock.advance('2h');
    await manager.cleanup({ activityOlderThan: '1h' });
    const db = new Database(filename, { readonly: true });
    try {
      expect((db.prepare('select count(*) as n from activity').get() as { n: number }).n).toBe(0);
    } finally {
      db.close();
    }
    await manager.close();
    await expect(audit.listActivity({ userId: 'alice', limit: 1 })).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(sessions.findById(a.id)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
