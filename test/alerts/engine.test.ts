import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, type Alert, type AlertEvent, type AlertRule, type SessionManager, type FullSessionStore as SessionStore } from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { generateToken } from '../../src/token.js';

const START = Date.parse('2030-01-01T00:00:00Z');
const opened: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
});

function open(options: Parameters<typeof createSessionManager>[0]): SessionManager {
  const manager = createSessionManager(options);
  opened.push(manager);
  return manager;
}

/** A custom rule that raises an alert for every created session of a user named in `users`. */
function flagUsers(users: string[], overrides: Partial<AlertRule> = {}): AlertRule {
  return {
    type: 'flaggedUser',
    events: ['created'],
    evaluate: (event) =>
      event.type === 'created' && users.includes(event.session.userId)
        ? { userId: event.session.userId, sessionId: event.session.id, severity: 'low', evidence: { reason: 'watch list' } }
        : null,
    ...overrides,
  };
}

describe('custom rules', () => {
  it('receive only the events they ask for, and their findings become alerts with the default dedup key', async () => {
    const seen: AlertEvent['type'][] = [];
    const clock = manualClock(START);
    const manager = open({
      store: memoryStore(),
      clock: clock.now,
      alerts: {
        rules: { newDevice: false },
        custom: [flagUsers(['mallory']), { type: 'spy', events: ['rotated', 'revoked'], evaluate: (e) => void seen.push(e.type) }],
      },
    });
    const { session, token } = await manager.create({ userId: 'mallory' });
    await manager.validate(token, { ip: '203.0.113.5' });
    await manager.rotate(token);
    await manager.revoke(session.id);
    await manager.create({ userId: 'alice' });
    await manager.alerts.flush();
    expect(seen).toEqual(['rotated', 'revoked']);
    const { items } = await manager.alerts.list();
    expect(items).toMatchObject([{ type: 'flaggedUser', userId: 'mallory', sessionId: session.id, severity: 'low', dedupKey: `flaggedUser:mallory:${session.id}`, evidence: { reason: 'watch list' } }]);
  });

  it('a throwing or invalid rule is reported and isolated: the request succeeds and other rules still run', async () => {
    const errors: Array<[string, string]> = [];
    const manager = open({
      store: memoryStore(),
      alerts: {
        onError: (error, source) => errors.push([source, (error as Error).message]),
        custom: [
          { type: 'broken', evaluate: () => { throw new Error('rule bug'); } },
          { type: 'rejects', evaluate: async () => Promise.reject(new Error('async rule bug')) },
          { type: 'badFinding', events: ['created'], evaluate: () => ({ userId: 'u1', severity: 'urgent' as never, evidence: {} }) },
          { type: 'hugeEvidence', events: ['created'], evaluate: () => ({ userId: 'u1', severity: 'low', evidence: { blob: 'x'.repeat(20_000) } }) },
          flagUsers(['u1']),
        ],
      },
    });
    const { token } = await manager.create({ userId: 'u1' });
    expect((await manager.validate(token)).ok).toBe(true);
    await manager.alerts.flush();
    expect((await manager.alerts.list()).items.map((a) => a.type)).toEqual(['flaggedUser']);
    expect(errors).toContainEqual(["rule 'broken'", 'rule bug']);
    expect(errors).toContainEqual(["rule 'rejects'", 'async rule bug']);
    expect(errors.find(([source]) => source === "rule 'badFinding'")?.[1]).toMatch(/severity must be one of/);
    expect(errors.find(([source]) => source === "rule 'hugeEvidence'")?.[1]).toMatch(/finding evidence/);
    expect(manager.alerts.stats().errors).toBe(errors.length);
  });

  it('a store that cannot save alerts never fails the request; the failure is reported', async () => {
    const store = memoryStore();
    // The real store, except that alerts cannot be saved (methods bound: the store has private fields).
    const broken = new Proxy(store, {
      get: (target, name: keyof SessionStore) =>
        name === 'raiseAlert' ? async () => Promise.reject(new Error('disk full')) : typeof target[name] === 'function' ? (target[name] as Function).bind(target) : target[name],
    });
    const errors: string[] = [];
    const manager = open({ store: broken, alerts: { custom: [flagUsers(['u1'])], onError: (e) => errors.push((e as Error).message) } });
    const { token } = await manager.create({ userId: 'u1' });
    expect((await manager.validate(token)).ok).toBe(true);
    await manager.alerts.flush();
    expect(errors).toEqual(['disk full']);
  });
});

