/** Rotation, expiry, hostile input, cookie tossing and activity tracking, for the HTTP adapter conformance suite. */
import { describe, expect, it, vi } from 'vitest';
import { CHROME_WINDOWS, expectCleared, expectError, SAFARI_IPHONE, SELF, SID, T0, ABSOLUTE_DEADLINE_HTTP } from './conformance-client.js';
import type { Suite } from './suite.js';

/** Rotation, expiry and hostile input. */
export function hostileInputCases(suite: Suite): void {
  describe('rotation, expiry and hostile input', () => {
    hostile1(suite);
    hostile2(suite);
  });
}

/** Several cookies of the session cookie's name. */
export function cookieTossingCases(suite: Suite): void {
  describe('cookie tossing: several cookies of the session cookie\'s name', () => {
    tossingTests(suite);
  });
}

/** Activity tracking. */
export function trackingCases(suite: Suite): void {
  describe('activity tracking', () => {
    trackingTests(suite);
  });
}

// --- internal ---

// A name that a sibling subdomain or a plain-http page could plant beside the real cookie; the
// default __Host- name cannot be planted so, but the request must be safe either way.
const TOSSABLE = { middleware: { cookie: { secure: false } } } as const;

function hostile1({ setup }: Suite): void {
  it('rotate: the new cookie works and the old one is refused and cleared', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);

    const reply = await app.post('/rotate', { cookie: a.cookie, ua: CHROME_WINDOWS });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const { id, token } = reply.body as { id: string; token: string };
    expect(id).toBe(a.id);
    expect(token).not.toBe(a.token);
    expect(reply.cookies).toHaveLength(1);
    expect(reply.cookies[0]).toMatchObject({ name: SID, value: token, attributes: { httponly: true, secure: true, samesite: 'Lax', path: '/', expires: ABSOLUTE_DEADLINE_HTTP } });

    const fresh = await app.get('/protected', { cookie: `${SID}=${token}` });
    expect(fresh.status).toBe(200);
    expect(fresh.body).toEqual({ userId: 'alice', sessionId: a.id });

    const stale = await app.get('/protected', { cookie: a.cookie });
    expectError(stale, 401, 'UNAUTHENTICATED');
    expectCleared(stale, SID);
  });

  it('rotate over a bearer token returns the new token and sets no cookie', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    const reply = await app.post('/rotate', { bearer: a.token });
    expect(reply.status).toBe(200);
    expect(reply.cookies).toEqual([]);
    const { token } = reply.body as { token: string };
    expect((await app.get('/protected', { bearer: token })).status).toBe(200);
    expectError(await app.get('/protected', { bearer: a.token }), 401, 'UNAUTHENTICATED');
  });

  it('a session past its idle timeout is 401 and its cookie is cleared', async () => {
    const { app, clock } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    clock.advance('29m');
    expect((await app.get('/protected', { cookie: a.cookie })).status).toBe(200);
    clock.advance('31m'); // the request above was after touchInterval: the deadline slid to 59m
    const reply = await app.get('/protected', { cookie: a.cookie });
    expectError(reply, 401, 'UNAUTHENTICATED');
    expectCleared(reply, SID);
  });

  it('a garbage cookie is 401 and cleared; on a public route it is simply no session (and cleared)', async () => {
    const { app } = await setup();
    const reply = await app.get('/protected', { cookie: `${SID}=garbage` });
    expectError(reply, 401, 'UNAUTHENTICATED');
    expectCleared(reply, SID);

    const pub = await app.get('/public', { cookie: `${SID}=garbage` });
    expect(pub.status).toBe(200);
    expect(pub.body).toEqual({ sessionId: null });
    expectCleared(pub, SID);

    // Other cookies are not ours to clear.
    const other = await app.get('/protected', { cookie: 'theme=dark' });
    expectError(other, 401, 'UNAUTHENTICATED');
    expect(other.cookies).toEqual([]);
  });

  it('a Cookie header over 8 KiB is ignored, not parsed (401), and the server keeps working', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    const reply = await app.get('/protected', { cookie: `${a.cookie}; pad=${'x'.repeat(8200)}` });
    expectError(reply, 401, 'UNAUTHENTICATED');
    expect((await app.get('/protected', { cookie: a.cookie })).status).toBe(200);
  });
}

function hostile2({ setup }: Suite): void {
  it("headers beyond Node's limit get 431 from the server, which keeps serving", async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    const reply = await app.get('/protected', { cookie: a.cookie, headers: { 'x-padding': 'x'.repeat(20_000) } });
    expect(reply.status).toBe(431);
    const after = await app.get('/protected', { cookie: a.cookie });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ userId: 'alice' });
  });
}

