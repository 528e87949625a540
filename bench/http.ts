/**
 * `npm run bench:http`: sessionkeeper's HTTP middleware against the session libraries users would
 * pick instead, under the same load.
 *
 * Every server runs in a child process of its own (bench/http/server.ts), started fresh on
 * 127.0.0.1 and an ephemeral port, and killed after its run. This process logs in once
 * (`POST /login`), then drives `POST /hit` with autocannon: 10 connections, a warm-up, then the
 * measured run, every request carrying that one session cookie and a browser's User-Agent. The
 * route reads the session and writes one value back (sessionkeeper: `sessions.update(id, { metadata })`;
 * express-session: `req.session.n = ...`; @fastify/session: `request.session.set(...)`).
 *
 * Per server: requests per second and p99 latency (both depend on the load generator sharing the
 * machine), and the steadier figure, the server process's CPU time per request
 * (`process.cpuUsage()` over the measured run / requests served). Session cost = CPU per request
 * minus that of the same framework with no session at all; the baselines run first and again last,
 * and the lower of their two figures counts.
 *
 * A run in which any response is not a 200 (the cookie stopped working, the store failed) fails.
 *
 * Environment: BENCH_SECONDS (default 10), BENCH_WARMUP (default 2), BENCH_CONNECTIONS (default 10),
 * BENCH_ONLY (comma-separated substrings of case names, or =name for exactly one), SESSIONKEEPER_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test), SESSIONKEEPER_REDIS_URL (default redis://127.0.0.1:6379; each
 * case writes under a key prefix of its own, deleted after it), BENCH_PROFILE=<dir>: write a CPU profile of each
 * server's measured run there (the figures are then not comparable: the profiler costs CPU).
 * BENCH_SERVER=<file>: run that build of bench/http/server.ts instead, e.g. an esbuild bundle
 * (`npx esbuild bench/http/server.ts --bundle --platform=node --format=esm --packages=external
 * --outfile=.scratch/server.mjs`), whose profiles have line numbers (tsx puts each file on one line).
 * BENCH_NODE_FLAGS: more node flags for the servers (e.g. --trace-deopt, which NODE_OPTIONS refuses).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import type { CaseId } from './http/apps.js';
import { connectRedis, deleteKeys, type BenchRedis } from './redis-keys.js';
import type { ChildMessage, ParentMessage } from './http/server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** The measured run is cut into this many windows; the least disturbed one is reported beside the whole. */
const WINDOWS = Math.max(1, Math.floor(SECONDS / 2));
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const POSTGRES_URL = process.env.SESSIONKEEPER_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.SESSIONKEEPER_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PROFILE_DIR = process.env.BENCH_PROFILE ? resolve(process.env.BENCH_PROFILE) : undefined;
const USER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '..');
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const SERVER = process.env.BENCH_SERVER ? resolve(process.env.BENCH_SERVER) : join(HERE, 'http', 'server.ts');

type Framework = 'express' | 'koa' | 'fastify';

interface Case {
  readonly id: CaseId;
  readonly framework: Framework;
  readonly label: string;
  /** Target session cost in CPU µs per request. */
  readonly target?: number;
  /** Target: a session cost lower than this case's, measured in the same run. */
  readonly beats?: CaseId;
  /** Session cost measured for the peer in an earlier run (issue figures), for comparison. */
  readonly earlier?: number;
  readonly store?: 'sqlite' | 'postgres' | 'redis';
  /** A server without sessions besides the baseline: no cookie to check. */
  readonly sessionless?: true;
  /** Why the case cannot run in this checkout, or undefined. */
  readonly missing?: () => string | undefined;
}