describe('notification', () => {
  it('onAlert runs once per new alert; the alert event reports every occurrence with created', async () => {
    const notified: Alert[] = [];
    const manager = open({ store: memoryStore(), alerts: { rules: { newDevice: false }, custom: [flagUsers(['u1'], { evaluate: (e) => (e.type === 'created' ? { userId: 'u1', severity: 'low', evidence: { n: 1 }, dedupKey: 'same' } : null) })], onAlert: (a) => void notified.push(a) } });
    const events: Array<[number, boolean]> = [];
    manager.on('alert', ({ alert, created }) => void events.push([alert.count, created]));
    for (let i = 0; i < 3; i++) await manager.create({ userId: 'u1' });
    await manager.alerts.flush();
    expect(events).toEqual([[1, true], [2, false], [3, false]]);
    expect(notified.map((a) => a.count)).toEqual([1]);
  });

  it('a failing onAlert is reported and does not lose the alert', async () => {
    const errors: string[] = [];
    const manager = open({
      store: memoryStore(),
      alerts: { custom: [flagUsers(['u1'])], onAlert: async () => Promise.reject(new Error('smtp down')), onError: (e, source) => errors.push(`${source}: ${(e as Error).message}`) },
    });
    await manager.create({ userId: 'u1' });
    await manager.alerts.flush();
    expect(errors).toEqual(['onAlert: smtp down']);
    expect((await manager.alerts.list()).items).toHaveLength(1);
  });
});

