/**
 * `npm run bench:scale`: how sessionkeeper scales out over app processes on one shared store.
 *
 * For Redis and for Postgres: one empty namespace (test/support/shared-store.ts), BENCH_SESSIONS
 * sessions created up front, and four app processes (test/support/scale-app.ts: the Express test app
 * with sessionkeeper's middleware, activity and alerts off so both stores do the same work). Then
 * 1, 2 and 4 of them are driven at once with no proxy in front: one autocannon per process, the
 * BENCH_CONNECTIONS connections split evenly, each request `GET /protected` with the cookie of the
 * next pre-created session, so every request validates a session in the store (a read: the sessions
 * are younger than the 1 min touchInterval, so no touch is written).
 *
 * Per run: requests/s in all, and CPU time per request of the app processes (`process.cpuUsage()`
 * over IPC), of the store's server (/proc of the Redis server's pid, of the database's Postgres
 * backends) and of this process, the load generator; and how many cores the machine was busy.
 * Any answer but 200 fails the run.
 *
 * Environment: BENCH_SECONDS (default 6), BENCH_WARMUP (default 1), BENCH_CONNECTIONS (default 16),
 * BENCH_SESSIONS (default 5000), BENCH_STORES (default `redis,postgres`), SESSIONKEEPER_REDIS_URL,
 * SESSIONKEEPER_PG_URL (see test/support/services.ts).
 */
import { availableParallelism } from 'node:os';
import autocannon from 'autocannon';
import { createSessionManager } from '../src/index.js';
import { startChild, type Child } from '../test/support/child-process.js';
import { probePostgres, probeRedis } from '../test/support/services.js';
import { createSharedStore, type SharedStore, type SharedStoreKind } from '../test/support/shared-store.js';
import { machineBusy, processesCpu } from './scale/proc-cpu.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 5000);
const STORES = (process.env.BENCH_STORES ?? 'redis,postgres').split(',') as SharedStoreKind[];
const PROCESSES = [1, 2, 4];
const CORES = availableParallelism();

interface App {
  readonly url: string;
  readonly child: Child;
}

/** One measured run. CPU figures are µs per request; cores are CPU time / wall time. */
interface Row {
  store: SharedStoreKind;
  processes: number;
  rps: number;
  p99: number;
  serverPerRequest: number;
  storePerRequest: number;
  loadPerRequest: number;
  serverCores: number;
  storeCores: number;
  loadCores: number;
  machineCores: number;
}