const require = createRequire(import.meta.url);
const needsModule = (name: string) => () => {
  try {
    require.resolve(name, { paths: [ROOT] });
    return undefined;
  } catch {
    return `${name} is not installed`;
  }
};
/** Baselines first: every session cost is taken against its framework's figure. */
const CASES: readonly Case[] = [
  { id: 'express', framework: 'express', label: 'Express, no session', earlier: 153 },
  { id: 'express+async-floor', framework: 'express', label: 'Express + empty async middleware and async route (floor, no session)', sessionless: true },
  { id: 'koa', framework: 'koa', label: 'Koa, no session', missing: needsModule('koa') },
  { id: 'fastify', framework: 'fastify', label: 'Fastify, no session', earlier: 27, missing: needsModule('fastify') },
  { id: 'express+sessionkeeper/memory', framework: 'express', label: 'Express + sessionkeeper, memory', target: 40 },
  { id: 'express+sessionkeeper/memory,alerts:false', framework: 'express', label: 'Express + sessionkeeper, memory, alerts: false' },
  { id: 'express+sessionkeeper/sqlite', framework: 'express', label: 'Express + sessionkeeper, SQLite (file, WAL)', target: 80, store: 'sqlite' },
  { id: 'express+sessionkeeper/postgres', framework: 'express', label: 'Express + sessionkeeper, Postgres', target: 150, store: 'postgres' },
  { id: 'express+sessionkeeper/redis', framework: 'express', label: 'Express + sessionkeeper, Redis (no alert store)', beats: 'express-session/redis', store: 'redis' },
  { id: 'fastify+sessionkeeper/memory', framework: 'fastify', label: 'Fastify + sessionkeeper, memory', target: 40, missing: needsModule('fastify') },
  { id: 'koa+sessionkeeper/memory', framework: 'koa', label: 'Koa + sessionkeeper, memory', missing: needsModule('koa') },
  { id: 'express-session/memory', framework: 'express', label: 'Express + express-session, MemoryStore', earlier: 142 },
  { id: 'express-session/sqlite', framework: 'express', label: 'Express + express-session, better-sqlite3-session-store (WAL)', earlier: 275, store: 'sqlite' },
  { id: 'express-session/postgres', framework: 'express', label: 'Express + express-session, connect-pg-simple', earlier: 515, store: 'postgres' },
  { id: 'express-session/redis', framework: 'express', label: 'Express + express-session, connect-redis', store: 'redis', missing: needsModule('connect-redis') },
  { id: '@fastify/session/memory', framework: 'fastify', label: 'Fastify + @fastify/session, memory store', earlier: 68, missing: needsModule('fastify') },
];

interface Measured {
  readonly reqPerSec: number;
  readonly p99: number;
  readonly cpuPerRequest: number;
  /** The user-space part of cpuPerRequest: the system part (socket writes) moves with the load. */
  readonly userPerRequest: number;
  /** CPU per request in the least disturbed window of the run (the machine is shared). */
  readonly bestWindowPerRequest: number;
  readonly handled: number;
  readonly responses: number;
  readonly elu: number;
}

interface Row {
  server: string;
  'req/s': string;
  'p99 ms': string;
  'CPU µs/req': string;
  'user µs/req': string;
  'best window CPU µs/req': string;
  'session µs/req': string;
  'session, best window': string;
  target: string;
  'earlier run': string;
  verdict: string;
}

