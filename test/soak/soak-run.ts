import { randomBytes } from 'node:crypto';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, SessionError, type Session } from '../../src/index.js';

/**
 * The soak run, in its own process so that it can measure its heap after `global.gc()`: run as
 * `node --expose-gc --import tsx test/soak/soak-run.ts [cycles]`; prints one JSON line of figures.
 *
 * One manager on the memory store with the default alert rules. Each cycle validates a token and,
 * for a valid one, records the request in the activity log. Over the run: 120,000 sessions of
 * 40,000 users, each with its own address and one of 10,050 user agents (a long tail), and bad
 * tokens (unknown or malformed; one cycle in four during the warm-up, one in ten after) from
 * 150,000 /24 networks, so that every per-process map is pushed past its bound: addresses (4,096), parsed devices (5,000), sessionHijack's last networks (100,000
 * sessions), the store's hit counters (100,000 keys) and activity rows (100,000).
 */

const CYCLES = Number(process.argv[2] ?? 1_000_000);
const WARMUP = Math.min(300_000, Math.floor(CYCLES * 0.3));
const SESSIONS = 120_000;
const USERS = 40_000;
const USER_AGENTS = 10_000;
const BAD_NETWORKS = 150_000;
/** Cycles between yields to the event loop, where the activity log writes its batches. */
const YIELD_EVERY = 250;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

let now = Date.parse('2030-01-01T00:00:00Z');
const manager = createSessionManager({ store: memoryStore(), clock: () => new Date(now) });

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const badIp = (j: number) => `${20 + Math.floor(j / 65_536)}.${(j >> 8) & 255}.${j & 255}.7`;
/** Most sessions share a few popular user agents; one in ten has one of a long tail, more than the device cache holds. */
const userAgent = (i: number) => {
  const n = i % 10 === 0 ? 1000 + (Math.floor(i / 10) % USER_AGENTS) : i % 50;
  return `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${100 + (n % 40)}.0.${n}.${n % 7} Safari/537.36`;
};

const started = performance.now();
const sessions: Session[] = [];
const tokens: string[] = [];
for (let i = 0; i < SESSIONS; i++) {
  const { session, token } = await manager.create({ userId: `user-${i % USERS}`, ip: ip(i), userAgent: userAgent(i) });
  sessions.push(session);
  tokens.push(token);
  if (i % YIELD_EVERY === 0) await new Promise(setImmediate);
}
await settle();
const setupSeconds = (performance.now() - started) / 1000;
const heap = { afterSetup: heapMb(), afterWarmup: 0, checkpoints: [] as Array<{ cycles: number; heapMb: number }>, final: 0 };

const loopStarted = performance.now();
let rejected = 0;
let bad = 0;
for (let k = 0; k < CYCLES; k++) {
  // 1 ms per 4 cycles: the run spans about 4 minutes, inside tokenBruteForce's 5-minute window, so
  // its counter keys are not yet reclaimed by age and the store's cap (100,000 keys) is what bounds them.
  if (k % 4 === 0) now += 1;
  // A bad token every 4th cycle during the warm-up (the counters reach their cap), every 10th after.
  if (k % (k < WARMUP ? 4 : 10) === 3) {
    // A guess: well-formed and unknown, or not a token at all.
    const j = bad++ % BAD_NETWORKS;
    const guess = j % 10 === 0 ? 'not-a-token' : `skt_${randomBytes(24).toString('base64url')}`;
    try {
      const result = await manager.validate(guess, { ip: badIp(j), userAgent: 'curl/8.4.0' });
      if (!result.ok) rejected++;
    } catch (error) {
      if (!(error instanceof SessionError && error.code === 'INVALID_TOKEN')) throw error;
      rejected++;
    }
  } else {
    const i = (k * 7919) % SESSIONS;
    const result = await manager.validate(tokens[i]!, { ip: ip(i), userAgent: userAgent(i) });
    if (!result.ok) throw new Error(`session ${i} did not validate: ${result.reason}`);
    manager.activity.record(result.session, { method: 'GET', path: `/api/v1/items/${k % 1000}`, status: 200, durationMs: 3, bytesOut: 512 });
  }
  if (k % YIELD_EVERY === 0) await new Promise(setImmediate);
  if (k + 1 === WARMUP) {
    await settle();
    heap.afterWarmup = heapMb();
  } else if (k + 1 > WARMUP && (k + 1) % 100_000 === 0) {
    await settle();
    heap.checkpoints.push({ cycles: k + 1, heapMb: heapMb() });
  }
}
await settle();
const loopSeconds = (performance.now() - loopStarted) / 1000;
heap.final = heapMb();

const result = {
  cycles: CYCLES,
  warmupCycles: WARMUP,
  sessions: SESSIONS,
  badTokens: bad,
  rejected,
  setupSeconds: round(setupSeconds),
  loopSeconds: round(loopSeconds),
  cyclesPerSecond: Math.round(CYCLES / loopSeconds),
  heapMb: heap,
  growthAfterWarmupMb: round(Math.max(...heap.checkpoints.map((c) => c.heapMb), heap.final) - heap.afterWarmup),
  activity: manager.activity.stats(),
  alerts: manager.alerts.stats(),
};
await manager.close();
process.stdout.write(`${JSON.stringify(result)}\n`);

// --- internal ---

/** Lets queued activity and alert evaluation finish, then collects garbage. */
async function settle(): Promise<void> {
  await manager.activity.flush();
  await manager.alerts.flush();
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise(setImmediate);
  }
}

function heapMb(): number {
  return round(process.memoryUsage().heapUsed / 2 ** 20);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
