import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { createSessionManager, type ActivityOptions, type Session, type SessionManager } from '../../src/index.js';
import { serviceGate } from '../support/services.js';
import { startPostgresProxy } from '../support/tcp-proxy.js';
import { probeThrowawayPostgres, startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';

const available = serviceGate('throwaway PostgreSQL (initdb, pg_ctl)', probeThrowawayPostgres());

describe.runIf(available)('the activity log while PostgreSQL is down', () => {
  let server: ThrowawayPostgres;
  let admin: pg.Pool;
  beforeAll(async () => {
    server = await startThrowawayPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
    // The outage also kills this pool's idle connections; they are only used while the server is up.
    admin.on('error', () => {});
  }, 60_000);
  afterAll(async () => {
    await admin?.end();
    await server?.destroy();
  });

  /** A manager on its own schema of the throwaway server (or `url`), and one session to record for. */
  async function open(activity: ActivityOptions, url = server.url): Promise<{ sessions: SessionManager; session: Session; rows: () => Promise<{ total: number; distinct: number }> }> {
    const schema = `fault_${randomBytes(5).toString('hex')}`;
    const store = postgresStore({ connectionString: url, poolSize: 4, schema });
    await store.migrate();
    const sessions = createSessionManager({ store, alerts: false, activity });
    onTestFinished(() => sessions.close().catch(() => {}));
    const { session } = await sessions.create({ userId: 'writer' });
    const rows = async () => {
      const { rows } = await admin.query(`select count(*)::int as total, count(distinct id)::int as distinct from ${schema}.activity`);
      return rows[0] as { total: number; distinct: number };
    };
    return { sessions, session, rows };
  }

  it('a 5 s outage: under the queue bound every event is written exactly once; over it, written + dropped === recorded exactly', async () => {
    const retry = { flushInterval: '100ms', retryDelay: '50ms', maxRetryDelay: '400ms' } as const;
    // ~1,300 events at one per 5 ms, well under the default bound of 10,000.
    const roomy = await open({ ...retry, batchSize: 50 });
    // 100 queued at most: what the outage brings beyond that is dropped, oldest first.
    const tight = await open({ ...retry, batchSize: 20, maxQueue: 100 });
    let recorded = 0;
    const steady = setInterval(() => {
      for (const { sessions, session } of [roomy, tight]) sessions.activity.record(session, { type: 'request', method: 'GET', path: `/item/${recorded}` });
      recorded++;
    }, 5);
    try {
      await sleep(500);
      await server.stop('immediate');
      await sleep(5000);
      await server.start();
      await sleep(500);
    } finally {
      clearInterval(steady);
    }
    for (const { sessions } of [roomy, tight]) await flushWithin(sessions, 5000);

    const full = roomy.sessions.activity.stats();
    expect(full.failed).toBeGreaterThan(0);
    expect({ ...full, failed: 0 }).toEqual({ queued: 0, written: recorded, dropped: 0, failed: 0 });
    expect(await roomy.rows()).toEqual({ total: recorded, distinct: recorded });

    const bounded = tight.sessions.activity.stats();
    const { total, distinct } = await tight.rows();
    console.log(`[fault] activity over a 5 s outage: ${recorded} recorded; bound 10000: ${full.written} written, ${full.failed} failed writes retried; bound 100: ${bounded.written} written + ${bounded.dropped} dropped`);
    expect(bounded.dropped).toBeGreaterThan(0);
    expect(bounded.written + bounded.dropped).toBe(recorded);
    expect({ total, distinct }).toEqual({ total: bounded.written, distinct: bounded.written });
  }, 60_000);

  it('a batch whose INSERT committed but whose reply was lost is retried without writing any row twice', async () => {
    const proxy = await startPostgresProxy(server.url);
    onTestFinished(() => proxy.close());
    const { sessions, session, rows } = await open({ flushInterval: '1h', retryDelay: '20ms', batchSize: 500 }, proxy.url);
    for (let i = 0; i < 40; i++) sessions.activity.record(session, { path: `/before/${i}` });
    await sessions.activity.flush();

    const lost = proxy.loseNextReply('INSERT');
    for (let i = 0; i < 60; i++) sessions.activity.record(session, { path: `/lost/${i}` });
    // The INSERT commits on the server; the logger only sees its connection cut.
    await expect(sessions.activity.flush()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await lost;
    expect(await rows()).toEqual({ total: 100, distinct: 100 });
    // The retry sends the same batch, same ids, again.
    await sessions.activity.flush();
    expect(await rows()).toEqual({ total: 100, distinct: 100 });
    expect(sessions.activity.stats()).toEqual({ queued: 0, written: 100, dropped: 0, failed: 1 });
  }, 30_000);
});

// --- internal ---

/** flush() reports a failed write; right after a restart the first attempts may still fail. */
async function flushWithin(sessions: SessionManager, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await sessions.activity.flush();
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await sleep(100);
    }
  }
}
