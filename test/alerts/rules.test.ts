import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import {
  createSessionManager,
  SessionError,
  type Alert,
  type AlertOptions,
  type SessionManager,
  type SessionManagerOptions,
} from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { generateToken } from '../../src/token.js';

const START = Date.parse('2030-01-01T00:00:00Z');
export const UA = {
  chrome131: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chrome132: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
};

const opened: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
});

/** A manager on a manual clock that collects what the `alert` event reports. */
function setup(alerts: AlertOptions | false = {}, options: Partial<SessionManagerOptions> = {}) {
  const clock = manualClock(START);
  const errors: Array<{ error: unknown; source: string }> = [];
  const manager = createSessionManager({
    store: memoryStore(),
    clock: clock.now,
    alerts: alerts === false ? false : { onError: (error, source) => errors.push({ error, source }), ...alerts },
    ...options,
  });
  opened.push(manager);
  const raised: Array<{ alert: Alert; created: boolean }> = [];
  manager.on('alert', (payload) => void raised.push(payload));
  /** Alerts of `type` as stored, after every pending evaluation finished. */
  const alertsOf = async (type: string) => {
    await manager.alerts.flush();
    return (await manager.alerts.list({ limit: 1000 })).items.filter((a) => a.type === type);
  };
  return { manager, clock, errors, raised, alertsOf };
}

describe('newDevice', () => {
  it('raises an info alert the first time a user signs in from another kind of device', async () => {
    const { manager, alertsOf } = setup();
    await manager.create({ userId: 'u1', userAgent: UA.chrome131, ip: '203.0.113.5' });
    const { session } = await manager.create({ userId: 'u1', userAgent: UA.iphone, ip: '198.51.100.7' });
    const [alert, ...rest] = await alertsOf('newDevice');
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({ userId: 'u1', sessionId: session.id, severity: 'info', status: 'open', count: 1 });
    expect(alert!.evidence).toEqual({ device: session.device!.label, deviceClass: 'mobile', ip: '198.51.100.0', knownDevices: 1 });
  });

  it('stays quiet for a first sign-in, the same device again, and a browser update', async () => {
    const { manager, alertsOf } = setup();
    await manager.create({ userId: 'u1', userAgent: UA.chrome131 });
    await manager.create({ userId: 'u1', userAgent: UA.chrome131 });
    await manager.create({ userId: 'u1', userAgent: UA.chrome132 });
    // Another user's first device is not new to this one either.
    await manager.create({ userId: 'u2', userAgent: UA.iphone });
    expect(await alertsOf('newDevice')).toEqual([]);
  });
});

describe('concurrentLimit', () => {
  it('raises a medium alert when create() evicts to stay within maxSessionsPerUser', async () => {
    const { manager, alertsOf } = setup({}, { maxSessionsPerUser: 2 });
    const { session: oldest } = await manager.create({ userId: 'u1' });
    await manager.create({ userId: 'u1' });
    await manager.create({ userId: 'u1', ip: '203.0.113.9' });
    const [alert] = await alertsOf('concurrentLimit');
    expect(alert).toMatchObject({ userId: 'u1', sessionId: null, severity: 'medium', count: 1 });
    expect(alert!.evidence).toEqual({ max: 2, outcome: 'evicted', evictedSessions: [oldest.id], ip: '203.0.113.0' });
  });

  it('raises it when create() is rejected, and not while under the limit', async () => {
    const { manager, alertsOf } = setup({}, { maxSessionsPerUser: 2, onLimit: 'reject' });
    await manager.create({ userId: 'u1' });
    await manager.create({ userId: 'u1' });
    expect(await alertsOf('concurrentLimit')).toEqual([]);
    await expect(manager.create({ userId: 'u1' })).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
    await expect(manager.create({ userId: 'u1' })).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
    const [alert, ...rest] = await alertsOf('concurrentLimit');
    expect(rest).toEqual([]);
    // Two rejections inside the window fold into one alert.
    expect(alert).toMatchObject({ count: 2, evidence: { outcome: 'rejected', evictedSessions: [] } });
  });
});

