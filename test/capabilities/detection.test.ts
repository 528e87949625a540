import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, isActivityStore, isAlertStore, SessionError, storeCapabilities, type SessionManager } from '../../src/index.js';
import { sessionsOnlyStore } from '../support/sessions-only-store.js';

describe('capability detection', () => {
  it('the built-in stores offer activity and alerts', () => {
    for (const store of [memoryStore(), sqliteStore({ filename: ':memory:' })]) {
      expect(storeCapabilities(store)).toEqual({ activity: true, alerts: true });
      expect(isActivityStore(store)).toBe(true);
      expect(isAlertStore(store)).toBe(true);
    }
  });

  it('a flag set to false turns a capability off although its methods exist', () => {
    const store = Object.assign(Object.create(memoryStore()), { capabilities: { activity: false } });
    expect(storeCapabilities(store)).toEqual({ activity: false, alerts: true });
  });

  it('without flags the methods decide; one missing method means no capability', () => {
    const full = memoryStore();
    const activityOnly = { insertActivity: full.insertActivity, listActivity: full.listActivity, deleteActivityBefore: full.deleteActivityBefore };
    expect(storeCapabilities(activityOnly)).toEqual({ activity: true, alerts: false });
    const { hitCounter: _missing, ...noCounters } = {
      raiseAlert: full.raiseAlert,
      listAlerts: full.listAlerts,
      setAlertStatus: full.setAlertStatus,
      deleteAlertsBefore: full.deleteAlertsBefore,
      hitCounter: full.hitCounter,
      deleteCountersBefore: full.deleteCountersBefore,
    };
    expect(isAlertStore(noCounters)).toBe(false);
    expect(storeCapabilities(sessionsOnlyStore())).toEqual({ activity: false, alerts: false });
  });

  it('anything may be asked: null, primitives and plain objects have no capability', () => {
    for (const value of [null, undefined, 0, 'store', {}, []]) expect(storeCapabilities(value)).toEqual({ activity: false, alerts: false });
  });
});

describe('createSessionManager and capabilities', () => {
  const managers: SessionManager[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const manager of managers.splice(0)) await manager.close().catch(() => {});
  });
  const invalidConfig = (options: Parameters<typeof createSessionManager>[0], field: string): SessionError => {
    let caught: unknown;
    try {
      managers.push(createSessionManager(options));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SessionError);
    expect((caught as SessionError).code).toBe('INVALID_CONFIG');
    expect((caught as SessionError).message.startsWith(field)).toBe(true);
    return caught as SessionError;
  };

  it('activity options without any activity store are INVALID_CONFIG naming activity', () => {
    const err = invalidConfig({ store: sessionsOnlyStore(), activity: { batchSize: 10 }, alerts: false }, 'activity');
    expect(err.message).toContain('no store offers the activity capability');
    expect(err.message).toContain('activityStore');
  });

  it('alert options without any alert store are INVALID_CONFIG naming alerts', () => {
    const err = invalidConfig({ store: sessionsOnlyStore(), activity: false, alerts: { rules: { tokenBruteForce: false } } }, 'alerts');
    expect(err.message).toContain('no store offers the alerts capability');
    expect(err.message).toContain('alertStore');
  });

  it('an activityStore or alertStore without the capability is INVALID_CONFIG naming it', () => {
    invalidConfig({ store: memoryStore(), activityStore: sessionsOnlyStore() as never }, 'activityStore');
    invalidConfig({ store: memoryStore(), alertStore: {} as never }, 'alertStore');
  });

  it('a store that claims a capability it lacks is INVALID_CONFIG naming the store', () => {
    const liar = Object.assign(sessionsOnlyStore(), { capabilities: { activity: true } });
    const err = invalidConfig({ store: liar }, 'store');
    expect(err.message).toContain('capabilities.activity');
  });

  it('separate stores are used for their capability, and the session store keeps only sessions', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const audit = memoryStore();
    const manager = createSessionManager({ store: sessionsOnlyStore(), activityStore: audit, alertStore: audit, alerts: { custom: [] } });
    managers.push(manager);
    expect(manager.capabilities).toEqual({ activity: true, alerts: true });
    expect(warn).not.toHaveBeenCalled();
    const { session } = await manager.create({ userId: 'u1' });
    manager.activity.record(session, { type: 'login' });
    await manager.activity.flush();
    expect((await audit.listActivity({ userId: 'u1', limit: 10 })).map((row) => row.type)).toEqual(['login']);
    expect(await audit.findById(session.id)).toBeNull();
  });

  it('only the missing feature is named in the notice', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    managers.push(createSessionManager({ store: sessionsOnlyStore(), activityStore: memoryStore() }));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/has no alerts capability, so sessions\.alerts is off/);
  });

  it('activity: false turns activity off even over a store that has it; alerts: false keeps listing', async () => {
    const manager = createSessionManager({ store: memoryStore(), activity: false, alerts: false });
    managers.push(manager);
    expect(manager.capabilities).toEqual({ activity: false, alerts: true });
    await expect(manager.activity.list({ userId: 'u1' })).rejects.toMatchObject({ code: 'NOT_SUPPORTED', message: expect.stringContaining('activity: false') });
    expect((await manager.alerts.list()).items).toEqual([]);
  });
});
