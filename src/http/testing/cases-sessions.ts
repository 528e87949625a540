/** The sessions half of the HTTP adapter conformance suite: cookies, authentication and the self-service routes. */
import { describe, expect, it } from 'vitest';
import { CHROME_WINDOWS, expectCleared, expectError, Browser, SAFARI_IPHONE, SELF, SID, T0, ABSOLUTE_DEADLINE_HTTP, type ErrorBody, type HttpTestClient } from './conformance-client.js';
import type { Suite } from './suite.js';

/** Cookies: attributes, names, logout. */
export function cookieCases(suite: Suite): void {
  describe('cookies', () => {
    cookiesTests(suite);
  });
}

/** Cookie and bearer authentication, re-login, handler errors. */
export function authenticationCases(suite: Suite): void {
  describe('authentication', () => {
    authentication1(suite);
    authentication2(suite);
  });
}

/** Two devices and every self-service route. */
export function selfServiceCases(suite: Suite): void {
  describe('two devices and the self-service routes', () => {
    selfService1(suite);
    selfService2(suite);
    selfService3(suite);
    selfService4(suite);
  });
}

/** POST /:id/extend bounded by the idle window. */
export function extendBoundCases(suite: Suite): void {
  describe('POST /:id/extend is bounded by the idle window, not per call', () => {
    extendBoundTests(suite);
  });
}

// --- internal ---

/** The session's idle deadline as the routes report it, in epoch ms. */
async function deadline(app: HttpTestClient, cookie: string): Promise<number> {
  const reply = await app.get(`${SELF}/current`, { cookie });
  return Date.parse((reply.body as { session: { expiresAt: string } }).session.expiresAt);
}

