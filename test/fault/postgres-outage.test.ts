import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startChild } from '../support/child-process.js';
import { ask, signIn, startLoad, summarize, waitFor } from '../support/http-load.js';
import { serviceGate } from '../support/services.js';
import { probeThrowawayPostgres, startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';

const available = serviceGate('throwaway PostgreSQL (initdb, pg_ctl)', probeThrowawayPostgres());

/** How long the database stays down in each run. */
const OUTAGE_MS = 1500;
const POOL_SIZE = 4;

describe.runIf(available)('an Express app on postgresStore while its PostgreSQL goes down', () => {
  let server: ThrowawayPostgres;
  const recoveries: number[] = [];
  beforeAll(async () => {
    server = await startThrowawayPostgres();
  }, 60_000);
  afterAll(async () => {
    if (recoveries.length > 0) {
      const sorted = [...recoveries].sort((a, b) => a - b);
      console.log(`[fault] Postgres recovery after restart: p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms over ${sorted.length} runs`);
    }
    await server?.destroy();
  });

  const outages = [
    { name: 'pg_ctl stop -m immediate', cause: () => server.stop('immediate') },
    { name: 'SIGKILL of the postmaster', cause: () => server.kill() },
  ];
  for (const outage of outages) {
    for (const pool of ['owned', 'passed'] as const) {
      it(`${outage.name} (pool ${pool === 'owned' ? 'opened by the store' : 'passed in'}): the app stays up, answers 503 STORE_UNAVAILABLE throughout, keeps the cookie, never accepts the revoked session, and serves again within 2 s of the restart`, async () => {
        const schema = `fault_${randomBytes(5).toString('hex')}`;
        const app = startChild('fault-app.ts', {
          SK_STORE: 'postgres',
          SK_PG_URL: server.url,
          SK_PG_SCHEMA: schema,
          SK_PG_POOL: pool,
          SK_PG_POOL_SIZE: String(POOL_SIZE),
          SK_PG_APP: schema,
        });
        onTestFinished(() => app.kill());
        const { url } = await app.next<{ url: string }>('ready');

        const alice = await signIn(url, 'alice');
        const bob = await signIn(url, 'bob');
        expect((await ask(url, { name: 'bob', path: '/logout', method: 'POST', cookie: bob })).status).toBe(204);
        // The revoked token, presented again, raises an alert: a write in a transaction on a
        // checked-out client. That client is the one a dying server used to crash the app through.
        expect((await ask(url, { name: 'bob', path: '/protected', cookie: bob })).status).toBe(401);

        const load = startLoad(url, [
          { name: 'alice', path: '/protected', cookie: alice },
          { name: 'alice', path: '/protected', cookie: alice },
          { name: 'bob', path: '/protected', cookie: bob },
          { name: 'bob', path: '/protected', cookie: bob },
          { name: 'bob', path: '/protected', cookie: bob },
        ]);
        await sleep(300);
        const down = performance.now();
        await outage.cause();
        const stopped = performance.now();
        await sleep(OUTAGE_MS);
        const restarting = performance.now();
        await server.start();
        const restarted = performance.now();
        const served = () => load.answers.find((a) => a.client === 'alice' && a.started >= restarted && a.status === 200);
        await waitFor(() => served() !== undefined, 10_000);
        await sleep(300);
        const answers = await load.stop();

        expect(app.alive(), `the app process died:\n${app.output()}`).toBe(true);
        const before = answers.filter((a) => a.ended < down);
        const during = answers.filter((a) => a.started >= stopped && a.ended < restarting);
        expect(before.filter((a) => a.client === 'alice').every((a) => a.status === 200)).toBe(true);
        expect(during.length).toBeGreaterThan(20);
        // Down means 503 with the store's code for everyone: not 401, not a hang, not a stack trace.
        expect(summarize(during.filter((a) => !(a.status === 503 && a.code === 'STORE_UNAVAILABLE')))).toEqual([]);
        // Over the whole run: alice is never told she is signed out, bob is never let in.
        expect(summarize(answers.filter((a) => a.client === 'alice' && a.status !== 200 && !(a.status === 503 && a.code === 'STORE_UNAVAILABLE')))).toEqual([]);
        expect(summarize(answers.filter((a) => a.client === 'bob' && a.status !== 401 && !(a.status === 503 && a.code === 'STORE_UNAVAILABLE')))).toEqual([]);
        expect(summarize(answers.filter((a) => a.clearsCookie && (a.client === 'alice' || a.status !== 401)))).toEqual([]);

        const first = served();
        expect(first, 'no 200 for alice within 10 s of the restart').toBeDefined();
        const recovery = first!.ended - restarted;
        recoveries.push(recovery);
        console.log(`[fault] ${outage.name}, pool ${pool}: ${during.length} answers while down (all 503); first 200 ${recovery.toFixed(0)} ms after the restart (restart took ${(restarted - restarting).toFixed(0)} ms)`);
        expect(recovery).toBeLessThan(2000);
        // Once back, it stays back: no dead pooled connection fails a later request.
        expect(summarize(answers.filter((a) => a.started >= first!.ended && a.status !== (a.client === 'alice' ? 200 : 401)))).toEqual([]);

        // No connection leaked: the server sees at most the pool, and a passed pool, once the alert
        // writes the last requests queued are done, has every client idle with only its own 'error'
        // listener left (ours are removed on release).
        const connections = await query(server.url, 'select count(*)::int as n from pg_stat_activity where application_name = $1', [schema]);
        expect(connections[0]!.n).toBeLessThanOrEqual(POOL_SIZE);
        if (pool === 'passed') {
          let stats: PoolStats;
          const deadline = performance.now() + 5000;
          do {
            app.send({ type: 'pool' });
            stats = await app.next<PoolStats>('pool');
          } while (stats.idleCount < stats.totalCount && performance.now() < deadline && (await sleep(50, true)));
          expect(stats.waitingCount).toBe(0);
          expect(stats.totalCount).toBeLessThanOrEqual(POOL_SIZE);
          expect(stats.idleCount).toBe(stats.totalCount);
          expect(stats.errorListeners).toEqual(stats.errorListeners.map(() => 1));
        }
        app.send({ type: 'stop' });
        expect((await app.exited).code).toBe(0);
      }, 60_000);
    }
  }
});

// --- internal ---

interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  errorListeners: number[];
}

async function query(url: string, text: string, values: unknown[]): Promise<Record<string, number>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}
