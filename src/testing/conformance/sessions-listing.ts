import { describe, expect, it } from 'vitest';
import type { SessionDevice } from '../../contracts.js';
import { START, MINUTE, HOUR, IDLE, expectError, expectSessionShape, recordEvents, eventsNamed, newRecord, ids, sortedIds, type Harness } from './harness.js';

export function describeRevocation(t: () => Harness): void {
  describe('revocation', () => {
    it('revoke() is idempotent: a second call returns the session unchanged and emits nothing', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const { session } = await m.create({ userId: h.user() });
      h.clock.advance('1m');
      const first = await m.revoke(session.id, { reason: 'logout' });
      h.clock.advance('1m');
      const second = await m.revoke(session.id, { reason: 'other' });
      expect(second).toEqual(first);
      expect(second).toMatchObject({ status: 'revoked', revokedAt: START + MINUTE, revokeReason: 'logout' });
      expect(eventsNamed(events, 'revoked')).toEqual([{ session: first, reason: 'logout' }]);
    });

    it("revoke() defaults the reason to 'revoked', revokes expired sessions, and throws SESSION_NOT_FOUND for unknown ids", async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const a = await m.create({ userId });
      const b = await m.create({ userId });
      expect((await m.revoke(a.session.id)).revokeReason).toBe('revoked');
      h.clock.set(START + IDLE + MINUTE);
      const late = await m.revoke(b.session.id, { reason: 'cleanup' });
      expect(late).toMatchObject({ status: 'revoked', revokedAt: START + IDLE + MINUTE, revokeReason: 'cleanup' });
      const before = await m.list(userId, { includeInactive: true });
      await expectError(() => m.revoke('ses_doesnotexist000000000000'), 'SESSION_NOT_FOUND');
      expect(await m.list(userId, { includeInactive: true })).toEqual(before);
    });

    it('revokeAll() revokes every session of the user but `except`, returns the count, and leaves other users alone', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const userId = h.user('owner');
      const otherUser = h.user('other');
      const [s1, s2, s3] = [await m.create({ userId }), await m.create({ userId }), await m.create({ userId })];
      const other = await m.create({ userId: otherUser });
      h.clock.advance('3m');

      expect(await m.revokeAll(userId, { except: s2.session.id, reason: 'security_logout' })).toBe(2);
      expect(sortedIds(await m.list(userId))).toEqual([s2.session.id]);
      for (const s of [s1, s3]) {
        expect(await m.get(s.session.id)).toMatchObject({ status: 'revoked', revokeReason: 'security_logout', revokedAt: START + 3 * MINUTE });
        expect(await m.validate(s.token)).toEqual({ ok: false, reason: 'revoked' });
      }
      expect((await m.validate(s2.token)).ok).toBe(true);
      expect(await m.get(other.session.id)).toEqual(other.session);
      expect(await m.count(otherUser)).toBe(1);
      const revokedEvents = eventsNamed(events, 'revoked');
      expect(sortedIds(revokedEvents.map((e) => e.session))).toEqual(sortedIds([s1.session, s3.session]));
      expect(revokedEvents.every((e) => e.reason === 'security_logout')).toBe(true);

      expect(await m.revokeAll(userId, { except: s2.session.id })).toBe(0);
      expect(await m.revokeAll(userId)).toBe(1);
      expect(await m.count(userId)).toBe(0);
      expect(await m.revokeAll(h.user('nobody'))).toBe(0);
    });

    it('revokeAll() counts and revokes only active sessions; expired ones stay expired', async () => {
      const h = t();
      const m = h.manager({ idleTimeout: '10m', touchInterval: '1m' });
      const events = recordEvents(m);
      const userId = h.user();
      const stale = await m.create({ userId });
      h.clock.advance('5m');
      const fresh = await m.create({ userId });
      h.clock.advance('6m'); // stale idled out at 10m; fresh is 6m old
      expect(await m.revokeAll(userId, { reason: 'security_logout' })).toBe(1);
      expect(await m.get(stale.session.id)).toMatchObject({ status: 'expired', revokedAt: null, revokeReason: null });
      expect(await m.get(fresh.session.id)).toMatchObject({ status: 'revoked', revokeReason: 'security_logout' });
      expect(eventsNamed(events, 'revoked').map((e) => e.session.id)).toEqual([fresh.session.id]);
    });
  });
}