describe('sessionHijack', () => {
  it('raises a high alert when a token is used from another /16 within minutes, and can revoke the session', async () => {
    const { manager, clock, alertsOf } = setup({ rules: { sessionHijack: { action: 'revoke' } } });
    const { session, token } = await manager.create({ userId: 'u1', ip: '203.0.113.5', userAgent: UA.chrome131 });
    clock.advance('2m');
    const result = await manager.validate(token, { ip: '198.51.100.7', userAgent: UA.chrome131 });
    // The request itself is not failed by the rule: evaluation happens after it.
    expect(result.ok).toBe(true);
    const [alert] = await alertsOf('sessionHijack');
    expect(alert).toMatchObject({ userId: 'u1', sessionId: session.id, severity: 'high' });
    expect(alert!.evidence).toEqual({ signal: 'network', previousIp: '203.0.113.0', ip: '198.51.100.0', secondsSincePrevious: 120, action: 'revoke' });
    expect(await manager.get(session.id)).toMatchObject({ status: 'revoked', revokeReason: 'alert:sessionHijack' });
    expect(await manager.validate(token, { ip: '198.51.100.7' })).toEqual({ ok: false, reason: 'revoked' });
  });

  it('raises it when the token comes from another browser or OS', async () => {
    const { manager, alertsOf } = setup();
    const { token } = await manager.create({ userId: 'u1', ip: '203.0.113.5', userAgent: UA.chrome131 });
    await manager.validate(token, { ip: '203.0.113.5', userAgent: UA.firefoxLinux });
    const [alert] = await alertsOf('sessionHijack');
    expect(alert!.evidence).toMatchObject({ signal: 'device', expectedDevice: 'Chrome 131 on Windows 10', actualDevice: expect.stringContaining('Firefox') });
  });

  it('stays quiet for the same /16, a move after a pause, a browser update, and a request without context', async () => {
    const { manager, clock, alertsOf } = setup();
    const { token } = await manager.create({ userId: 'u1', ip: '203.0.113.5', userAgent: UA.chrome131 });
    await manager.validate(token, { ip: '203.0.200.1', userAgent: UA.chrome131 });
    await manager.validate(token, { ip: '203.0.200.1', userAgent: UA.chrome132 });
    await manager.validate(token);
    // Home to office: another network, but 20 minutes after the last use.
    clock.advance('20m');
    await manager.validate(token, { ip: '192.0.2.10', userAgent: UA.chrome132 });
    expect(await alertsOf('sessionHijack')).toEqual([]);
  });

  it('compares IPv6 addresses by /48', async () => {
    const { manager, alertsOf } = setup();
    const { token } = await manager.create({ userId: 'u1', ip: '2001:db8:aaaa:1::5' });
    await manager.validate(token, { ip: '2001:db8:aaaa:ffff::9' });
    expect(await alertsOf('sessionHijack')).toEqual([]);
    await manager.validate(token, { ip: '2001:db8:bbbb::1' });
    const [alert] = await alertsOf('sessionHijack');
    expect(alert!.evidence).toMatchObject({ signal: 'network', previousIp: '2001:db8:aaaa::', ip: '2001:db8:bbbb::' });
  });

  it("with ipPrivacy 'hash', remembers the creating request's network in memory and shows only hashed addresses", async () => {
    const { manager, alertsOf } = setup({}, { ipHashKey: 'k'.repeat(32) });
    const { session, token } = await manager.create({ userId: 'u1', ip: '203.0.113.5' });
    expect(session.ip).toMatch(/^h:/);
    await manager.validate(token, { ip: '198.51.100.7' });
    const [alert] = await alertsOf('sessionHijack');
    expect(alert!.evidence).toMatchObject({ signal: 'network', previousIp: session.ip, ip: expect.stringMatching(/^h:/) });
    expect(JSON.stringify(alert)).not.toContain('198.51');
  });

  /** A session created by one app server, then used on another over the same store after `pause`. */
  async function usedOnAnotherServer(pause: string) {
    const store = memoryStore();
    const clock = manualClock(START);
    const { token } = await createSessionManager({ store, clock: clock.now }).create({ userId: 'u1', ip: '203.0.113.5' });
    // The other server never saw this session's first request.
    const other = createSessionManager({ store, clock: clock.now });
    opened.push(other);
    clock.advance(pause);
    expect((await other.validate(token, { ip: '198.51.100.7' })).ok).toBe(true);
    await other.alerts.flush();
    return (await other.alerts.list()).items;
  }

  it('on a server that did not create the session, compares with the network of its stored address', async () => {
    const items = await usedOnAnotherServer('30s');
    expect(items.map((a) => [a.type, a.evidence.previousIp])).toEqual([['sessionHijack', '203.0.113.0']]);
  });

  it('on such a server, a move after a pause is quiet: the comparison uses when the session was last used', async () => {
    expect(await usedOnAnotherServer('20m')).toEqual([]);
  });
});