async function main(): Promise<void> {
  const cases = CASES.filter((c) => ONLY === undefined || ONLY.some((o) => (o.startsWith('=') ? c.id === o.slice(1) : c.id.includes(o))));
  const [l1] = loadavg();
  console.log(
    `node ${process.version}, ${availableParallelism()} cores, load average ${l1!.toFixed(2)}; ` +
      `per server: ${WARMUP} s warm-up, then ${SECONDS} s with ${CONNECTIONS} connections, one session cookie` +
      (PROFILE_DIR ? `; profiling into ${PROFILE_DIR} (figures inflated by the profiler)` : ''),
  );
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-bench-http-'));
  const admin = await postgresAdmin();
  const redis = await redisAdmin();
  const results = new Map<CaseId, Measured>();
  const runsOf = new Map<CaseId, string>();
  const skipped = new Map<CaseId, string>();
  const failures: string[] = [];
  // Baselines run first and again last: every session cost rests on them, so each takes the lower
  // (less disturbed) of its two runs.
  const baselines = cases.filter((c) => c.id === c.framework);
  const order = [...cases.map((c, index) => ({ c, index, repeat: false })), ...baselines.map((c, i) => ({ c, index: cases.length + i, repeat: true }))];
  const repeats = new Map<CaseId, Measured>();
  try {
    for (const { c, index, repeat } of order) {
      if (repeat && !results.has(c.id)) continue;
      const why =
        c.missing?.() ??
        (c.store === 'postgres' && admin === null ? `Postgres unreachable at ${redact(POSTGRES_URL)}` : undefined) ??
        (c.store === 'redis' && redis === null ? `Redis unreachable at ${redact(REDIS_URL)}` : undefined);
      if (why !== undefined) {
        skipped.set(c.id, why);
        console.log(`- ${c.id}: skipped (${why})`);
        continue;
      }
      const schema = `sk_bench_http_${process.pid}_${index}`;
      const prefix = `bench-http:${process.pid}:${index}:`;
      if (c.store === 'postgres') await admin!.query(`create schema ${schema}`);
      try {
        const measured = await runCase(c, {
          BENCH_SQLITE_FILE: join(dir, `${index}.db`),
          BENCH_PG_URL: POSTGRES_URL,
          BENCH_PG_SCHEMA: schema,
          BENCH_REDIS_URL: REDIS_URL,
          BENCH_REDIS_PREFIX: prefix,
        });
        (repeat ? repeats : results).set(c.id, measured);
        console.log(
          `- ${c.id}${repeat ? ' (again)' : ''}: ${Math.round(measured.reqPerSec)} req/s, p99 ${measured.p99} ms, ${measured.cpuPerRequest.toFixed(1)} CPU µs/req (user ${measured.userPerRequest.toFixed(1)}, best window ${measured.bestWindowPerRequest.toFixed(1)}) ` +
            `(${measured.handled} requests served, ${measured.responses} responses, event loop ${(measured.elu * 100).toFixed(0)}% busy)`,
        );
      } catch (error) {
        if (repeat) results.delete(c.id);
        failures.push(`${c.id}: ${(error as Error).message}`);
        console.log(`- ${c.id}: FAILED: ${(error as Error).message}`);
      } finally {
        if (c.store === 'postgres') await admin!.query(`drop schema if exists ${schema} cascade`);
        if (c.store === 'redis') await deleteKeys(redis!, prefix);
      }
    }
  } finally {
    await admin?.end();
    if (redis?.isOpen) await redis.close();
    rmSync(dir, { recursive: true, force: true });
  }

  for (const [id, again] of repeats) {
    const first = results.get(id)!;
    runsOf.set(id, `runs: ${first.cpuPerRequest.toFixed(0)} then ${again.cpuPerRequest.toFixed(0)}`);
    results.set(id, {
      ...(again.cpuPerRequest < first.cpuPerRequest ? again : first),
      bestWindowPerRequest: Math.min(first.bestWindowPerRequest, again.bestWindowPerRequest),
    });
  }

  const rows: Row[] = [];
  const costOf = (id: CaseId) => {
    const c = CASES.find((k) => k.id === id)!;
    const m = results.get(id);
    const base = results.get(c.framework as CaseId);
    return m !== undefined && base !== undefined && id !== c.framework ? m.cpuPerRequest - base.cpuPerRequest : undefined;
  };
  for (const c of cases) {
    const m = results.get(c.id);
    const base = results.get(c.framework as CaseId);
    const cost = costOf(c.id);
    const bestCost = m !== undefined && base !== undefined && c.id !== c.framework ? m.bestWindowPerRequest - base.bestWindowPerRequest : undefined;
    const why = skipped.get(c.id);
    const rival = c.beats === undefined ? undefined : costOf(c.beats);
    rows.push({
      server: c.label,
      'req/s': m ? Math.round(m.reqPerSec).toLocaleString('en-US') : '',
      'p99 ms': m ? String(m.p99) : '',
      'CPU µs/req': m ? m.cpuPerRequest.toFixed(0) : '',
      'user µs/req': m ? m.userPerRequest.toFixed(0) : '',
      'best window CPU µs/req': m ? m.bestWindowPerRequest.toFixed(0) : '',
      'session µs/req': cost !== undefined ? cost.toFixed(0) : c.id === c.framework && m ? '(baseline)' : '',
      'session, best window': bestCost !== undefined ? bestCost.toFixed(0) : '',
      target: c.target !== undefined ? `<= ${c.target}` : c.beats !== undefined ? `< ${rival === undefined ? c.beats : rival.toFixed(0)}` : '',
      'earlier run': c.earlier !== undefined ? String(c.earlier) : '',
      verdict: why !== undefined ? `skipped: ${why}` : m === undefined ? 'FAILED' : runsOf.has(c.id) ? runsOf.get(c.id)! : verdict(c, cost, rival),
    });
  }
  console.log(`\nload average at the end: ${loadavg()[0]!.toFixed(2)} (the run itself keeps both cores busy: server and load generator)\n`);
  console.log(markdownTable(rows));
  const withAlerts = results.get('express+sessionkeeper/memory');
  const withoutAlerts = results.get('express+sessionkeeper/memory,alerts:false');
  if (withAlerts && withoutAlerts) {
    console.log(
      `\nAlert rules (default) on the request path, Express + memory: ${(withAlerts.cpuPerRequest - withoutAlerts.cpuPerRequest).toFixed(1)} CPU µs/request ` +
        `(user ${(withAlerts.userPerRequest - withoutAlerts.userPerRequest).toFixed(1)}).`,
    );
  }
  console.log(
    `\nCPU µs/req: the server process's user+system CPU time over the ${SECONDS} s run / requests served; user µs/req: its user-space part; ` +
      `best window: the same in the least disturbed of the run's ${WINDOWS} windows of ${SECONDS / WINDOWS} s (other work on this shared machine inflates CPU per request). ` +
      'Session µs/req: minus the same framework with no session (the targets apply to this). "earlier run": session cost (baselines: CPU µs/req) measured before.',
  );
  if (failures.length > 0) {
    console.error(`\n${failures.length} server(s) failed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
    process.exitCode = 1;
  }
}

/** Whether a case's session cost met its target: a figure, or lower than its rival's. */
function verdict(c: Case, cost: number | undefined, rival: number | undefined): string {
  if (cost === undefined) return '';
  if (c.target !== undefined) return cost <= c.target ? 'met' : 'MISSED';
  if (c.beats === undefined) return '';
  if (rival === undefined) return `${c.beats} not measured`;
  return cost < rival ? `met (${(rival / cost).toFixed(2)}x lower than ${c.beats})` : `MISSED (${c.beats}: ${rival.toFixed(0)})`;
}

async function runCase(c: Case, env: Record<string, string>): Promise<Measured> {
  const child = fork(SERVER, [c.id], {
    execArgv: ['--import', 'tsx', ...NODE_FLAGS],
    env: { ...process.env, ...env, ...(PROFILE_DIR ? { BENCH_PROFILE_DIR: PROFILE_DIR } : {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const channel = new Channel(child);
  try {
    const ready = await channel.next('ready', 60_000);
    const base = `http://127.0.0.1:${ready.port}`;
    const sessionless = c.id === c.framework || c.sessionless === true;
    const cookie = await login(base, sessionless);
    const headers = { cookie, 'user-agent': USER_AGENT };
    // The session works before the run: two hits, the second seeing the first's write.
    const first = await hit(base, headers);
    const second = await hit(base, headers);
    if (!sessionless && second !== first + 1) throw new Error(`the session did not keep n: ${first} then ${second}`);

    await load(base, headers, WARMUP);
    channel.send({ type: 'start' });
    await channel.next('started', 10_000);
    const marks = setInterval(() => channel.send({ type: 'mark' }), (SECONDS * 1000) / WINDOWS);
    let result: autocannon.Result;
    try {
      result = await load(base, headers, SECONDS);
    } finally {
      clearInterval(marks);
    }
    channel.send({ type: 'stop' });
    const stopped = await channel.next('stopped', 30_000);

    const responses = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
    if (result.non2xx !== 0 || result.errors !== 0 || result.timeouts !== 0 || result['2xx'] === 0) {
      throw new Error(`not every response was a 200: ${JSON.stringify(result.statusCodeStats)}, ${result.errors} errors, ${result.timeouts} timeouts`);
    }
    // And it still works after the run: the cookie stayed valid and the writes landed.
    const after = await hit(base, headers);
    if (!sessionless && after <= second) throw new Error(`n did not grow during the run: ${second} before, ${after} after`);
    if (stopped.handled === 0) throw new Error('the server counted no request');
    return {
      reqPerSec: result.requests.average,
      p99: result.latency.p99,
      cpuPerRequest: stopped.cpuMicros / stopped.handled,
      userPerRequest: stopped.userMicros / stopped.handled,
      // Windows of at least a tenth of the run's requests (not the sliver after the last mark).
      bestWindowPerRequest: Math.min(
        ...stopped.windows.filter((w) => w.handled >= stopped.handled / (10 * WINDOWS)).map((w) => w.cpuMicros / w.handled),
      ),
      handled: stopped.handled,
      responses,
      elu: stopped.elu,
    };
  } finally {
    channel.send({ type: 'close' });
    await channel.exit(10_000);
  }
}

/** Logs in and returns the Cookie header; baselines set no cookie and get a token-sized dummy. */
async function login(base: string, baseline: boolean): Promise<string> {
  const response = await fetch(`${base}/login`, { method: 'POST', headers: { 'user-agent': USER_AGENT } });
  if (response.status !== 200) throw new Error(`POST /login answered ${response.status}: ${await response.text()}`);
  const setCookie = response.headers.getSetCookie();
  if (baseline) return 'sid=0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL';
  const first = setCookie[0]?.split(';')[0];
  if (first === undefined || setCookie.length !== 1) throw new Error(`POST /login set ${setCookie.length} cookies`);
  return first;
}

async function hit(base: string, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${base}/hit`, { method: 'POST', headers });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST /hit answered ${response.status}: ${text}`);
  const n = (JSON.parse(text) as { n?: unknown }).n;
  if (typeof n !== 'number') throw new Error(`POST /hit answered ${text}`);
  return n;
}