function tossingTests({ setup }: Suite): void {
  it('two cookies of two live sessions are ambiguous: no session, nothing cleared, and nothing about the visitor reaches the planted account', async () => {
    const { app, manager } = await setup(TOSSABLE);
    const mallory = await app.login('mallory', SAFARI_IPHONE);
    const alice = await app.login('alice', CHROME_WINDOWS);
    for (const cookie of [`${mallory.cookie}; ${alice.cookie}`, `${alice.cookie}; ${mallory.cookie}`, `theme=dark; ${mallory.cookie}; lang=en; ${alice.cookie}`]) {
      const pub = await app.get('/public', { cookie, ua: CHROME_WINDOWS });
      expect(pub.body, cookie).toEqual({ sessionId: null });
      expect(pub.cookies, cookie).toEqual([]);
      expectError(await app.get('/protected', { cookie, ua: CHROME_WINDOWS }), 401, 'UNAUTHENTICATED');
      expectError(await app.post('/rotate', { cookie, ua: CHROME_WINDOWS }), 401, 'UNAUTHENTICATED');
    }
    await manager.alerts.flush();
    // Validating mallory's token with alice's browser would have put alice's device into a
    // sessionHijack alert on mallory's account, which mallory can read.
    expect((await manager.alerts.list({ userId: 'mallory' })).items).toEqual([]);
    expect(await manager.get(mallory.id)).toMatchObject({ status: 'active' });
    expect((await app.get('/protected', { cookie: alice.cookie, ua: CHROME_WINDOWS })).body).toEqual({ userId: 'alice', sessionId: alice.id });
  });

  it('of several session cookies the one that validates is used: a planted garbage, unknown or revoked token changes nothing', async () => {
    const { app, manager } = await setup(TOSSABLE);
    const alice = await app.login('alice', CHROME_WINDOWS);
    const mallory = await app.login('mallory', CHROME_WINDOWS);
    await manager.revoke(mallory.id, { reason: 'revoked_by_user' });
    for (const planted of ['sid=garbage', `sid=skt_${'A'.repeat(32)}`, mallory.cookie, 'sid=']) {
      for (const cookie of [`${planted}; ${alice.cookie}`, `${alice.cookie}; ${planted}`, `${planted}; ${alice.cookie}; ${alice.cookie}`]) {
        const reply = await app.get('/protected', { cookie });
        expect(reply.body, cookie).toEqual({ userId: 'alice', sessionId: alice.id });
        expect(reply.cookies, cookie).toEqual([]);
      }
    }
  });

  it('none of several session cookies validates: no session, and the cookie is cleared', async () => {
    const { app, manager } = await setup(TOSSABLE);
    const mallory = await app.login('mallory', CHROME_WINDOWS);
    await manager.revoke(mallory.id, { reason: 'revoked_by_user' });
    for (const cookie of [`sid=garbage; ${mallory.cookie}`, 'sid=garbage; sid=other', `${mallory.cookie}; sid=skt_${'A'.repeat(32)}`]) {
      const reply = await app.get('/public', { cookie });
      expect(reply.body, cookie).toEqual({ sessionId: null });
      expectCleared(reply, 'sid');
    }
  });

  it('more than four session cookies: no session, without validating any (nothing touched, nothing cleared); four are still tried', async () => {
    const { app, manager, clock } = await setup(TOSSABLE);
    const alice = await app.login('alice', CHROME_WINDOWS);
    clock.advance('5m'); // past touchInterval: a validation would move lastActiveAt
    const planted = [`sid=skt_${'A'.repeat(32)}`, `sid=skt_${'B'.repeat(32)}`, `sid=skt_${'C'.repeat(32)}`, `sid=skt_${'D'.repeat(32)}`];

    const five = await app.get('/public', { cookie: [alice.cookie, ...planted].join('; ') });
    expect(five.body).toEqual({ sessionId: null });
    expect(five.cookies).toEqual([]);
    expect((await manager.get(alice.id))!.lastActiveAt).toBe(Date.parse(T0));

    const four = await app.get('/public', { cookie: [...planted.slice(1), alice.cookie].join('; ') });
    expect(four.body).toEqual({ sessionId: alice.id });
    expect((await manager.get(alice.id))!.lastActiveAt).toBe(Date.parse(T0) + 5 * 60_000);
  });
}

function trackingTests({ setup }: Suite): void {
  it('track: true records each request of a session after the response: method, route, status, duration', async () => {
    const { app, manager } = await setup({ middleware: { track: true } });
    const a = await app.login('alice', CHROME_WINDOWS);
    expect((await app.get('/protected', { cookie: a.cookie })).status).toBe(200);
    expect((await app.get(`${SELF}/activity?limit=0`, { cookie: a.cookie })).status).toBe(400);
    await app.get('/protected'); // no session: nothing to record

    const rows = await vi.waitFor(async () => {
      await manager.activity.flush();
      const page = await manager.activity.list({ sessionId: a.id });
      expect(page.items.some((row) => row.status === 400)).toBe(true);
      return page.items;
    });
    const protectedRow = rows.find((row) => row.path === '/protected');
    expect(protectedRow).toMatchObject({ sessionId: a.id, userId: 'alice', method: 'GET', path: '/protected', status: 200 });
    expect(protectedRow!.durationMs).toEqual(expect.any(Number));
    expect(protectedRow!.durationMs).toBeGreaterThanOrEqual(0);
    expect(rows.find((row) => row.status === 400)).toMatchObject({ method: 'GET', path: expect.stringMatching(/^\/api\/v1\/me\/sessions\/activity/) });
    // The query string is dropped (not in allowQueryParams) and no token reaches a row.
    expect(JSON.stringify(rows)).not.toContain('limit=0');
    expect(JSON.stringify(rows)).not.toContain(a.token);
  });

  it('without track nothing is recorded', async () => {
    const { app, manager } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    expect((await app.get('/protected', { cookie: a.cookie })).status).toBe(200);
    await manager.activity.flush();
    expect((await manager.activity.list({ sessionId: a.id })).items).toEqual([]);
  });
}