describe('alerts.list, acknowledge, resolve', () => {
  async function withAlerts(count: number) {
    const clock = manualClock(START);
    const manager = open({ store: memoryStore(), clock: clock.now, alerts: { custom: [flagUsers(['u1', 'u2'])] } });
    for (let i = 0; i < count; i++) {
      await manager.create({ userId: i % 2 === 0 ? 'u1' : 'u2' });
      clock.advance('1s');
    }
    await manager.alerts.flush();
    return { manager, clock };
  }

  it('pages newest first with a cursor and filters by user, status and severity', async () => {
    const { manager } = await withAlerts(7);
    const first = await manager.alerts.list({ limit: 3 });
    expect(first.items.map((a) => a.createdAt)).toEqual([START + 6000, START + 5000, START + 4000]);
    const second = await manager.alerts.list({ limit: 3, cursor: first.nextCursor! });
    const third = await manager.alerts.list({ limit: 3, cursor: second.nextCursor! });
    expect(second.items.map((a) => a.createdAt)).toEqual([START + 3000, START + 2000, START + 1000]);
    expect(third).toMatchObject({ items: [{ createdAt: START }], nextCursor: null });
    expect((await manager.alerts.list({ userId: 'u2' })).items).toHaveLength(3);
    expect((await manager.alerts.list({ severity: 'high' })).items).toHaveLength(0);
    expect((await manager.alerts.list({ since: START + 5000 })).items).toHaveLength(2);
  });

  it('acknowledge then resolve, with notes and times; resolved is final and new occurrences open a new alert', async () => {
    const { manager, clock } = await withAlerts(1);
    const [alert] = (await manager.alerts.list()).items;
    clock.advance('1m');
    const acked = await manager.alerts.acknowledge(alert!.id, { note: 'looking' });
    expect(acked).toMatchObject({ status: 'acknowledged', updatedAt: START + 61_000, note: 'looking' });
    expect((await manager.alerts.list({ status: 'open' })).items).toEqual([]);
    clock.advance('1m');
    const resolved = await manager.alerts.resolve(alert!.id, { note: 'it was me' });
    expect(resolved).toMatchObject({ status: 'resolved', updatedAt: START + 121_000, note: 'it was me' });
    // Neither acknowledging nor resolving again changes a resolved alert.
    expect(await manager.alerts.acknowledge(alert!.id)).toEqual(resolved);
    expect(await manager.alerts.resolve(alert!.id, { note: 'again' })).toEqual(resolved);
  });

  it('unknown ids are ALERT_NOT_FOUND; bad arguments are INVALID_ARGUMENT', async () => {
    const { manager } = await withAlerts(1);
    await expect(manager.alerts.acknowledge('alr_doesnotexist')).rejects.toMatchObject({ code: 'ALERT_NOT_FOUND' });
    await expect(manager.alerts.resolve('alr_doesnotexist')).rejects.toMatchObject({ code: 'ALERT_NOT_FOUND' });
    for (const bad of [{ limit: 0 }, { limit: 1001 }, { status: 'closed' }, { severity: 'urgent' }, { cursor: 'garbage' }, { since: 'yesterday' }, { userId: '' }]) {
      await expect(manager.alerts.list(bad as never), JSON.stringify(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(manager.alerts.resolve('', {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(manager.alerts.resolve('alr_x', { note: 5 as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('engine limits and lifecycle', () => {
  it('drops events beyond maxPending instead of queueing without bound, counts them per queue, and reports them once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const errors: Array<[string, string]> = [];
    const manager = open({
      store: memoryStore(),
      alerts: { rules: { tokenBruteForce: false, revokedTokenReuse: false }, maxPending: 5, onError: (e, source) => errors.push([source, (e as Error).message]), custom: [{ type: 'slow', events: ['tokenRejected'], evaluate: () => gate.then(() => null) }] },
    });
    // From 12 networks, so that no two guesses fold: three are evaluated, five wait, four are dropped.
    for (let i = 0; i < 12; i++) await manager.validate(generateToken(), { ip: `198.51.${i}.1` });
    expect(manager.alerts.stats()).toMatchObject({ pending: 8, dropped: 4, queues: { guesses: { waiting: 5, dropped: 4, folded: 0 }, events: { waiting: 0, dropped: 0 } } });
    expect(errors).toEqual([['queue', 'alert evaluation queue full: dropped 0 events and 1 token guesses; see sessions.alerts.stats()']]);
    // The worker guesses may not take still evaluates other events at once.
    await manager.create({ userId: 'u1' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(manager.alerts.stats()).toMatchObject({ pending: 8, queues: { events: { waiting: 0 } } });
    release();
    await manager.alerts.flush();
    expect(manager.alerts.stats().pending).toBe(0);
  });

  it('tells custom rules about the rotated-token lookup and folded attempts of tokenRejected events', async () => {
    const clock = manualClock(START);
    const seen: Array<[string, unknown, number]> = [];
    const reads: string[] = [];
    const store = memoryStore();
    const counted = new Proxy(store, {
      get: (target, name: keyof SessionStore) => {
        if (name === 'findRotatedToken') return (hash: string) => (reads.push(hash), target.findRotatedToken(hash));
        return typeof target[name] === 'function' ? (target[name] as Function).bind(target) : target[name];
      },
    });
    const manager = open({
      store: counted,
      clock: clock.now,
      alerts: {
        custom: [{
          type: 'watcher',
          events: ['tokenRejected'],
          evaluate: async (e, ctx) => {
            if (e.type === 'tokenRejected' && e.tokenHash !== null) seen.push([e.reason, (await ctx.findRotatedToken(e.tokenHash))?.sessionId ?? null, e.attempts]);
            return null;
          },
        }],
      },
    });
    const { session, token } = await manager.create({ userId: 'u1' });
    await manager.rotate(token);
    await manager.validate(token);
    await manager.validate(generateToken());
    await manager.alerts.flush();
    expect(seen).toEqual([['unknown', session.id, 1], ['unknown', null, 1]]);
    // validate() looked each unknown token up once; the rule's ctx answered from the event.
    expect(reads).toHaveLength(2);
  });

  it('close() waits for evaluations in progress, including their actions', async () => {
    const store = memoryStore();
    const manager = createSessionManager({
      store,
      alerts: { custom: [{ type: 'late', events: ['created'], action: 'revoke', evaluate: async (e) => {
        await new Promise((r) => setTimeout(r, 20));
        return e.type === 'created' ? { userId: e.session.userId, sessionId: e.session.id, severity: 'high', evidence: {} } : null;
      } }] },
    });
    const revoked: string[] = [];
    manager.on('revoked', ({ session, reason }) => void revoked.push(`${session.id} ${reason}`));
    const { session } = await manager.create({ userId: 'u1' });
    await manager.close();
    expect(revoked).toEqual([`${session.id} alert:late`]);
  });

  it('alerts: false evaluates nothing, and stored alerts can still be listed', async () => {
    const manager = open({ store: memoryStore(), alerts: false });
    const { token } = await manager.create({ userId: 'u1', ip: '203.0.113.5' });
    for (let i = 0; i < 25; i++) await manager.validate(generateToken(), { ip: '203.0.113.66' });
    await manager.validate(token, { ip: '198.51.100.7' });
    await manager.alerts.flush();
    expect(manager.alerts.stats()).toEqual({
      pending: 0,
      dropped: 0,
      raised: 0,
      folded: 0,
      errors: 0,
      queues: { events: { waiting: 0, dropped: 0, folded: 0 }, guesses: { waiting: 0, dropped: 0, folded: 0 } },
    });
    expect((await manager.alerts.list()).items).toEqual([]);
  });

  it('cleanup() forgets rotated tokens past its cutoff, so their reuse is then only an unknown token', async () => {
    const clock = manualClock(START);
    const manager = open({ store: memoryStore(), clock: clock.now, alerts: { rules: { tokenBruteForce: false } } });
    const { token } = await manager.create({ userId: 'u1' });
    await manager.rotate(token);
    clock.advance('2d');
    await manager.cleanup({ olderThan: '1d' });
    await manager.validate(token);
    await manager.alerts.flush();
    expect((await manager.alerts.list()).items).toEqual([]);
  });
});
