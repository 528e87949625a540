/**
 * `npm run bench:labs`: what a lab costs on the local Docker engine and in the store.
 *
 * - start and stop latency of a two-container lab (network, two busybox containers with limits),
 *   one at a time and ten at once, on a SQLite store;
 * - subnet allocations per second in the store alone (insertLab + release, 8 concurrent), on SQLite
 *   and Postgres, the part that must be atomic across app servers.
 *
 * Needs a Docker engine and the image `sessionkeeper-busybox:latest` (`bash scripts/docker-engine.sh`).
 * Options (environment): BENCH_LABS (labs started one at a time, default 5), SESSIONKEEPER_PG_URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { dockerLabs, type Labs, type LabStore } from '../adapters/provisioner/docker/index.js';
import { postgresStore } from '../adapters/storage/postgres/index.js';
import { sqliteStore } from '../adapters/storage/sqlite/index.js';
import { createSessionManager, type SessionStore } from '../src/index.js';

/** A session store with its lab store beside it, as the built-in stores are. */
type StoreWithLabs = SessionStore & { readonly labs: LabStore };

const RUNS = Number(process.env.BENCH_LABS ?? 5);
const IMAGE = process.env.SESSIONKEEPER_LAB_IMAGE ?? 'sessionkeeper-busybox:latest';
const POSTGRES_URL = process.env.SESSIONKEEPER_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const box = (name: string, ip: number) => ({ name, image: IMAGE, ip, cmd: ['sleep', '3600'], memory: '64m', cpus: 0.5, pids: 64 });

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-bench-labs-'));
  try {
    const labsStore = await sqlite(dir, 'labs.db');
    const sessions = createSessionManager({ store: labsStore });
    const labs = dockerLabs({
      manager: sessions,
      store: labsStore.labs,
      addressPool: '10.254.0.0/16',
      templates: { duo: { containers: [box('attacker', 10), box('target', 20)] } },
      maxLabsPerUser: 100,
      reconcileInterval: false,
      idleStop: false,
      scope: 'bench',
    });
    await labs.reconcile();
    const starts: number[] = [];
    const stops: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const { session } = await sessions.create({ userId: `u${i}` });
      starts.push(await timed(() => labs.start(session.id, 'duo')));
      const [lab] = await labs.list({ sessionId: session.id });
      stops.push(await timed(() => labs.stop(lab!.id)));
    }
    console.log(`two-container lab, one at a time (${RUNS} runs): start median ${median(starts)} ms (min ${Math.min(...starts)}), stop median ${median(stops)} ms (min ${Math.min(...stops)})`);

    const many = await Promise.all(Array.from({ length: 10 }, (_, i) => sessions.create({ userId: `many${i}` })));
    const t0 = performance.now();
    const started = await Promise.all(many.map(({ session }) => labs.start(session.id, 'duo')));
    const startAll = Math.round(performance.now() - t0);
    const t1 = performance.now();
    await Promise.all(started.map((lab) => labs.stop(lab.id)));
    console.log(`ten labs at once: all started in ${startAll} ms, all stopped in ${Math.round(performance.now() - t1)} ms; distinct subnets: ${new Set(started.map((l) => l.network.subnet)).size}`);
    await closeAll(labs, sessions);

    console.log(`subnet allocation + release in the store, 8 concurrent: SQLite ${await allocations(await sqlite(dir, 'alloc.db'))}/s`);
    const schema = `bench_labs_${process.pid}`;
    const store = postgresStore({ connectionString: POSTGRES_URL, schema });
    try {
      await store.migrate();
      console.log(`subnet allocation + release in the store, 8 concurrent: Postgres ${await allocations(store)}/s`);
    } catch (err) {
      console.log(`Postgres skipped: ${(err as Error).message}`);
    } finally {
      await store.close();
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect().then(() => admin.query(`drop schema if exists ${schema} cascade`)).catch(() => {});
      await admin.end().catch(() => {});
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sqlite(dir: string, file: string): Promise<StoreWithLabs> {
  const store = sqliteStore({ filename: join(dir, file) });
  await store.migrate();
  return store;
}

/** insertLab (lowest free /24 of a /16, under the store's lock) then release, for 3 s. */
async function allocations(store: StoreWithLabs): Promise<number> {
  const deadline = performance.now() + 3000;
  let done = 0;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const id = `lab_bench${String(next++).padStart(16, '0')}`;
      const lab = await store.labs.insertLab(`u${next % 50}`, { maxPerUser: 1000, maxTotal: 1000 }, (held) => {
        let index = 0;
        while (held.has(`10.9.${index}.0/24`)) index++;
        const subnet = `10.9.${index}.0/24`;
        return { id, sessionId: 'ses_bench', userId: `u${next % 50}`, template: 'duo', createdAt: 0, expiresAt: 1, network: { name: `sk-lab-${id}`, id: null, subnet, gateway: `10.9.${index}.1` }, containers: [] };
      });
      await store.labs.updateLab(lab.id, { statuses: ['provisioning'] }, { updatedAt: 1, status: 'stopped', releaseSubnet: true });
      done++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  if (store.kind === 'sqlite') await store.close();
  return Math.round(done / 3);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return Math.round(performance.now() - start);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function closeAll(labs: Labs, sessions: { close(): Promise<void> }): Promise<void> {
  await labs.close();
  await sessions.close();
}


main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

