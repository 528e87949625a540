import { describe, expect, it } from 'vitest';
import type { Session } from '../../contracts.js';
import type { Duration } from '../../duration.js';
import { SessionError } from '../../errors.js';
import { generateToken } from '../../token.js';
import { START, SECOND, MINUTE, HOUR, IDLE, TOKEN_SHAPE, expectError, expectNoSecrets, recordEvents, eventsNamed, type Harness } from './harness.js';

export function describeExpiry(t: () => Harness): void {
  describe('expiry', () => {
    expiryTests1(t);
    expiryTests2(t);
    expiryTests3(t);
    expiryTests4(t);
  });
}

function expiryTests1(t: () => Harness): void {
  it("expires an unused session at its idle deadline with reason 'idle'", async () => {
    const h = t();
    const m = h.manager();
    const events = recordEvents(m);
    const userId = h.user();
    const { session, token } = await m.create({ userId });

    h.clock.set(START + IDLE - 1);
    expect((await m.get(session.id))?.status).toBe('active');
    expect(await m.count(userId)).toBe(1);

    h.clock.set(START + IDLE);
    expect(await m.validate(token)).toEqual({ ok: false, reason: 'idle' });
    const expired = await m.get(session.id);
    expect(expired).toEqual({ ...session, status: 'expired' });
    expect(await m.list(userId)).toEqual([]);
    expect(await m.count(userId)).toBe(0);
    expect(await m.list(userId, { includeInactive: true })).toEqual([{ ...session, status: 'expired' }]);
    expect(eventsNamed(events, 'expired')).toEqual([{ session: { ...session, status: 'expired' }, cause: 'idle' }]);
  });

  it('slides the idle deadline when validate() records activity', async () => {
    const h = t();
    const m = h.manager();
    const { session, token } = await m.create({ userId: h.user() });

    h.clock.advance('20m');
    const first = await m.validate(token);
    expect(first.ok && first.session.lastActiveAt).toBe(START + 20 * MINUTE);
    expect(first.ok && first.session.expiresAt).toBe(START + 20 * MINUTE + IDLE);

    h.clock.advance('20m'); // past the original deadline
    const second = await m.validate(token);
    expect(second.ok).toBe(true);
    expect((await m.get(session.id))?.expiresAt).toBe(START + 40 * MINUTE + IDLE);

    h.clock.set(START + 40 * MINUTE + IDLE);
    expect(await m.validate(token)).toEqual({ ok: false, reason: 'idle' });
  });

  it("expires at the absolute deadline with reason 'expired', however often it is used", async () => {
    const h = t();
    const m = h.manager({ absoluteTimeout: '2h' });
    const events = recordEvents(m);
    const { session, token } = await m.create({ userId: h.user() });
    expect(session.absoluteExpiresAt).toBe(START + 2 * HOUR);

    for (let minute = 20; minute < 120; minute += 20) {
      h.clock.set(START + minute * MINUTE);
      const result = await m.validate(token);
      expect(result.ok, `validate at ${minute}m`).toBe(true);
      if (result.ok) expect(result.session.expiresAt).toBe(Math.min(START + minute * MINUTE + IDLE, START + 2 * HOUR));
    }
    h.clock.set(START + 2 * HOUR);
    expect(await m.validate(token)).toEqual({ ok: false, reason: 'expired' });
    expect((await m.get(session.id))?.status).toBe('expired');
    expect(eventsNamed(events, 'expired').map((e) => e.cause)).toEqual(['absolute']);
  });
}