export function describeListing(t: () => Harness): void {
  describe('list() and count()', () => {
    it('lists active sessions only by default, most recently active first', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const s1 = await m.create({ userId });
      h.clock.advance('1s');
      const s2 = await m.create({ userId });
      h.clock.advance('1s');
      const s3 = await m.create({ userId });
      h.clock.advance('1s');
      const revoked = await m.create({ userId });
      await m.revoke(revoked.session.id);
      await m.create({ userId: h.user('other') });

      expect(ids(await m.list(userId))).toEqual([s3.session.id, s2.session.id, s1.session.id]);
      h.clock.advance('2m');
      await m.validate(s1.token);
      expect(ids(await m.list(userId))).toEqual([s1.session.id, s3.session.id, s2.session.id]);
      expect(await m.count(userId)).toBe(3);
    });

    it('includeInactive adds revoked and expired sessions, each with its observed status', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const old = await m.create({ userId });
      h.clock.advance('20m');
      const revoked = await m.create({ userId });
      h.clock.advance('1m');
      await m.revoke(revoked.session.id);
      const fresh = await m.create({ userId });
      h.clock.set(START + IDLE); // `old` is now idle

      const all = await m.list(userId, { includeInactive: true });
      for (const s of all) expectSessionShape(s);
      expect(all.map((s) => [s.id, s.status])).toEqual([
        [fresh.session.id, 'active'],
        [revoked.session.id, 'revoked'],
        [old.session.id, 'expired'],
      ]);
      expect(ids(await m.list(userId))).toEqual([fresh.session.id]);
      expect(await m.count(userId)).toBe(1);
      expect(await m.list(h.user('nobody'), { includeInactive: true })).toEqual([]);
      expect(await m.count(h.user('nobody'))).toBe(0);
    });
  });
}

/**
 * Timeline (START is a UTC midnight; idleTimeout 12h so only E and E2 expire). Every ended session
 * ended at most a few hours before now, so no store may have reclaimed it yet.
 *   F  created START-47h (hour 1), extended, revoked START+5h30   52 h 30, outside recent24h
 *   A  created START      (hour 0), revoked START+3h               3 h
 *   B  created START+1h   (hour 1), revoked START+2h               1 h
 *   C  created START+2h   (hour 2), revoked START+5h               3 h   (starts as B ends: no overlap)
 *   D  created START+2h30 (hour 2), still active at START+6h       3 h 30
 *   E, E2 inserted directly: created START+4h (hour 4), last active START+4h30, expired START+5h,
 *         device mobile                                            30 min each (to last activity)
 * Peak: F, C, D, E, E2 alive at START+4h -> 5 (4 was first reached at START+2h30).
 */
async function buildTimeline(h: Harness) {
  const m = h.manager({ idleTimeout: '12h', absoluteTimeout: '7d' });
  const userId = h.user();
  h.clock.set(START - 47 * HOUR);
  const f = await m.create({ userId });
  await m.extend(f.session.id, '2d');
  h.clock.set(START);
  const a = await m.create({ userId });
  h.clock.set(START + HOUR);
  const b = await m.create({ userId });
  h.clock.set(START + 2 * HOUR);
  await m.revoke(b.session.id);
  const c = await m.create({ userId });
  h.clock.set(START + 2.5 * HOUR);
  await m.create({ userId }); // D
  h.clock.set(START + 3 * HOUR);
  await m.revoke(a.session.id);
  h.clock.set(START + 4.5 * HOUR);
  const device: SessionDevice = { class: 'mobile', label: 'Pixel 8' };
  const e = newRecord(userId, { createdAt: START + 4 * HOUR, lastActiveAt: START + 4.5 * HOUR, expiresAt: START + 5 * HOUR, device });
  const e2 = newRecord(userId, { createdAt: START + 4 * HOUR, lastActiveAt: START + 4.5 * HOUR, expiresAt: START + 5 * HOUR, device: { class: 'mobile' } });
  const inserted = await h.store.insert(e.record, h.clock.now().getTime());
  await h.store.insert(e2.record, h.clock.now().getTime());
  expect(inserted.evicted).toEqual([]);
  expect(inserted.session.device).toEqual(device);
  h.clock.set(START + 5 * HOUR);
  await m.revoke(c.session.id);
  h.clock.set(START + 5.5 * HOUR);
  await m.revoke(f.session.id);
  h.clock.set(START + 6 * HOUR);
  return { m, userId, e };
}

