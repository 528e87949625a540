import { afterEach, describe, expect, it, vi, type RunnerTask } from 'vitest';
import { createSessionManager, isSessionError, storeCapabilities, type SessionManager } from '../../src/index.js';
import { CHROME_WINDOWS, expectError, HttpTestClient } from '../../src/http/testing/index.js';
import { manualClock, runSessionConformance, runSessionStoreConformance } from '../../src/testing/index.js';
import { frameworks } from '../http/servers.js';
import { SESSION_METHODS, sessionsOnlyStore } from '../support/sessions-only-store.js';

// A store with only the required methods passes the session suite as it is...
runSessionConformance('sessions-only store', { createStore: () => sessionsOnlyStore() });
// ...and the run-all runs that suite and reports each capability it skipped, and why, by name.
runSessionStoreConformance('sessions-only store (run-all)', { createStore: () => sessionsOnlyStore() });

const START = Date.parse('2030-01-01T00:00:00.000Z');

describe('a manager over a store with only the session methods', () => {
  const managers: SessionManager[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const manager of managers.splice(0)) await manager.close().catch(() => {});
  });
  const clock = manualClock(START);
  const open = (options: Partial<Parameters<typeof createSessionManager>[0]> = {}): SessionManager => {
    const manager = createSessionManager({ store: sessionsOnlyStore(), clock: clock.now, ...options });
    managers.push(manager);
    return manager;
  };

  it('the store exposes exactly the required methods, and no capability is detected', () => {
    const store = sessionsOnlyStore();
    expect(Object.keys(store).sort()).toEqual(['kind', ...SESSION_METHODS].sort());
    expect(storeCapabilities(store)).toEqual({ activity: false, alerts: false });
  });

  it('turns activity and alerts off with one clear message, said once', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const manager = open();
    expect(manager.capabilities).toEqual({ activity: false, alerts: false });
    expect(warn).toHaveBeenCalledTimes(1);
    const message = String(warn.mock.calls[0]![0]);
    expect(message).toContain('sessions-only store has no activity or alerts capability');
    expect(message).toContain('sessions.activity and sessions.alerts are off');
    expect(message).toContain('activityStore / alertStore');
    expect(message).toContain('activity: false / alerts: false');
  });

  it('says nothing when the features were turned off on purpose', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    open({ activity: false, alerts: false });
    expect(warn).not.toHaveBeenCalled();
  });

  it('sessions work in full; the features that are off answer NOT_SUPPORTED instead of crashing', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const manager = open();
    const { session, token } = await manager.create({ userId: 'u1', userAgent: CHROME_WINDOWS });
    expect(await manager.validate(token, { ip: '203.0.113.9', userAgent: CHROME_WINDOWS })).toMatchObject({ ok: true });
    expect(await manager.validate('skt_' + 'A'.repeat(32))).toEqual({ ok: false, reason: 'unknown' });
    const rotated = await manager.rotate(token);
    expect(await manager.validate(token)).toEqual({ ok: false, reason: 'unknown' });
    expect((await manager.stats()).total).toBe(1);

    // Recording is what the HTTP middleware does on every request: it must keep working, as a no-op.
    expect(() => manager.activity.record(session, { method: 'GET', path: '/x', status: 200 })).not.toThrow();
    await manager.activity.flush();
    expect(manager.activity.stats()).toEqual({ queued: 0, written: 0, dropped: 0, failed: 0 });
    for (const call of [
      () => manager.activity.list({ userId: 'u1' }),
      () => manager.alerts.list(),
      () => manager.alerts.acknowledge('alr_1'),
      () => manager.alerts.resolve('alr_1'),
    ]) {
      const error = await call().then(() => null, (err: unknown) => err);
      expect(isSessionError(error, 'NOT_SUPPORTED'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/no store offers the (activity|alerts) capability/);
    }
    await manager.alerts.flush();
    expect(manager.alerts.stats()).toMatchObject({ pending: 0, raised: 0, errors: 0 });

    // cleanup() skips what the store does not have, activity retention included.
    await manager.revoke(rotated.session.id);
    clock.advance('1m');
    expect(await manager.cleanup({ olderThan: 0, activityOlderThan: 0 })).toBe(1);
    await manager.close();
    expect(() => manager.activity.record(session.id, {})).toThrowError(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('turned off on purpose, the NOT_SUPPORTED message says so', async () => {
    const manager = open({ activity: false, alerts: false });
    await expect(manager.activity.list({ userId: 'u1' })).rejects.toMatchObject({ code: 'NOT_SUPPORTED', message: expect.stringContaining('activity: false') });
    await expect(manager.alerts.list()).rejects.toMatchObject({ code: 'NOT_SUPPORTED', message: expect.stringContaining('alerts: false') });
  });

  it('the run-all suite above names the capabilities it skipped and why in its test titles', ({ task }) => {
    const titles: string[] = [];
    const walk = (t: RunnerTask): void => {
      titles.push(t.name);
      if ('tasks' in t) for (const child of t.tasks) walk(child);
    };
    walk(task.file);
    expect(titles).toContain(
      'activity: skipped, the store has no activity capability (ActivityStore: insertActivity, listActivity, deleteActivityBefore)',
    );
    expect(titles.some((title) => title.startsWith('alerts: skipped, the store has no alerts capability (AlertStore: raiseAlert'))).toBe(true);
  });
});

describe.each(frameworks)('HTTP over $name with a sessions-only store', (framework) => {
  it('requests are served and tracked without error; /activity and /alerts answer 501 NOT_SUPPORTED', async () => {
    const manager = createSessionManager({ store: sessionsOnlyStore(), activity: false, alerts: false });
    const server = await framework.start(manager);
    try {
      const app = new HttpTestClient(server);
      const a = await app.login('alice', CHROME_WINDOWS);
      expect((await app.get('/protected', { cookie: a.cookie })).status).toBe(200);
      expect((await app.get('/protected', { bearer: a.token })).status).toBe(200);
      expectError(await app.get('/api/v1/me/sessions/activity', { cookie: a.cookie }), 501, 'NOT_SUPPORTED');
      expectError(await app.get('/api/v1/me/sessions/alerts', { cookie: a.cookie }), 501, 'NOT_SUPPORTED');
      expect((await app.get('/api/v1/me/sessions', { cookie: a.cookie })).status).toBe(200);
    } finally {
      await server.close();
      await manager.close();
    }
  });
});