function expiryTests2(t: () => Harness): void {
  it('extend() moves expiresAt forward without touching lastActiveAt', async () => {
    const h = t();
    const m = h.manager();
    const events = recordEvents(m);
    const { session, token } = await m.create({ userId: h.user() });
    h.clock.advance('5m');
    const extended = await m.extend(session.id, '1h');
    expect(extended).toEqual({ ...session, expiresAt: START + IDLE + HOUR });
    expect(await m.get(session.id)).toEqual(extended);
    expect(eventsNamed(events, 'extended')).toEqual([{ session: extended }]);

    // Past the idle deadline it would have had without the extension.
    h.clock.set(START + IDLE + 30 * MINUTE);
    expect((await m.validate(token)).ok).toBe(true);
  });

  it('a later touch never shortens an extended deadline', async () => {
    const h = t();
    const m = h.manager();
    const { session, token } = await m.create({ userId: h.user() });
    await m.extend(session.id, '5h');
    h.clock.advance('10m');
    const result = await m.validate(token); // writes a touch with idle deadline START+40m
    expect(result.ok && result.session.lastActiveAt).toBe(START + 10 * MINUTE);
    expect(result.ok && result.session.expiresAt).toBe(START + IDLE + 5 * HOUR);
  });

  it('extend() never moves expiresAt past absoluteExpiresAt', async () => {
    const h = t();
    const m = h.manager({ absoluteTimeout: '2h' });
    const { session, token } = await m.create({ userId: h.user() });
    const capped = await m.extend(session.id, '1d');
    expect(capped.expiresAt).toBe(session.absoluteExpiresAt);
    const again = await m.extend(session.id, '1h');
    expect(again.expiresAt).toBe(session.absoluteExpiresAt);
    expect(again.absoluteExpiresAt).toBe(START + 2 * HOUR);
    h.clock.set(START + 2 * HOUR);
    expect(await m.validate(token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('concurrent extends add up', async () => {
    const h = t();
    const m = h.manager();
    const { session } = await m.create({ userId: h.user() });
    await Promise.all(Array.from({ length: 10 }, () => m.extend(session.id, '1m')));
    expect((await m.get(session.id))?.expiresAt).toBe(START + IDLE + 10 * MINUTE);
  });

  it('with maxIdle, repeated extends stop at max(idleTimeout, maxIdle) from now', async () => {
    const h = t();
    const m = h.manager();
    const { session, token } = await m.create({ userId: h.user() });
    h.clock.advance('10m');
    const now = START + 10 * MINUTE;
    let last = session;
    for (let i = 0; i < 10; i++) last = await m.extend(session.id, '1h', { maxIdle: '2h' });
    expect(last.expiresAt).toBe(now + 2 * HOUR);
    expect(await m.get(session.id)).toEqual(last);

    // A bound below idleTimeout still leaves the session its idle window from now.
    const other = await m.create({ userId: h.user() });
    expect((await m.extend(other.session.id, '1h', { maxIdle: '5m' })).expiresAt).toBe(now + IDLE);

    h.clock.set(now + 2 * HOUR);
    expect(await m.validate(token)).toEqual({ ok: false, reason: 'idle' });
  });
}

function expiryTests3(t: () => Harness): void {
  it('10 parallel extends with maxIdle never pass the bound', async () => {
    const h = t();
    const m = h.manager();
    const { session } = await m.create({ userId: h.user() });
    h.clock.advance('10m');
    const bound = START + 10 * MINUTE + HOUR;
    const results = await Promise.all(Array.from({ length: 10 }, () => m.extend(session.id, '20m', { maxIdle: '1h' })));
    for (const result of results) expect(result.expiresAt).toBeLessThanOrEqual(bound);
    expect((await m.get(session.id))?.expiresAt).toBe(bound);
  });

  it('maxIdle never shortens a deadline that is already further out', async () => {
    const h = t();
    const m = h.manager();
    const { session } = await m.create({ userId: h.user() });
    await m.extend(session.id, '5h');
    h.clock.advance('10m');
    const again = await m.extend(session.id, '1h', { maxIdle: '1h' });
    expect(again.expiresAt).toBe(START + IDLE + 5 * HOUR);
    expect((await m.get(session.id))?.expiresAt).toBe(START + IDLE + 5 * HOUR);
  });

  it('with maxIdle the absolute deadline still wins', async () => {
    const h = t();
    const m = h.manager({ absoluteTimeout: '2h' });
    const { session, token } = await m.create({ userId: h.user() });
    expect((await m.extend(session.id, '1h', { maxIdle: '3h' })).expiresAt).toBe(START + IDLE + HOUR);
    expect((await m.extend(session.id, '1h', { maxIdle: '3h' })).expiresAt).toBe(START + 2 * HOUR);
    h.clock.set(START + 2 * HOUR);
    expect(await m.validate(token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('extend() rejects a maxIdle that is not a duration with INVALID_ARGUMENT and changes nothing', async () => {
    const h = t();
    const m = h.manager();
    const { session } = await m.create({ userId: h.user() });
    const writes = h.writes();
    for (const options of [{ maxIdle: -1 }, { maxIdle: 'soon' }, { maxIdle: null }, null, 'maxIdle']) {
      await expectError(() => m.extend(session.id, '1h', options as { maxIdle: Duration }), 'INVALID_ARGUMENT', JSON.stringify(options));
    }
    expect(h.writes()).toBe(writes);
    expect(await m.get(session.id)).toEqual(session);
  });

  it('extend() of an expired or revoked session throws SESSION_INACTIVE and of an unknown id SESSION_NOT_FOUND', async () => {
    const h = t();
    const m = h.manager();
    const userId = h.user();
    const idle = await m.create({ userId });
    const revoked = await m.create({ userId });
    await m.revoke(revoked.session.id);
    h.clock.set(START + IDLE);
    const before = await m.list(userId, { includeInactive: true });

    await expectError(() => m.extend(idle.session.id, '1h'), 'SESSION_INACTIVE');
    await expectError(() => m.extend(revoked.session.id, '1h'), 'SESSION_INACTIVE');
    await expectError(() => m.extend('ses_doesnotexist000000000000', '1h'), 'SESSION_NOT_FOUND');
    expect(await m.list(userId, { includeInactive: true })).toEqual(before);
  });
}

function expiryTests4(t: () => Harness): void {
  it("get() reports status 'expired' once either deadline has passed", async () => {
    const h = t();
    const m = h.manager({ absoluteTimeout: '1h', idleTimeout: '30m' });
    const userId = h.user();
    const a = await m.create({ userId });
    await m.extend(a.session.id, '1d'); // capped at the absolute deadline
    const b = await m.create({ userId });
    h.clock.set(START + 30 * MINUTE);
    expect((await m.get(a.session.id))?.status).toBe('active');
    expect((await m.get(b.session.id))?.status).toBe('expired');
    h.clock.set(START + HOUR);
    expect((await m.get(a.session.id))?.status).toBe('expired');
    expect(await m.count(userId)).toBe(0);
  });
}

export function describeTouchThrottling(t: () => Harness): void {
  describe('touch throttling', () => {
    it('validate() writes nothing inside touchInterval and exactly once after it passes', async () => {
      const h = t();
      const m = h.manager({ touchInterval: '1m' });
      const { session, token } = await m.create({ userId: h.user() });
      expect(h.writes()).toBe(1); // the insert
      const base = h.writes();

      for (const at of [0, 1, 30 * SECOND, MINUTE - 1]) {
        h.clock.set(START + at);
        const result = await m.validate(token);
        expect(result.ok).toBe(true);
        expect(result.ok && result.session.lastActiveAt).toBe(START);
      }
      expect(h.writes() - base).toBe(0);

      h.clock.set(START + MINUTE);
      const touched = await m.validate(token);
      expect(h.writes() - base).toBe(1);
      expect(h.calls('touch')).toBe(1);
      expect(touched.ok && touched.session).toEqual({ ...session, lastActiveAt: START + MINUTE, expiresAt: START + MINUTE + IDLE });

      // The throttle restarts from the recorded activity.
      for (const at of [MINUTE, MINUTE + 59 * SECOND]) {
        h.clock.set(START + at);
        expect((await m.validate(token)).ok).toBe(true);
      }
      expect(h.writes() - base).toBe(1);
      h.clock.set(START + 2 * MINUTE);
      await m.validate(token);
      expect(h.writes() - base).toBe(2);
    });

    it('validate() of unknown, revoked and expired tokens writes nothing', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const revoked = await m.create({ userId });
      const expired = await m.create({ userId });
      await m.revoke(revoked.session.id);
      h.clock.set(START + IDLE + MINUTE);
      const base = h.writes();
      expect(await m.validate(generateToken())).toEqual({ ok: false, reason: 'unknown' });
      expect(await m.validate(revoked.token)).toEqual({ ok: false, reason: 'revoked' });
      expect(await m.validate(expired.token)).toEqual({ ok: false, reason: 'idle' });
      expect(h.writes() - base).toBe(0);
    });
  });
}

export function describeRotation(t: () => Harness): void {
  describe('rotation', () => {
    it('replaces the token: the new one works, the old one is unknown, and the session keeps its id', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const { session, token } = await m.create({ userId: h.user(), metadata: { a: 1 } });
      h.clock.advance('10s');

      const rotated = await m.rotate(token);
      expect(rotated.token).toMatch(TOKEN_SHAPE);
      expect(rotated.token).not.toBe(token);
      // Rotation records activity at now, like a touch.
      expect(rotated.session).toEqual({ ...session, lastActiveAt: START + 10 * SECOND, expiresAt: START + 10 * SECOND + IDLE });

      const viaNew = await m.validate(rotated.token);
      expect(viaNew.ok && viaNew.session.id).toBe(session.id);
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'unknown' });
      await expectError(() => m.rotate(token), 'SESSION_NOT_FOUND');
      expect(eventsNamed(events, 'rotated')).toEqual([{ session: rotated.session }]);
      expectNoSecrets([rotated.session, viaNew, events], [token, rotated.token]);
    });

    it('of 10 concurrent rotations of one token exactly one succeeds', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const { session, token } = await m.create({ userId: h.user() });
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => m.rotate(token)));

      const won = results.filter((r): r is PromiseFulfilledResult<{ session: Session; token: string }> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const r of lost) {
        expect(r.reason).toBeInstanceOf(SessionError);
        expect((r.reason as SessionError).code).toBe('SESSION_NOT_FOUND');
      }
      const winner = won[0]!.value;
      const check = await m.validate(winner.token);
      expect(check.ok && check.session.id).toBe(session.id);
      expect(await m.validate(token)).toEqual({ ok: false, reason: 'unknown' });
      expect(eventsNamed(events, 'rotated')).toHaveLength(1);
    });

    it('a rotation racing a revocation never hands out a working token for the revoked session', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user() });
      const [rotation, revocation] = await Promise.allSettled([m.rotate(token), m.revoke(session.id)]);
      expect(revocation.status).toBe('fulfilled');
      if (rotation.status === 'fulfilled') {
        // The rotation won the race: it saw an active session, and the revocation then ended it.
        expect(rotation.value.session.status).toBe('active');
        expect(await m.validate(rotation.value.token)).toEqual({ ok: false, reason: 'revoked' });
      } else {
        expect(rotation.reason).toBeInstanceOf(SessionError);
        expect((rotation.reason as SessionError).code).toBe('SESSION_NOT_FOUND');
        expect(await m.validate(token)).toEqual({ ok: false, reason: 'revoked' });
      }
      expect((await m.get(session.id))?.status).toBe('revoked');
    });

    it('refuses to rotate a revoked or expired session (SESSION_NOT_FOUND) and changes nothing', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const revoked = await m.create({ userId });
      const idle = await m.create({ userId });
      await m.revoke(revoked.session.id);
      h.clock.set(START + IDLE);
      const before = await m.list(userId, { includeInactive: true });
      await expectError(() => m.rotate(revoked.token), 'SESSION_NOT_FOUND');
      await expectError(() => m.rotate(idle.token), 'SESSION_NOT_FOUND');
      await expectError(() => m.rotate(generateToken()), 'SESSION_NOT_FOUND');
      expect(await m.list(userId, { includeInactive: true })).toEqual(before);
      expect(await m.validate(revoked.token)).toEqual({ ok: false, reason: 'revoked' });
    });
  });
}