function load(base: string, headers: Record<string, string>, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url: `${base}/hit`, method: 'POST', headers, connections: CONNECTIONS, duration: seconds });
}

/** The child's IPC messages, awaited one at a time by type. */
class Channel {
  readonly #child: ChildProcess;
  readonly #queue: ChildMessage[] = [];
  #wake: (() => void) | null = null;
  #exited = false;
  readonly #exit: Promise<void>;

  constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (message: ChildMessage) => {
      this.#queue.push(message);
      this.#wake?.();
    });
    this.#exit = new Promise((resolve) =>
      child.once('exit', () => {
        this.#exited = true;
        this.#wake?.();
        resolve();
      }),
    );
  }

  send(message: ParentMessage): void {
    if (!this.#exited && this.#child.connected) this.#child.send(message);
  }

  async next<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const message = this.#queue.shift();
      if (message?.type === 'failed') throw new Error(`the server failed: ${message.error}`);
      if (message?.type === type) return message as Extract<ChildMessage, { type: T }>;
      if (message !== undefined) continue;
      if (this.#exited) throw new Error(`the server exited (code ${this.#child.exitCode}) before '${type}'`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no '${type}' from the server within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /** Waits for the child to exit, killing it if it does not within `timeoutMs`. */
  async exit(timeoutMs: number): Promise<void> {
    if (this.#exited) return;
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    await this.#exit;
    clearTimeout(timer);
  }
}

async function postgresAdmin(): Promise<pg.Client | null> {
  if (!CASES.some((c) => c.store === 'postgres')) return null;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await client.connect();
    return client;
  } catch {
    return null;
  }
}

async function redisAdmin(): Promise<BenchRedis | null> {
  if (!CASES.some((c) => c.store === 'redis')) return null;
  const client = await connectRedis(REDIS_URL);
  return typeof client === 'string' ? null : client;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

function markdownTable(rows: Row[]): string {
  const columns = Object.keys(rows[0]!) as (keyof Row)[];
  const numeric = new Set<keyof Row>(['req/s', 'p99 ms', 'CPU µs/req', 'user µs/req', 'best window CPU µs/req', 'session µs/req', 'session, best window', 'target', 'earlier run']);
  const lines = [`| ${columns.join(' | ')} |`, `| ${columns.map((c) => (numeric.has(c) ? '---:' : '---')).join(' | ')} |`];
  for (const row of rows) lines.push(`| ${columns.map((c) => row[c]).join(' | ')} |`);
  return lines.join('\n');
}

await main();