describe('revokedTokenReuse', () => {
  it('raises a high alert for a rotated-away token after the grace window, and can revoke all of the user\'s sessions', async () => {
    const { manager, clock, alertsOf } = setup({ rules: { revokedTokenReuse: { action: 'revokeAll' } } });
    const { session, token: stolen } = await manager.create({ userId: 'u1', ip: '203.0.113.5' });
    const { session: laptop } = await manager.create({ userId: 'u1' });
    await manager.rotate(stolen);
    clock.advance('31s');
    expect(await manager.validate(stolen, { ip: '198.51.100.7' })).toEqual({ ok: false, reason: 'unknown' });
    const [alert] = await alertsOf('revokedTokenReuse');
    expect(alert).toMatchObject({ userId: 'u1', sessionId: session.id, severity: 'high' });
    expect(alert!.evidence).toEqual({ token: 'rotated', rotatedAt: START, secondsSinceRotation: 31, ip: '198.51.100.0', action: 'revokeAll' });
    expect((await manager.list('u1')).length).toBe(0);
    expect(await manager.get(laptop.id)).toMatchObject({ status: 'revoked', revokeReason: 'alert:revokedTokenReuse' });
  });

  it('treats a rotated-away token inside the grace window as a request that raced the rotation', async () => {
    const { manager, clock, alertsOf } = setup();
    const { token } = await manager.create({ userId: 'u1' });
    await manager.rotate(token);
    clock.advance('30s');
    await manager.validate(token, { ip: '203.0.113.5' });
    expect(await alertsOf('revokedTokenReuse')).toEqual([]);
  });

  it('raises it for the token of a session the user logged out of, not for one signed out from elsewhere', async () => {
    const { manager, clock, alertsOf } = setup({}, { maxSessionsPerUser: 3 });
    const { session: loggedOut, token: loggedOutToken } = await manager.create({ userId: 'u1' });
    const { session: other, token: otherToken } = await manager.create({ userId: 'u1' });
    await manager.revoke(loggedOut.id, { reason: 'logout' });
    await manager.revoke(other.id);
    clock.advance('5m');
    expect(await manager.validate(otherToken)).toEqual({ ok: false, reason: 'revoked' });
    expect(await alertsOf('revokedTokenReuse')).toEqual([]);
    expect(await manager.validate(loggedOutToken, { ip: '198.51.100.7' })).toEqual({ ok: false, reason: 'revoked' });
    const [alert] = await alertsOf('revokedTokenReuse');
    expect(alert).toMatchObject({ sessionId: loggedOut.id, evidence: { token: 'revoked', revokeReason: 'logout', revokedAt: START, secondsSinceRevocation: 300, ip: '198.51.100.0' } });
  });

  it('gives a logged-out token the same grace as a rotated one: quiet within 30 s of the logout, an alert after', async () => {
    // Issue #11, attack 5: the browser's next request after "sign out" still carries the cookie.
    const { manager, clock, alertsOf } = setup({ rules: { revokedTokenReuse: { action: 'revokeAll' } } });
    const { session, token } = await manager.create({ userId: 'u1' });
    const { session: phone } = await manager.create({ userId: 'u1' });
    await manager.revoke(session.id, { reason: 'logout' });
    clock.advance('30s');
    expect(await manager.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    expect(await alertsOf('revokedTokenReuse')).toEqual([]);
    // Nobody was signed out everywhere by their own logout.
    expect(await manager.get(phone.id)).toMatchObject({ status: 'active' });
    clock.advance('1s');
    await manager.validate(token);
    expect(await alertsOf('revokedTokenReuse')).toMatchObject([{ sessionId: session.id, evidence: { token: 'revoked', secondsSinceRevocation: 31 } }]);
    expect(await manager.get(phone.id)).toMatchObject({ status: 'revoked', revokeReason: 'alert:revokedTokenReuse' });
  });

  it('applies a configured grace to both kinds of token', async () => {
    const { manager, clock, alertsOf } = setup({ rules: { revokedTokenReuse: { grace: '2m' } } });
    const { token: rotatedAway } = await manager.create({ userId: 'u1' });
    const { session, token: loggedOut } = await manager.create({ userId: 'u2' });
    await manager.rotate(rotatedAway);
    await manager.revoke(session.id, { reason: 'logout' });
    clock.advance('90s');
    await manager.validate(rotatedAway);
    await manager.validate(loggedOut);
    expect(await alertsOf('revokedTokenReuse')).toEqual([]);
    clock.advance('31s');
    await manager.validate(rotatedAway);
    await manager.validate(loggedOut);
    expect((await alertsOf('revokedTokenReuse')).map((a) => [a.userId, a.evidence.token]).sort()).toEqual([['u1', 'rotated'], ['u2', 'revoked']]);
  });
});

describe('tokenBruteForce', () => {
  it('raises one high alert, not tied to a user, once 20 unknown tokens come from one address within 5 minutes', async () => {
    const { manager, clock, alertsOf } = setup();
    for (let i = 0; i < 19; i++) {
      await manager.validate(generateToken(), { ip: '203.0.113.66' });
      clock.advance('10s');
    }
    expect(await alertsOf('tokenBruteForce')).toEqual([]);
    // Malformed tokens count as guesses too.
    expect(await manager.validate('not-a-token', { ip: '203.0.113.66' })).toEqual({ ok: false, reason: 'malformed' });
    const [first] = await alertsOf('tokenBruteForce');
    expect(first).toMatchObject({ userId: null, sessionId: null, severity: 'high', count: 1, evidence: { ip: '203.0.113.0', attempts: 20, within: '5m' } });
    // Further guesses are reported at each multiple of the threshold, folded into the same alert.
    for (let i = 0; i < 40; i++) await manager.validate(generateToken(), { ip: '203.0.113.66' });
    const [alert, ...rest] = await alertsOf('tokenBruteForce');
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({ id: first!.id, count: 3, evidence: { attempts: 60 } });
  });

  it('stays quiet for guesses spread over time or over addresses', async () => {
    const { manager, clock, alertsOf } = setup();
    for (let i = 0; i < 30; i++) {
      await manager.validate(generateToken(), { ip: '203.0.113.66' });
      clock.advance('30s');
    }
    for (let i = 0; i < 30; i++) await manager.validate(generateToken(), { ip: `198.51.${i}.1` });
    expect(await alertsOf('tokenBruteForce')).toEqual([]);
  });
});

describe('impossibleTravel', () => {
  const places: Record<string, { lat: number; lon: number; country: string; city: string }> = {
    '203.0.113.5': { lat: 52.52, lon: 13.405, country: 'DE', city: 'Berlin' },
    '198.51.100.7': { lat: 40.7128, lon: -74.006, country: 'US', city: 'New York' },
    '192.0.2.10': { lat: 48.1351, lon: 11.582, country: 'DE', city: 'Munich' },
  };
  const geo = (ip: string) => places[ip] ?? null;

  it('raises an alert when successive activity implies more than 900 km/h', async () => {
    const { manager, clock, alertsOf } = setup({ geo }, { idleTimeout: '1d' });
    const { session, token } = await manager.create({ userId: 'u1', ip: '203.0.113.5' });
    clock.advance('1h');
    await manager.validate(token, { ip: '198.51.100.7' });
    const [alert] = await alertsOf('impossibleTravel');
    expect(alert).toMatchObject({ userId: 'u1', sessionId: session.id, severity: 'medium' });
    expect(alert!.evidence).toMatchObject({ from: { country: 'DE', city: 'Berlin', ip: '203.0.113.0' }, to: { country: 'US', city: 'New York', ip: '198.51.100.0' } });
    expect(alert!.evidence.distanceKm).toBeGreaterThan(6300);
    expect(alert!.evidence.distanceKm).toBeLessThan(6450);
  });

  it('stays quiet for a plausible journey, unknown places, and without a geo resolver', async () => {
    const { manager, clock, alertsOf } = setup({ geo }, { idleTimeout: '1d' });
    const { token } = await manager.create({ userId: 'u1', ip: '203.0.113.5' });
    clock.advance('1h');
    await manager.validate(token, { ip: '192.0.2.10' }); // Berlin to Munich, ~500 km in an hour
    await manager.validate(token, { ip: '100.64.0.1' }); // not in the database
    clock.advance('10h');
    await manager.validate(token, { ip: '198.51.100.7' }); // Munich to New York in 10 hours
    expect(await alertsOf('impossibleTravel')).toEqual([]);

    const without = setup();
    const { token: t2 } = await without.manager.create({ userId: 'u1', ip: '203.0.113.5' });
    await without.manager.validate(t2, { ip: '198.51.100.7' });
    expect(await without.alertsOf('impossibleTravel')).toEqual([]);
  });

  it('is a configuration error to turn it on without geo', () => {
    expect(() => createSessionManager({ store: memoryStore(), alerts: { rules: { impossibleTravel: {} } } })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('alerts.geo') }),
    );
  });

  it('reports a failing geo resolver and carries on', async () => {
    const { manager, errors, alertsOf } = setup({
      geo: () => {
        throw new Error('geo database missing');
      },
    });
    const { token } = await manager.create({ userId: 'u1', ip: '203.0.113.5' });
    expect((await manager.validate(token, { ip: '198.51.100.7' })).ok).toBe(true);
    expect(await alertsOf('impossibleTravel')).toEqual([]);
    expect(errors.map((e) => [e.source, (e.error as Error).message])).toContainEqual(['geo resolver', 'geo database missing']);
  });
});