function cookiesTests({ setup }: Suite): void {
  it('login sets an HttpOnly, Secure, SameSite=Lax cookie on / that expires at the absolute deadline', async () => {
    const { app, manager } = await setup();
    const reply = await app.post('/login', { ua: CHROME_WINDOWS, body: { userId: 'alice' } });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body).toEqual({ id: expect.stringMatching(/^ses_[0-9a-z]{24}$/), token: expect.stringMatching(/^skt_/) });
    const { id, token } = reply.body as { id: string; token: string };

    expect(reply.cookies).toHaveLength(1);
    const cookie = reply.cookies[0]!;
    expect(cookie.name).toBe(SID);
    expect(cookie.value).toBe(token);
    expect(cookie.attributes).toEqual({ httponly: true, secure: true, samesite: 'Lax', path: '/', expires: ABSOLUTE_DEADLINE_HTTP });
    const session = await manager.get(id);
    expect(new Date(session!.absoluteExpiresAt).toUTCString()).toBe(ABSOLUTE_DEADLINE_HTTP);
    expect(session).toMatchObject({ userId: 'alice', status: 'active' });
  });

  it('persistent: false makes a browser-session cookie (no Expires, no Max-Age)', async () => {
    const { app } = await setup({ middleware: { cookie: { persistent: false } } });
    const reply = await app.post('/login', { ua: CHROME_WINDOWS, body: { userId: 'alice' } });
    expect(reply.cookies[0]!.attributes).toEqual({ httponly: true, secure: true, samesite: 'Lax', path: '/' });
  });

  it("secure: false names the cookie sid (a __Host- cookie needs Secure); an explicit name wins; another name is not read", async () => {
    const { app } = await setup({ middleware: { cookie: { secure: false } } });
    const reply = await app.post('/login', { ua: CHROME_WINDOWS, body: { userId: 'alice' } });
    expect(reply.cookies[0]).toMatchObject({ name: 'sid', attributes: { httponly: true, samesite: 'Lax', path: '/' } });
    expect(reply.cookies[0]!.attributes).not.toHaveProperty('secure');
    const { id, token } = reply.body as { id: string; token: string };
    expect((await app.get('/protected', { cookie: `sid=${token}` })).body).toEqual({ userId: 'alice', sessionId: id });
    expectError(await app.get('/protected', { cookie: `${SID}=${token}` }), 401, 'UNAUTHENTICATED');

    const named = await setup({ middleware: { cookie: { name: 'app_session' } } });
    const namedReply = await named.app.post('/login', { ua: CHROME_WINDOWS, body: { userId: 'alice' } });
    expect(namedReply.cookies[0]).toMatchObject({ name: 'app_session', attributes: { secure: true } });
    const namedToken = (namedReply.body as { token: string }).token;
    expect((await named.app.get('/protected', { cookie: `app_session=${namedToken}` })).status).toBe(200);
    expectError(await named.app.get('/protected', { cookie: `${SID}=${namedToken}` }), 401, 'UNAUTHENTICATED');
  });

  it('the default __Host-sid cookie is Secure on Path=/ without Domain, and a cookie named sid is not read', async () => {
    const { app } = await setup();
    const reply = await app.post('/login', { ua: CHROME_WINDOWS, body: { userId: 'alice' } });
    const cookie = reply.cookies[0]!;
    expect(cookie.name).toBe('__Host-sid');
    expect(cookie.attributes).toMatchObject({ secure: true, path: '/' });
    expect(cookie.attributes).not.toHaveProperty('domain');
    const { id, token } = reply.body as { id: string; token: string };
    expect((await app.get('/protected', { cookie: `__Host-sid=${token}` })).body).toEqual({ userId: 'alice', sessionId: id });
    expectError(await app.get('/protected', { cookie: `sid=${token}` }), 401, 'UNAUTHENTICATED');
  });

  it('logout answers 204 with no-store, clears the cookie, and the token stops working', async () => {
    const { app, manager } = await setup();
    const { id, token, cookie } = await app.login('alice', CHROME_WINDOWS);

    const reply = await app.post('/logout', { cookie });
    expect(reply.status).toBe(204);
    expect(reply.text).toBe('');
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expectCleared(reply, SID);
    expect(await manager.get(id)).toMatchObject({ status: 'revoked', revokeReason: 'logout' });

    expectError(await app.get('/protected', { cookie }), 401, 'UNAUTHENTICATED');
    expectError(await app.get('/protected', { bearer: token }), 401, 'UNAUTHENTICATED');
  });

  it('logout without a session still answers 204 and clears the cookie', async () => {
    const { app } = await setup();
    const reply = await app.post('/logout');
    expect(reply.status).toBe(204);
    expectCleared(reply, SID);
  });
}