async function main(): Promise<void> {
  const started = performance.now();
  const rows: Row[] = [];
  for (const kind of STORES) {
    const problem = kind === 'redis' ? await probeRedis() : await probePostgres();
    if (problem !== null) {
      console.log(`[skip] ${kind} is not reachable (${problem})`);
      continue;
    }
    rows.push(...(await benchStore(kind)));
  }
  console.log(`\n${table(rows)}\n`);
  for (const kind of STORES) {
    const of = rows.filter((row) => row.store === kind);
    if (of.length === PROCESSES.length) console.log(`${conclusion(of)}\n`);
  }
  console.log(`(${CORES} cores, ${CONNECTIONS} connections in all, ${SESSIONS} sessions, ${SECONDS} s per run; ${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
}

async function benchStore(kind: SharedStoreKind): Promise<Row[]> {
  const shared = await createSharedStore(kind, 'bench');
  const started: Child[] = [];
  try {
    const cookies = await createSessions(shared);
    const env = { ...shared.env, SK_SESSIONS_ONLY: '1', SK_PG_POOL_SIZE: '8' };
    // Every child is in `children` before any is awaited, so that `finally` kills it whatever fails.
    const children = Array.from({ length: Math.max(...PROCESSES) }, () => startChild('scale-app.ts', env));
    started.push(...children);
    const apps = await Promise.all(children.map(async (child): Promise<App> => ({ url: (await child.next<{ url: string }>('ready', 60_000)).url, child })));
    const rows: Row[] = [];
    for (const processes of PROCESSES) {
      const targets = apps.slice(0, processes);
      await drive(targets, cookies, WARMUP);
      const storePids = await storeProcesses(shared);
      const serverBefore = await Promise.all(targets.map(cpuOf));
      const [loadBefore, machineBefore, storeBefore, t0] = [process.cpuUsage(), machineBusy(), processesCpu(storePids), performance.now()];
      const results = await drive(targets, cookies, SECONDS);
      const [load, machine, store, wall] = [process.cpuUsage(loadBefore), machineBusy() - machineBefore, processesCpu(storePids) - storeBefore, (performance.now() - t0) * 1000];
      const server = (await Promise.all(targets.map(cpuOf))).reduce((sum, after, i) => sum + after - serverBefore[i]!, 0);
      const requests = results.reduce((sum, r) => sum + r['2xx'], 0);
      const loadMicros = load.user + load.system;
      const row: Row = {
        store: kind,
        processes,
        rps: requests / (wall / 1e6),
        p99: Math.max(...results.map((r) => r.latency.p99)),
        serverPerRequest: server / requests,
        storePerRequest: store / requests,
        loadPerRequest: loadMicros / requests,
        serverCores: server / wall,
        storeCores: store / wall,
        loadCores: loadMicros / wall,
        machineCores: machine / wall,
      };
      rows.push(row);
      console.log(`${kind} × ${processes}: ${row.rps.toFixed(0)} req/s`);
    }
    return rows;
  } finally {
    await Promise.all(started.map((child) => child.kill()));
    await shared.destroy();
  }
}

/** BENCH_SESSIONS sessions of a thousand users, created through a manager in this process; their Cookie headers. */
async function createSessions(shared: SharedStore): Promise<string[]> {
  // The manager is not closed: that would close the shared store, which destroy() closes at the end.
  const manager = createSessionManager({ store: shared.store, ...(shared.kind === 'redis' ? {} : { activity: false, alerts: false }) });
  const cookies: string[] = [];
  const users = 1000;
  for (let i = 0; i < SESSIONS; i += 50) {
    const batch = Array.from({ length: Math.min(50, SESSIONS - i) }, (_, j) => manager.create({ userId: `user-${(i + j) % users}` }));
    for (const { token } of await Promise.all(batch)) cookies.push(`sid=${token}`);
  }
  return cookies;
}

/** Loads every target at once for `seconds`, CONNECTIONS split evenly; throws on any answer but 200. */
async function drive(targets: App[], cookies: string[], seconds: number): Promise<autocannon.Result[]> {
  let next = 0;
  const setupRequest = (request: autocannon.Request): autocannon.Request => {
    request.headers = { ...request.headers, cookie: cookies[next++ % cookies.length]! };
    return request;
  };
  const connections = Math.max(1, Math.round(CONNECTIONS / targets.length));
  const results = await Promise.all(
    targets.map((app) => autocannon({ url: app.url, connections, duration: seconds, requests: [{ method: 'GET', path: '/protected', setupRequest }] })),
  );
  for (const r of results) {
    if (r.non2xx > 0 || r.errors > 0 || r['2xx'] === 0) {
      throw new Error(`${r.url}: ${r['2xx']} answers 2xx, ${r.non2xx} other, ${r.errors} errors (${r.timeouts} timeouts): ${JSON.stringify(r.statusCodeStats)}`);
    }
  }
  return results;
}

/** user + system CPU µs of an app process since it started, asked over IPC. */
async function cpuOf(app: App): Promise<number> {
  app.child.send({ type: 'cpu' });
  const { user, system } = await app.child.next<{ user: number; system: number }>('cpu');
  return user + system;
}

/** The pids doing the store's work: the Redis server's, or the Postgres backends connected to this database. */
async function storeProcesses(shared: SharedStore): Promise<number[]> {
  if (shared.redis !== null) return [Number(/process_id:(\d+)/.exec(await shared.redis.info('server'))![1])];
  const { rows } = await shared.pool!.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
  return rows.map((row) => row.pid);
}

function table(rows: Row[]): string {
  const header = ['store', 'procs', 'req/s', 'p99 ms', 'app µs/req', 'store µs/req', 'loadgen µs/req', 'app cores', 'store cores', 'loadgen cores', 'machine cores'];
  const lines = rows.map((r) => [
    r.store,
    String(r.processes),
    r.rps.toFixed(0),
    r.p99.toFixed(0),
    r.serverPerRequest.toFixed(0),
    r.storePerRequest.toFixed(0),
    r.loadPerRequest.toFixed(0),
    r.serverCores.toFixed(2),
    r.storeCores.toFixed(2),
    r.loadCores.toFixed(2),
    `${r.machineCores.toFixed(2)}/${CORES}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [format(header), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...lines.map(format)].join('\n');
}

/** Where one store's curve flattens and why, from its rows (one per entry of PROCESSES). */
function conclusion(rows: Row[]): string {
  const gains = rows.slice(1).map((row, i) => row.rps / rows[i]!.rps);
  const flat = gains.findIndex((gain) => gain < 1.15);
  const at = flat === -1 ? null : rows[flat]!;
  const last = rows[rows.length - 1]!;
  const app = median(rows.map((r) => r.serverPerRequest));
  const store = median(rows.map((r) => r.storePerRequest));
  const load = median(rows.map((r) => r.loadPerRequest));
  const curve = `${rows.map((r) => r.rps.toFixed(0)).join(' → ')} req/s for ${rows.map((r) => r.processes).join(', ')} processes (${gains.map((g) => `×${g.toFixed(2)}`).join(', ')})`;
  const where =
    at === null
      ? `it had not flattened by ${last.processes} processes`
      : `it flattens after ${at.processes} process${at.processes === 1 ? '' : 'es'}`;
  return (
    `${rows[0]!.store}: ${curve}; ${where}. At ${last.processes} processes the machine was busy ${last.machineCores.toFixed(2)} of its ${CORES} cores ` +
    `(app processes ${last.serverCores.toFixed(2)}, load generator ${last.loadCores.toFixed(2)}, ${rows[0]!.store} ${last.storeCores.toFixed(2)}): ` +
    `the app processes, the load generator and the store share the same ${CORES} cores, so more processes only divide them. ` +
    `What carries over is the CPU per request: ~${app.toFixed(0)} µs in the app process and ~${store.toFixed(0)} µs in ${rows[0]!.store} ` +
    `(the load generator spent ~${load.toFixed(0)} µs), i.e. about ${(1e6 / app).toFixed(0)} validated requests/s per core given to app processes.`
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

await main();