export function describeStats(t: () => Harness): void {
  describe('stats()', () => {
    statsTests1(t);
    statsTests2(t);
  });
}

function statsTests1(t: () => Harness): void {
  it('computes totals, statuses, recent24h, durations, peak concurrency, byHour and byDeviceClass', async () => {
    const h = t();
    const { m, userId, e } = await buildTimeline(h);
    expect((await m.get(e.record.id))?.device).toEqual({ class: 'mobile', label: 'Pixel 8' });

    const byHour = new Array<number>(24).fill(0);
    byHour[0] = 1;
    byHour[1] = 2;
    byHour[2] = 2;
    byHour[4] = 2;
    expect(await m.stats({ userId })).toEqual({
      total: 7,
      active: 1,
      expired: 2,
      revoked: 4,
      recent24h: 6,
      // Sorted (min): 30, 30, 60, 180, 180, 210, 3150 -> nearest-rank p50 = 4th, p95 = 7th.
      duration: { avgMs: Math.round((3840 * MINUTE) / 7), p50Ms: 3 * HOUR, p95Ms: 52.5 * HOUR },
      peakConcurrent: { count: 5, at: START + 4 * HOUR },
      byHour,
      byDeviceClass: { unknown: 5, mobile: 2 },
    });
  });

  it('since counts only sessions created at or after the instant (Date or epoch ms)', async () => {
    const h = t();
    const { m, userId } = await buildTimeline(h);
    const sinceMs = await m.stats({ userId, since: START + 2 * HOUR });
    const sinceDate = await m.stats({ userId, since: new Date(START + 2 * HOUR) });
    expect(sinceDate).toEqual(sinceMs);
    // C, D, E, E2
    expect(sinceMs).toMatchObject({ total: 4, active: 1, expired: 2, revoked: 1, byDeviceClass: { unknown: 2, mobile: 2 } });
    expect((await m.stats({ userId, since: START + 6 * HOUR })).total).toBe(0);
  });

  it('userId scopes the statistics; without it every user is counted', async () => {
    const h = t();
    const m = h.manager();
    const before = await m.stats();
    const alice = h.user('alice');
    const bob = h.user('bob');
    await m.create({ userId: alice });
    await m.create({ userId: alice });
    const b = await m.create({ userId: bob });
    await m.revoke(b.session.id);

    expect(await m.stats({ userId: alice })).toMatchObject({ total: 2, active: 2, revoked: 0, peakConcurrent: { count: 2, at: START } });
    expect(await m.stats({ userId: bob })).toMatchObject({ total: 1, active: 0, revoked: 1 });
    const after = await m.stats();
    expect(after.total - before.total).toBe(3);
    expect(after.active - before.active).toBe(2);
    expect(after.revoked - before.revoked).toBe(1);
    expect((after.byDeviceClass.unknown ?? 0) - (before.byDeviceClass.unknown ?? 0)).toBe(3);
  });

  it('reports zeros and null duration for a user without sessions', async () => {
    const h = t();
    const m = h.manager();
    await m.create({ userId: h.user('someone-else') });
    expect(await m.stats({ userId: h.user('nobody') })).toEqual({
      total: 0,
      active: 0,
      expired: 0,
      revoked: 0,
      recent24h: 0,
      duration: null,
      peakConcurrent: { count: 0, at: null },
      byHour: new Array<number>(24).fill(0),
      byDeviceClass: {},
    });
  });
}

function statsTests2(t: () => Harness): void {
  it('store.scan() pages by at most pageSize and yields every matching session exactly once', async () => {
    const h = t();
    const userId = h.user();
    const inserted: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { record } = newRecord(userId, { createdAt: START + i * MINUTE, expiresAt: START + i * MINUTE + IDLE });
      inserted.push((await h.store.insert(record, START + i * MINUTE)).session.id);
    }
    const { record: stranger } = newRecord(h.user('stranger'), { createdAt: START, expiresAt: START + IDLE });
    await h.store.insert(stranger, START);

    const seen: string[] = [];
    for await (const page of h.store.scan({ userId }, 2)) {
      expect(page.length).toBeGreaterThan(0);
      expect(page.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page));
    }
    expect(seen.slice().sort()).toEqual(inserted.slice().sort());

    const recent: string[] = [];
    for await (const page of h.store.scan({ userId, createdSince: START + 4 * MINUTE }, 2)) recent.push(...ids(page));
    expect(recent.sort()).toEqual(inserted.slice(4).sort());
  });
}