function authentication1({ setup }: Suite): void {
  it('the protected route answers 401 UNAUTHENTICATED without a session and 200 with one', async () => {
    const { app } = await setup();
    const anonymous = await app.get('/protected');
    expectError(anonymous, 401, 'UNAUTHENTICATED');
    expect(anonymous.cookies).toEqual([]); // nothing to clear: no cookie was sent

    const { id, cookie } = await app.login('alice', CHROME_WINDOWS);
    const reply = await app.get('/protected', { cookie });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ userId: 'alice', sessionId: id });
    expect(reply.cookies).toEqual([]);
  });

  it('the public route sees the session when there is one and answers either way', async () => {
    const { app } = await setup();
    const anonymous = await app.get('/public');
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toEqual({ sessionId: null });
    const { id, cookie } = await app.login('alice', CHROME_WINDOWS);
    expect((await app.get('/public', { cookie })).body).toEqual({ sessionId: id });
  });

  it('a bearer token works, and wins over a cookie of another session', async () => {
    const { app } = await setup();
    const alice = await app.login('alice', CHROME_WINDOWS);
    const bob = await app.login('bob', SAFARI_IPHONE);

    const bearer = await app.get('/protected', { bearer: alice.token });
    expect(bearer.status).toBe(200);
    expect(bearer.body).toEqual({ userId: 'alice', sessionId: alice.id });

    const both = await app.get('/protected', { bearer: alice.token, cookie: bob.cookie });
    expect(both.status).toBe(200);
    expect(both.body).toEqual({ userId: 'alice', sessionId: alice.id });

    // The bearer token is the one that counts even when it is wrong; the cookie is left alone.
    const wrongBearer = await app.get('/protected', { bearer: 'skt_notavalidtoken', cookie: bob.cookie });
    expectError(wrongBearer, 401, 'UNAUTHENTICATED');
    expect(wrongBearer.cookies).toEqual([]);
  });

  it('the session cookie is found among other cookies; the bearer scheme is case-insensitive; a huge or non-bearer Authorization is no session', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    expect((await app.get('/protected', { cookie: `theme=dark; ${a.cookie}; lang=en` })).body).toEqual({ userId: 'alice', sessionId: a.id });
    expect((await app.get('/protected', { headers: { authorization: `bearer ${a.token}` } })).status).toBe(200);
    expectError(await app.get('/protected', { bearer: `skt_${'x'.repeat(5000)}` }), 401, 'UNAUTHENTICATED');
    expectError(await app.get('/protected', { headers: { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` } }), 401, 'UNAUTHENTICATED');
  });

  it('cookie: false is bearer only: login sets no cookie, a cookie is not read', async () => {
    const { app } = await setup({ middleware: { cookie: false } });
    const reply = await app.post('/login', { ua: CHROME_WINDOWS, body: { userId: 'alice' } });
    expect(reply.status).toBe(200);
    expect(reply.cookies).toEqual([]);
    const { id, token } = reply.body as { id: string; token: string };
    expect((await app.get('/protected', { bearer: token })).body).toEqual({ userId: 'alice', sessionId: id });
    const viaCookie = await app.get('/protected', { cookie: `${SID}=${token}` });
    expectError(viaCookie, 401, 'UNAUTHENTICATED');
    expect(viaCookie.cookies).toEqual([]);
    expect((await app.post('/logout', { bearer: token })).cookies).toEqual([]);
    expectError(await app.get('/protected', { bearer: token }), 401, 'UNAUTHENTICATED');
  });

  it('bearer: false ignores Authorization and reads the cookie', async () => {
    const { app } = await setup({ middleware: { bearer: false } });
    const alice = await app.login('alice', CHROME_WINDOWS);
    const bob = await app.login('bob', SAFARI_IPHONE);
    expectError(await app.get('/protected', { bearer: alice.token }), 401, 'UNAUTHENTICATED');
    expect((await app.get('/protected', { bearer: alice.token, cookie: bob.cookie })).body).toEqual({ userId: 'bob', sessionId: bob.id });
  });
}

function authentication2({ setup }: Suite): void {
  it('a login over an existing session replaces it (no session fixation)', async () => {
    const { app, manager } = await setup();
    const first = await app.login('alice', CHROME_WINDOWS);
    const second = await app.post('/login', { cookie: first.cookie, ua: CHROME_WINDOWS, body: { userId: 'alice' } });
    expect(second.status).toBe(200);
    expect(await manager.get(first.id)).toMatchObject({ status: 'revoked', revokeReason: 'relogin' });
    expectError(await app.get('/protected', { cookie: first.cookie }), 401, 'UNAUTHENTICATED');
  });

  it('an error thrown in a handler is the JSON error shape (login without a userId or with malformed JSON is 400)', async () => {
    const { app } = await setup();
    expectError(await app.post('/login', { ua: CHROME_WINDOWS, body: {} }), 400, 'INVALID_ARGUMENT');
    expectError(await app.post('/rotate'), 401, 'UNAUTHENTICATED');
    expectError(await app.post('/login', { ua: CHROME_WINDOWS, rawBody: '{"userId":' }), 400, 'INVALID_BODY');
  });
}

function selfService1({ setup }: Suite): void {
  it('lists both devices of the user, the requesting one flagged current, with device labels and classes', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    const b = await app.login('alice', SAFARI_IPHONE);
    await app.login('carol', CHROME_WINDOWS); // another user's session is never listed

    const reply = await app.get(SELF, { cookie: a.cookie, ua: CHROME_WINDOWS });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const { sessions } = reply.body as { sessions: Array<{ id: string }> };
    expect(sessions).toHaveLength(2);
    const times = {
      status: 'active',
      ip: '127.0.0.0', // the default ipPrivacy keeps the /24
      createdAt: T0,
      lastActiveAt: T0,
      expiresAt: '2030-01-01T00:30:00.000Z',
      absoluteExpiresAt: '2030-01-08T00:00:00.000Z',
    };
    expect(sessions.find((s) => s.id === a.id)).toEqual({
      id: a.id,
      current: true,
      device: { label: 'Chrome 131 on Windows 10', class: 'desktop', browser: 'Chrome', os: 'Windows' },
      ...times,
    });
    expect(sessions.find((s) => s.id === b.id)).toEqual({
      id: b.id,
      current: false,
      device: { label: 'Safari on iPhone', class: 'mobile', browser: 'Safari', os: 'iOS' },
      ...times,
    });

    // From B, B is the current one.
    const fromB = (await app.get(SELF, { cookie: b.cookie, ua: SAFARI_IPHONE })).body as { sessions: Array<{ id: string; current: boolean }> };
    expect(fromB.sessions.filter((s) => s.current).map((s) => s.id)).toEqual([b.id]);
  });

  it('revoke-others from A revokes B: B gets 401 and its cookie cleared, A keeps working', async () => {
    const { app, manager } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    const b = await app.login('alice', SAFARI_IPHONE);

    const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, ua: CHROME_WINDOWS });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body).toEqual({ revoked: 1 });
    expect(await manager.get(b.id)).toMatchObject({ status: 'revoked', revokeReason: 'revoked_by_user' });

    const bReply = await app.get('/protected', { cookie: b.cookie, ua: SAFARI_IPHONE });
    expectError(bReply, 401, 'UNAUTHENTICATED');
    expectCleared(bReply, SID);

    expect((await app.get('/protected', { cookie: a.cookie, ua: CHROME_WINDOWS })).status).toBe(200);
    const list = (await app.get(SELF, { cookie: a.cookie })).body as { sessions: Array<{ id: string }> };
    expect(list.sessions.map((s) => s.id)).toEqual([a.id]);
  });
}

function selfService2({ setup }: Suite): void {
  it('DELETE /:id revokes my other session; another user\'s id is 404, a malformed id 400', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    const b = await app.login('alice', SAFARI_IPHONE);
    const carol = await app.login('carol', CHROME_WINDOWS);

    const reply = await app.delete(`${SELF}/${b.id}`, { cookie: a.cookie });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body).toMatchObject({ session: { id: b.id, status: 'revoked', current: false } });
    expectError(await app.get('/protected', { cookie: b.cookie }), 401, 'UNAUTHENTICATED');

    const foreign = await app.delete(`${SELF}/${carol.id}`, { cookie: a.cookie });
    expectError(foreign, 404, 'SESSION_NOT_FOUND');
    const missing = await app.delete(`${SELF}/ses_${'0'.repeat(24)}`, { cookie: a.cookie });
    expectError(missing, 404, 'SESSION_NOT_FOUND');
    // Someone else's session and no session at all read the same, apart from the id.
    expect((foreign.body as ErrorBody).error.message.replace(carol.id, 'X')).toBe((missing.body as ErrorBody).error.message.replace(`ses_${'0'.repeat(24)}`, 'X'));
    expect((await app.get('/protected', { cookie: carol.cookie })).status).toBe(200);

    expectError(await app.delete(`${SELF}/not-a-session-id`, { cookie: a.cookie }), 400, 'INVALID_ARGUMENT');
  });

  it('DELETE of my own current session signs me out like logout: the cookie is cleared with no-store, the browser sends none next, and no revokedTokenReuse alert is raised', async () => {
    const { app, manager, server, clock } = await setup();
    const browser = new Browser(app, server.url, CHROME_WINDOWS);
    const signIn = await browser.send('POST', '/login', { body: { userId: 'alice' } });
    const { id, token } = signIn.body as { id: string; token: string };
    expect(browser.cookieHeader).toBe(`${SID}=${token}`);

    const reply = await browser.send('DELETE', `${SELF}/${id}`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body).toMatchObject({ session: { id, status: 'revoked', current: true } });
    expectCleared(reply, SID);
    expect(await manager.get(id)).toMatchObject({ status: 'revoked', revokeReason: 'logout' });

    expect(browser.cookieHeader).toBeNull();
    expect((await browser.send('GET', '/public')).body).toEqual({ sessionId: null });
    await manager.alerts.flush();
    expect((await manager.alerts.list({ userId: 'alice' })).items).toEqual([]);

    // The rule is watching: the same token presented later, by someone who kept it, is reported.
    clock.advance('5m');
    expectError(await app.get('/protected', { cookie: `${SID}=${token}` }), 401, 'UNAUTHENTICATED');
    await manager.alerts.flush();
    expect((await manager.alerts.list({ userId: 'alice' })).items.map((alert) => alert.type)).toEqual(['revokedTokenReuse']);
  });

  it('DELETE of my own session by bearer token sets no cookie; DELETE of another of my sessions clears none', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    const b = await app.login('alice', SAFARI_IPHONE);
    const other = await app.delete(`${SELF}/${b.id}`, { cookie: a.cookie });
    expect(other.status).toBe(200);
    expect(other.cookies).toEqual([]);
    const own = await app.delete(`${SELF}/${a.id}`, { bearer: a.token });
    expect(own.status).toBe(200);
    expect(own.headers.get('cache-control')).toBe('no-store');
    expect(own.cookies).toEqual([]);
    expectError(await app.get('/protected', { bearer: a.token }), 401, 'UNAUTHENTICATED');
  });
}

function selfService3({ setup }: Suite): void {
  it('POST /:id/extend moves the idle deadline by at most maxExtend and validates its body', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    const carol = await app.login('carol', CHROME_WINDOWS);

    const reply = await app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, body: { by: '30m' } });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body).toMatchObject({ session: { id: a.id, current: true, expiresAt: '2030-01-01T01:00:00.000Z' } });

    expectError(await app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, body: { by: '2d' } }), 400, 'INVALID_ARGUMENT');
    expectError(await app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, body: { by: 'soon' } }), 400, 'INVALID_ARGUMENT');
    expectError(await app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, body: {} }), 400, 'INVALID_ARGUMENT');
    expectError(await app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, rawBody: '{"by":' }), 400, 'INVALID_BODY');
    expectError(await app.post(`${SELF}/${carol.id}/extend`, { cookie: a.cookie, body: { by: '30m' } }), 404, 'SESSION_NOT_FOUND');

    // Nothing above moved it.
    const current = (await app.get(`${SELF}/current`, { cookie: a.cookie })).body as { session: { expiresAt: string } };
    expect(current.session.expiresAt).toBe('2030-01-01T01:00:00.000Z');
  });

  it('the routes option reaches the routes: maxExtend 2h allows 90 minutes', async () => {
    const { app } = await setup({ routes: { maxExtend: '2h' } });
    const a = await app.login('alice', CHROME_WINDOWS);
    const reply = await app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, body: { by: '90m' } });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ session: { expiresAt: '2030-01-01T02:00:00.000Z' } });
    expectError(await app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, body: { by: '3h' } }), 400, 'INVALID_ARGUMENT');
  });

  it('GET /current, /statistics, /activity and /alerts answer with their shapes; bad paging is 400', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    await app.login('alice', SAFARI_IPHONE);

    const current = await app.get(`${SELF}/current`, { cookie: a.cookie });
    expect(current.status).toBe(200);
    expect(current.headers.get('cache-control')).toBe('no-store');
    expect(current.body).toEqual({
      session: expect.objectContaining({ id: a.id, current: true, status: 'active', device: expect.objectContaining({ class: 'desktop' }) }),
    });

    const stats = await app.get(`${SELF}/statistics`, { cookie: a.cookie });
    expect(stats.status).toBe(200);
    expect(stats.headers.get('cache-control')).toBe('no-store');
    expect(stats.body).toMatchObject({ total: 2, active: 2, expired: 0, revoked: 0, recent24h: 2, byDeviceClass: { desktop: 1, mobile: 1 } });
    expect((stats.body as { byHour: number[] }).byHour).toHaveLength(24);
    expect((stats.body as { byHour: number[] }).byHour[0]).toBe(2);

    for (const path of [`${SELF}/activity`, `${SELF}/alerts`, `${SELF}/activity?limit=5`, `${SELF}/alerts?limit=100`]) {
      const page = await app.get(path, { cookie: a.cookie });
      expect(page.status, path).toBe(200);
      expect(page.headers.get('cache-control'), path).toBe('no-store');
      expect(page.body, path).toEqual({ items: expect.any(Array), nextCursor: null });
    }

    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'limit=-1', 'limit=1.5']) {
      expectError(await app.get(`${SELF}/activity?${query}`, { cookie: a.cookie }), 400, 'INVALID_ARGUMENT');
      expectError(await app.get(`${SELF}/alerts?${query}`, { cookie: a.cookie }), 400, 'INVALID_ARGUMENT');
    }
    expectError(await app.get(`${SELF}/activity?cursor=`, { cookie: a.cookie }), 400, 'INVALID_ARGUMENT');
  });
}

function selfService4({ setup }: Suite): void {
  it('every self-service route answers 401 without a session', async () => {
    const { app } = await setup();
    const id = `ses_${'0'.repeat(24)}`;
    for (const [method, path] of [
      ['GET', SELF],
      ['GET', `${SELF}/current`],
      ['GET', `${SELF}/statistics`],
      ['GET', `${SELF}/activity`],
      ['GET', `${SELF}/alerts`],
      ['POST', `${SELF}/revoke-others`],
      ['DELETE', `${SELF}/${id}`],
      ['POST', `${SELF}/${id}/extend`],
    ] as const) {
      expectError(await app.send(method, path, { cookie: `${SID}=garbage` }), 401, 'UNAUTHENTICATED');
    }
  });
}

function extendBoundTests({ setup }: Suite): void {
  it("ten POST /:id/extend { by: '1h' } leave expiresAt at most now + max(idleTimeout, maxExtend)", async () => {
    const { app, clock } = await setup(); // idleTimeout 30m, maxExtend 1h
    const a = await app.login('alice', CHROME_WINDOWS);
    clock.advance('5m');
    const now = clock.now().getTime();
    for (let i = 0; i < 10; i++) {
      const reply = await app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, body: { by: '1h' } });
      expect(reply.status, `extend #${i + 1}`).toBe(200);
    }
    expect(await deadline(app, a.cookie)).toBe(now + 60 * 60_000);
  });

  it('ten parallel extends stop at the same bound; an idleTimeout longer than maxExtend is the bound', async () => {
    const { app, clock } = await setup({ manager: { idleTimeout: '2h' }, routes: { maxExtend: '30m' } });
    const a = await app.login('alice', CHROME_WINDOWS);
    clock.advance('10m');
    const now = clock.now().getTime();
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, body: { by: '30m' } })),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (const reply of replies) {
      expect(Date.parse((reply.body as { session: { expiresAt: string } }).session.expiresAt)).toBeLessThanOrEqual(now + 2 * 60 * 60_000);
    }
    expect(await deadline(app, a.cookie)).toBe(now + 2 * 60 * 60_000);
  });
}
