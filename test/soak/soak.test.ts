import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// 1,000,000 validate + activity.record cycles in one process (test/soak/soak-run.ts, run in a child
// process so that it can call global.gc() and read its own heap), over 120,000 sessions, 150,000
// client networks of bad tokens and a long tail of user agents: more than every per-process cache
// and rule map holds. SOAK_CYCLES changes the count (e.g. 100000 for a quick local run).

const CYCLES = Number(process.env.SOAK_CYCLES ?? 1_000_000);
/**
 * Heap growth allowed from the end of the warm-up (when every bounded map is full) to the highest
 * of the later checkpoints. Unbounded state would grow by its entries times their size: a map of
 * addresses, counters or sessions that kept every key would add well over 100 MB in 700,000 cycles.
 */
const HEAP_GROWTH_BOUND_MB = 16;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface SoakResult {
  cycles: number;
  badTokens: number;
  rejected: number;
  loopSeconds: number;
  cyclesPerSecond: number;
  heapMb: { afterSetup: number; afterWarmup: number; checkpoints: Array<{ cycles: number; heapMb: number }>; final: number };
  growthAfterWarmupMb: number;
  activity: { queued: number; written: number; dropped: number; failed: number };
  alerts: { pending: number; dropped: number; raised: number; folded: number; errors: number };
}

function soak(cycles: number): Promise<SoakResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'test/soak/soak-run.ts', String(cycles)],
      { cwd: ROOT, timeout: 280_000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`soak run failed: ${error.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as SoakResult);
      },
    );
  });
}

describe('soak', () => {
  it(
    `${CYCLES.toLocaleString('en')} validate + record cycles in one process: heap flat after warm-up, no event dropped or failed`,
    async () => {
      const result = await soak(CYCLES);
      console.log(`soak: ${JSON.stringify(result)}`);
      expect(result.cycles).toBe(CYCLES);
      expect(result.rejected).toBe(result.badTokens);
      expect(result.growthAfterWarmupMb).toBeLessThan(HEAP_GROWTH_BOUND_MB);
      expect(result.activity).toMatchObject({ queued: 0, dropped: 0, failed: 0, written: CYCLES - result.badTokens });
      expect(result.alerts).toMatchObject({ pending: 0, dropped: 0, errors: 0 });
    },
    300_000,
  );
});
