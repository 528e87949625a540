import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { createSessionManager } from '../../src/index.js';
import { startChild } from '../support/child-process.js';
import { serviceGate } from '../support/services.js';
import { probeThrowawayPostgres, startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';

const available = serviceGate('throwaway PostgreSQL (initdb, pg_ctl)', probeThrowawayPostgres());

const PROCESSES = 2;
const CREATES = 250;
const MAX = 3;

interface Done {
  created: string[];
  limited: number;
  failures: string[];
  startedAt: number;
  endedAt: number;
}

describe.runIf(available)(`concurrent writes for one user against one PostgreSQL, maxSessionsPerUser ${MAX}`, () => {
  let server: ThrowawayPostgres;
  let admin: pg.Pool;
  beforeAll(async () => {
    server = await startThrowawayPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
  }, 60_000);
  afterAll(async () => {
    await admin?.end();
    await server?.destroy();
  });

  /** Starts the creators, samples the active count while they run, returns what each reported. */
  async function race(onLimit: 'reject' | 'evict-oldest'): Promise<{ schema: string; results: Done[]; samples: number; highest: number }> {
    const schema = `fault_${randomBytes(5).toString('hex')}`;
    const store = postgresStore({ connectionString: server.url, schema, poolSize: 1 });
    await store.migrate();
    await store.close();
    const creators = Array.from({ length: PROCESSES }, () =>
      startChild('fault-creator.ts', { SK_PG_URL: server.url, SK_PG_SCHEMA: schema, SK_MAX: String(MAX), SK_ON_LIMIT: onLimit, SK_USER: 'alice', SK_CREATES: String(CREATES) }),
    );
    for (const creator of creators) onTestFinished(() => creator.kill());
    await Promise.all(creators.map((creator) => creator.next('ready')));

    // The database's own view, statement by statement, while the creates run: never above the limit.
    let running = true;
    let samples = 0;
    let highest = 0;
    const sampler = (async () => {
      while (running) {
        const { rows } = await admin.query(`select count(*)::int as n from ${schema}.sessions where user_id = 'alice' and revoked_at is null and expires_at > $1`, [Date.now()]);
        highest = Math.max(highest, rows[0].n);
        samples++;
      }
    })();
    for (const creator of creators) creator.send({ type: 'go' });
    const results = await Promise.all(creators.map((creator) => creator.next<Done>('done', 60_000)));
    running = false;
    await sampler;
    // The two bursts overlapped: each began before the other was over.
    expect(Math.max(...results.map((r) => r.startedAt))).toBeLessThan(Math.min(...results.map((r) => r.endedAt)));
    return { schema, results, samples, highest };
  }

  async function activeAndRevoked(schema: string): Promise<{ active: number; limit: number; other: number; total: number }> {
    const { rows } = await admin.query(
      `select count(*) filter (where revoked_at is null)::int as active,
              count(*) filter (where revoke_reason = 'limit')::int as limit,
              count(*) filter (where revoked_at is not null and revoke_reason is distinct from 'limit')::int as other,
              count(*)::int as total
         from ${schema}.sessions where user_id = 'alice'`,
    );
    return rows[0];
  }

  it(`${PROCESSES} processes × ${CREATES} concurrent creates, onLimit 'reject': exactly ${MAX} succeed across both processes, every other one throws SESSION_LIMIT, ${MAX} active at every moment sampled`, async () => {
    const { schema, results, samples, highest } = await race('reject');
    const created = results.flatMap((r) => r.created);
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    expect(created).toHaveLength(MAX);
    expect(results.reduce((sum, r) => sum + r.limited, 0)).toBe(PROCESSES * CREATES - MAX);
    expect(await activeAndRevoked(schema)).toEqual({ active: MAX, limit: 0, other: 0, total: MAX });
    console.log(`[fault] reject: ${created.length} created (${results.map((r) => r.created.length).join(' + ')}), ${samples} samples, highest active ${highest}`);
    expect(samples).toBeGreaterThan(0);
    expect(highest).toBeLessThanOrEqual(MAX);
  }, 90_000);

  it(`${PROCESSES} processes × ${CREATES} concurrent creates, onLimit 'evict-oldest': all ${PROCESSES * CREATES} succeed, exactly ${MAX} stay active, the other ${PROCESSES * CREATES - MAX} are revoked with reason 'limit', never more than ${MAX} active at any moment sampled`, async () => {
    const { schema, results, samples, highest } = await race('evict-oldest');
    const created = results.flatMap((r) => r.created);
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    expect(new Set(created).size).toBe(PROCESSES * CREATES);
    expect(await activeAndRevoked(schema)).toEqual({ active: MAX, limit: PROCESSES * CREATES - MAX, other: 0, total: PROCESSES * CREATES });
    console.log(`[fault] evict-oldest: ${created.length} created, ${samples} samples, highest active ${highest}`);
    expect(samples).toBeGreaterThan(0);
    expect(highest).toBeLessThanOrEqual(MAX);
  }, 90_000);

  // Found by the SIGKILL writer: a revoke (no user lock) committing while an evicting insert waits for
  // the row made that insert fail with STORE_UNAVAILABLE. The other transaction is held open here so
  // the interleaving happens every time.
  it("onLimit 'evict-oldest' while another process revokes the very session being evicted: the create succeeds, that revocation stands, and the limit holds", async () => {
    const schema = `fault_${randomBytes(5).toString('hex')}`;
    const store = postgresStore({ connectionString: `${server.url}?application_name=${schema}`, schema, poolSize: 2 });
    await store.migrate();
    const sessions = createSessionManager({ store, maxSessionsPerUser: MAX, onLimit: 'evict-oldest', alerts: false });
    onTestFinished(() => sessions.close());
    const oldest = (await sessions.create({ userId: 'alice' })).session;
    for (let i = 1; i < MAX; i++) await sessions.create({ userId: 'alice' });

    const other = new pg.Client({ connectionString: server.url });
    await other.connect();
    onTestFinished(() => other.end());
    await other.query('begin');
    await other.query(`update ${schema}.sessions set revoked_at = $1, revoke_reason = 'logout' where id = $2`, [Date.now(), oldest.id]);
    const creating = sessions.create({ userId: 'alice' });
    // The insert has read the oldest as active and now waits for its row lock.
    const waiting = async () =>
      (await admin.query(`select count(*)::int as n from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`, [schema])).rows[0].n > 0;
    let blocked = false;
    for (const deadline = performance.now() + 5000; !blocked && performance.now() < deadline; ) blocked = await waiting();
    expect(blocked).toBe(true);
    await other.query('commit');

    const { session } = await creating;
    expect(session.status).toBe('active');
    expect(await sessions.get(oldest.id)).toMatchObject({ status: 'revoked', revokeReason: 'logout' });
    expect(await activeAndRevoked(schema)).toEqual({ active: MAX, limit: 0, other: 1, total: MAX + 1 });
  }, 30_000);
});
