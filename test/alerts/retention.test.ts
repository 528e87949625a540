import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, SessionError, type AlertOccurrence } from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { generateToken } from '../../src/token.js';

/**
 * Issue #11, attack 7: alerts must not grow without bound. cleanup() deleting them is proved on
 * every store by the conformance suite; these are the memory store's own bound.
 */

const START = Date.parse('2030-01-01T00:00:00Z');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('memoryStore({ maxAlerts })', () => {
  it('a flood of guesses from 100,000 addresses leaves 10,000 alerts, and the heap does not grow with the flood', async () => {
    const clock = manualClock(START);
    const store = memoryStore();
    // threshold 1 makes one guess per address raise the alert that 20 would; a 1 s window lets the
    // store reclaim the counters as the clock moves, so the heap measures the alerts alone.
    const sessions = createSessionManager({ store, clock: clock.now, alerts: { rules: { tokenBruteForce: { threshold: 1, within: '1s' } } } });
    const ip = (i: number) => `${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.9`;
    let heapAtBound = 0;
    for (let chunk = 0; chunk < 100; chunk++) {
      await Promise.all(Array.from({ length: 1000 }, (_, j) => sessions.validate(generateToken(), { ip: ip(chunk * 1000 + j) })));
      await sessions.alerts.flush();
      clock.advance('2s');
      if (chunk === 19) heapAtBound = heapUsed();
    }
    const growth = heapUsed() - heapAtBound;
    expect(sessions.alerts.stats()).toMatchObject({ raised: 100_000, dropped: 0 });
    expect(await store.listAlerts({ limit: 100_000 })).toHaveLength(10_000);
    // Unbounded, the 80,000 alerts raised meanwhile took 34 MB (measured); bounded, about nothing.
    expect(growth).toBeLessThan(8 * 1024 * 1024);
    await sessions.close();
  }, 120_000);

  it('evicts the alert resolved longest ago first, then the one least recently seen', async () => {
    const store = memoryStore({ maxAlerts: 3 });
    const raise = async (dedupKey: string, at: number) => (await store.raiseAlert(occurrence(dedupKey, at), 3_600_000)).alert;
    const a = await raise('a', START);
    const b = await raise('b', START + 1);
    const c = await raise('c', START + 2);
    await store.setAlertStatus(c.id, 'resolved', START + 3);
    await store.setAlertStatus(b.id, 'resolved', START + 4);
    await raise('d', START + 5);
    expect(await keys()).toEqual(['a', 'b', 'd']);
    await raise('e', START + 6);
    expect(await keys()).toEqual(['a', 'd', 'e']);
    // An occurrence folded into `a` makes it the most recently seen: `d` goes next.
    expect((await store.raiseAlert(occurrence('a', START + 7), 3_600_000)).created).toBe(false);
    await raise('f', START + 8);
    expect(await keys()).toEqual(['a', 'e', 'f']);
    // An evicted alert is forgotten: its key starts a new alert.
    expect((await store.raiseAlert(occurrence('d', START + 9), 3_600_000)).alert).toMatchObject({ dedupKey: 'd', count: 1 });
    expect((await store.listAlerts({ limit: 10 })).find((x) => x.id === a.id)).toMatchObject({ count: 2 });
    await store.close();

    async function keys() {
      return (await store.listAlerts({ limit: 10 })).map((x) => x.dedupKey).sort();
    }
  });

  it('rejects a maxAlerts that is not a positive integer with INVALID_CONFIG', () => {
    for (const maxAlerts of [0, -1, 1.5, Number.NaN, '10' as never]) {
      expect(() => memoryStore({ maxAlerts }), String(maxAlerts)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('maxAlerts') }));
    }
    expect(() => memoryStore({ maxAlerts: 0 })).toThrow(SessionError);
  });
});

function occurrence(dedupKey: string, at: number): AlertOccurrence {
  return { id: `alr_${dedupKey}_${at}`, userId: null, sessionId: null, type: 'test', severity: 'low', evidence: {}, dedupKey, at };
}
