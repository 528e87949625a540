import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, SessionError, type AlertOptions, type SessionManager, type SessionManagerOptions, type SessionStore } from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { generateToken } from '../../src/token.js';

/**
 * Issue #11, attack 6: a flood of bad tokens must not blind the alert engine. Every flood here is
 * sent the way an attacker's many connections arrive: all at once, not one request after another.
 */

const START = Date.parse('2030-01-01T00:00:00Z');
/** Past the default maxPending of 10,000: the flood the issue measured, and then some. */
const FLOOD = 20_000;

const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-flood-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const opened: SessionManager[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((m) => m.close()));
});

function open(store: SessionStore, alerts: AlertOptions = {}, options: Partial<SessionManagerOptions> = {}) {
  const clock = manualClock(START);
  const reports: Array<{ error: Error; source: string }> = [];
  const manager = createSessionManager({ store, clock: clock.now, alerts: { onError: (error, source) => void reports.push({ error: error as Error, source }), ...alerts }, ...options });
  opened.push(manager);
  return { manager, clock, reports };
}

/** Unknown tokens, and every tenth a malformed one, each from another /24 (so no two fold together). */
function guesses(manager: SessionManager, count: number, ip: (i: number) => string = (i) => `10.${(i >> 8) & 255}.${i & 255}.1`): Array<Promise<unknown>> {
  return Array.from({ length: count }, (_, i) =>
    // A malformed token may be refused with INVALID_TOKEN or as a value: either way it is a guess.
    manager.validate(i % 10 === 9 ? `junk-${i}` : generateToken(), { ip: ip(i) }).catch(() => null),
  );
}

async function alertsOf(manager: SessionManager, type: string) {
  await manager.alerts.flush();
  return (await manager.alerts.list({ limit: 1000 })).items.filter((a) => a.type === type);
}

describe.each([
  ['memory', () => memoryStore()],
  ['sqlite', async () => {
    const store = sqliteStore({ filename: join(dir, `flood-${Math.random().toString(36).slice(2)}.db`) });
    await store.migrate();
    return store;
  }],
] as const)('alert engine under a flood of guesses (%s)', (_name, makeStore) => {
  it('a rotated-away token replayed during a flood of 20,000 guesses from 20,000 addresses still raises revokedTokenReuse', async () => {
    const { manager, clock } = open(await makeStore());
    const { session, token: stolen } = await manager.create({ userId: 'u1', ip: '203.0.113.5' });
    await manager.rotate(stolen);
    clock.advance('1m');
    const flood = guesses(manager, FLOOD);
    // The replay arrives behind the whole flood.
    const replay = manager.validate(stolen, { ip: '198.51.100.7' });
    await Promise.all(flood);
    expect(await replay).toEqual({ ok: false, reason: 'unknown' });
    const [alert] = await alertsOf(manager, 'revokedTokenReuse');
    expect(alert).toMatchObject({ userId: 'u1', sessionId: session.id, severity: 'high', evidence: { token: 'rotated', secondsSinceRotation: 60 } });
    const { queues } = manager.alerts.stats();
    // The guesses that did not fit were dropped, and only guesses.
    expect(queues.guesses.dropped).toBeGreaterThan(0);
    expect(queues.events.dropped).toBe(0);
  }, 60_000);

  it('during the flood, a session used from another network raises sessionHijack and an eviction raises concurrentLimit', async () => {
    const { manager } = open(await makeStore(), {}, { maxSessionsPerUser: 1 });
    const { session, token } = await manager.create({ userId: 'u1', ip: '203.0.113.5' });
    const flood = guesses(manager, FLOOD);
    const hijack = manager.validate(token, { ip: '198.51.100.7' });
    const evicting = manager.create({ userId: 'u1', ip: '203.0.113.5' });
    await Promise.all([...flood, hijack, evicting]);
    expect(await alertsOf(manager, 'sessionHijack')).toMatchObject([{ sessionId: session.id, evidence: { signal: 'network' } }]);
    expect(await alertsOf(manager, 'concurrentLimit')).toMatchObject([{ userId: 'u1', evidence: { outcome: 'evicted', evictedSessions: [session.id] } }]);
    expect(manager.alerts.stats().queues.events.dropped).toBe(0);
  }, 60_000);
});

describe('reporting and counting under a flood', () => {
  it('reports drops as one line of counts, once during the flood and once on close, never with a stack trace', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    // The default onError, which writes to the console.
    const manager = createSessionManager({ store: memoryStore() });
    await Promise.all(guesses(manager, 30_000));
    await Promise.all(guesses(manager, 5_000));
    const { dropped, queues } = manager.alerts.stats();
    expect(dropped).toBeGreaterThan(10_000);
    await manager.close();
    expect(error).not.toHaveBeenCalled();
    const lines = warn.mock.calls.map((args) => args.join(' '));
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatch(/^sessionkeeper: alert evaluation queue full: dropped \d+ events and \d+ token guesses/);
      expect(line).not.toContain('\n');
    }
    // The first drop is told at once; the rest, within the minute, on close, with the total.
    expect(lines[0]).toContain('dropped 0 events and 1 token guesses');
    expect(lines[1]).toContain(`dropped 0 events and ${queues.guesses.dropped - 1} token guesses since the last report (${dropped} in all)`);
  }, 60_000);

  it('hands onError a SessionError ALERT_QUEUE_FULL whose stack is its one-line message, with source queue', async () => {
    const { manager, reports } = open(memoryStore());
    await Promise.all(guesses(manager, 12_000));
    await manager.alerts.flush();
    expect(reports.map((r) => r.source)).toEqual(['queue']);
    expect(reports[0]!.error).toBeInstanceOf(SessionError);
    expect(reports[0]!.error).toMatchObject({ code: 'ALERT_QUEUE_FULL', details: { events: 0, guesses: 1 } });
    expect(reports[0]!.error.stack).toBe(`SessionError: ${reports[0]!.error.message}`);
    expect(manager.alerts.stats().errors).toBe(0);
  }, 60_000);

  it('guesses from one address fold while they wait: none is dropped and tokenBruteForce counts all 12,000', async () => {
    const { manager } = open(memoryStore());
    await Promise.all(guesses(manager, 12_000, () => '203.0.113.66'));
    const [alert, ...rest] = await alertsOf(manager, 'tokenBruteForce');
    expect(rest).toEqual([]);
    // 12,000 is a multiple of the threshold (20), so the last fold reported the full count.
    expect(alert).toMatchObject({ userId: null, evidence: { ip: '203.0.113.0', attempts: 12_000 } });
    const { dropped, queues } = manager.alerts.stats();
    expect(dropped).toBe(0);
    expect(queues.guesses.folded).toBeGreaterThan(0);
  }, 60_000);
});