describe('rapidSessionCreation', () => {
  it('raises a medium alert for more than 10 sessions of one user within 10 minutes', async () => {
    const { manager, clock, alertsOf } = setup();
    for (let i = 0; i < 10; i++) {
      await manager.create({ userId: 'u1' });
      clock.advance('30s');
    }
    expect(await alertsOf('rapidSessionCreation')).toEqual([]);
    const { session } = await manager.create({ userId: 'u1' });
    const [alert] = await alertsOf('rapidSessionCreation');
    expect(alert).toMatchObject({ userId: 'u1', sessionId: session.id, severity: 'medium', evidence: { created: 11, within: '10m' } });
  });

  it('stays quiet for the same number spread over half an hour', async () => {
    const { manager, clock, alertsOf } = setup();
    for (let i = 0; i < 15; i++) {
      await manager.create({ userId: 'u1' });
      clock.advance('2m');
    }
    expect(await alertsOf('rapidSessionCreation')).toEqual([]);
  });
});

describe('tuning', () => {
  it('applies thresholds, severity and windows, and turns rules off', async () => {
    const { manager, alertsOf } = setup({
      rules: { rapidSessionCreation: { threshold: 2, severity: 'critical' }, newDevice: false },
    });
    await manager.create({ userId: 'u1', userAgent: UA.chrome131 });
    await manager.create({ userId: 'u1', userAgent: UA.iphone });
    expect(await alertsOf('rapidSessionCreation')).toEqual([]);
    await manager.create({ userId: 'u1', userAgent: UA.firefoxLinux });
    expect(await alertsOf('rapidSessionCreation')).toMatchObject([{ severity: 'critical', evidence: { created: 3 } }]);
    expect(await alertsOf('newDevice')).toEqual([]);
  });

  it('rejects unknown rules and bad settings with INVALID_CONFIG naming the field', () => {
    const bad: Array<[AlertOptions, string]> = [
      [{ rules: { nope: {} } as never }, 'alerts.rules.nope'],
      [{ rules: { tokenBruteForce: { threshold: 0 } } }, 'alerts.rules.tokenBruteForce.threshold'],
      [{ rules: { newDevice: { severity: 'urgent' as never } } }, 'alerts.rules.newDevice.severity'],
      [{ rules: { sessionHijack: { within: 'soon' as never } } }, 'alerts.rules.sessionHijack.within'],
      [{ rules: { sessionHijack: { action: 'ban' as never } } }, "alerts rule 'sessionHijack' action"],
      [{ custom: [{ type: 'newDevice', evaluate: () => null }] }, 'same type as another rule'],
      [{ custom: [{ type: 'x', events: ['login' as never], evaluate: () => null }] }, "alerts rule 'x' events"],
      [{ maxPending: 0 }, 'alerts.maxPending'],
    ];
    for (const [alerts, field] of bad) {
      let error: unknown;
      try {
        createSessionManager({ store: memoryStore(), alerts });
      } catch (err) {
        error = err;
      }
      expect(error, field).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('INVALID_CONFIG');
      expect((error as SessionError).message).toContain(field);
    }
  });
});
