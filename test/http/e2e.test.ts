import { request as httpsRequest } from 'node:https';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, type SessionManagerOptions, type SessionManager, type SessionStore } from '../../src/index.js';
import type { SelfServiceOptions, SessionHttpOptions } from '../../src/http/index.js';
import { manualClock, type ManualClock } from '../../src/testing/index.js';
import { frameworks, testCertificate, type TestCertificate, type TestServer } from './servers.js';

// The same app on every framework in ./servers.ts, over real HTTP on 127.0.0.1, with Node's fetch.
// fetch keeps no cookies: each "browser" is a variable holding its Cookie header.

const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

const T0 = '2030-01-01T00:00:00.000Z';
/** T0 + the default absoluteTimeout (7 days), as a cookie's Expires attribute. */
const ABSOLUTE_DEADLINE_HTTP = 'Tue, 08 Jan 2030 00:00:00 GMT';
const EVIL = 'https://evil.example';
/** The session cookie's default name (with the default `secure: true`). */
const SID = '__Host-sid';
const SELF = '/api/v1/me/sessions';

describe.each(frameworks)('HTTP end to end over $name', (framework) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A manager on a memory store (or the given one) at T0 on a manual clock, and the app serving it. */
  async function setup(
    options: {
      middleware?: SessionHttpOptions;
      routes?: SelfServiceOptions;
      store?: SessionStore;
      manager?: Partial<SessionManagerOptions>;
      tls?: TestCertificate;
    } = {},
  ): Promise<{ manager: SessionManager; server: TestServer; clock: ManualClock; app: App }> {
    const clock = manualClock(T0);
    const manager = createSessionManager({ store: options.store ?? memoryStore(), clock: clock.now, ...options.manager });
    const server = await framework.start(manager, { middleware: options.middleware, routes: options.routes, tls: options.tls });
    cleanups.push(async () => {
      await server.close();
      await manager.close().catch(() => {});
    });
    return { manager, server, clock, app: new App(server) };
  }

  describe('cookies', () => {
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
  });

  describe('authentication', () => {
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
  });

  describe('two devices and the self-service routes', () => {
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
  });

  describe('POST /:id/extend is bounded by the idle window, not per call', () => {
    /** The session's idle deadline as the routes report it, in epoch ms. */
    async function deadline(app: App, cookie: string): Promise<number> {
      const reply = await app.get(`${SELF}/current`, { cookie });
      return Date.parse((reply.body as { session: { expiresAt: string } }).session.expiresAt);
    }

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
  });

  describe('rotation, expiry and hostile input', () => {
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

    it("headers beyond Node's limit get 431 from the server, which keeps serving", async () => {
      const { app } = await setup();
      const a = await app.login('alice', CHROME_WINDOWS);
      const reply = await app.get('/protected', { cookie: a.cookie, headers: { 'x-padding': 'x'.repeat(20_000) } });
      expect(reply.status).toBe(431);
      const after = await app.get('/protected', { cookie: a.cookie });
      expect(after.status).toBe(200);
      expect(after.body).toMatchObject({ userId: 'alice' });
    });
  });

  describe('CSRF: cookie-authenticated state changes need an allowed origin', () => {
    it('a foreign Origin is 403 FORBIDDEN_ORIGIN and revokes nothing', async () => {
      const { app, manager } = await setup();
      const a = await app.login('alice', CHROME_WINDOWS);
      const b = await app.login('alice', SAFARI_IPHONE);

      const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: EVIL });
      expectError(reply, 403, 'FORBIDDEN_ORIGIN');
      expectError(await app.delete(`${SELF}/${b.id}`, { cookie: a.cookie, origin: EVIL }), 403, 'FORBIDDEN_ORIGIN');
      expectError(await app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, origin: EVIL, body: { by: '30m' } }), 403, 'FORBIDDEN_ORIGIN');
      // An opaque origin (sandboxed iframe, data: URL) is no better.
      expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: 'null' }), 403, 'FORBIDDEN_ORIGIN');

      expect(await manager.get(b.id)).toMatchObject({ status: 'active' });
      expect(await manager.get(a.id)).toMatchObject({ expiresAt: Date.parse('2030-01-01T00:30:00.000Z') });
      expect((await app.get('/protected', { cookie: b.cookie })).status).toBe(200);
      // Reading is not a state change.
      expect((await app.get(SELF, { cookie: a.cookie, origin: EVIL })).status).toBe(200);
    });

    it('Sec-Fetch-Site: cross-site without an Origin is 403; same-origin passes', async () => {
      const { app } = await setup();
      const a = await app.login('alice', CHROME_WINDOWS);
      await app.login('alice', SAFARI_IPHONE);
      for (const site of ['cross-site', 'same-site']) {
        const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, headers: { 'sec-fetch-site': site } });
        expectError(reply, 403, 'FORBIDDEN_ORIGIN');
      }
      const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, headers: { 'sec-fetch-site': 'same-origin' } });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ revoked: 1 });
    });

    it("the server's own origin passes", async () => {
      const { app, server } = await setup();
      const a = await app.login('alice', CHROME_WINDOWS);
      await app.login('alice', SAFARI_IPHONE);
      const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: server.url, headers: { 'sec-fetch-site': 'same-origin' } });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ revoked: 1 });
    });

    it('an Origin listed in allowedOrigins passes, others are refused', async () => {
      const { app } = await setup({ middleware: { allowedOrigins: ['https://app.example'] } });
      const a = await app.login('alice', CHROME_WINDOWS);
      await app.login('alice', SAFARI_IPHONE);
      expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: EVIL }), 403, 'FORBIDDEN_ORIGIN');
      expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: 'https://app.example:8443' }), 403, 'FORBIDDEN_ORIGIN');
      const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: 'https://app.example' });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ revoked: 1 });
    });

    it("with allowedOrigins the server's own origin still passes (own origin, or one of allowedOrigins)", async () => {
      const { app, server } = await setup({ middleware: { allowedOrigins: ['https://app.example'] } });
      const a = await app.login('alice', CHROME_WINDOWS);
      await app.login('alice', SAFARI_IPHONE);
      const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: server.url });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ revoked: 1 });
    });

    it('a bearer-authenticated request is exempt: a foreign Origin passes', async () => {
      const { app } = await setup();
      const a = await app.login('alice', CHROME_WINDOWS);
      await app.login('alice', SAFARI_IPHONE);
      const reply = await app.post(`${SELF}/revoke-others`, { bearer: a.token, origin: EVIL, headers: { 'sec-fetch-site': 'cross-site' } });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ revoked: 1 });
    });

    it("the app's own state-changing routes are checked too: a foreign Origin on a cookie POST is 403 and changes nothing", async () => {
      const { app, manager } = await setup();
      const a = await app.login('alice', CHROME_WINDOWS);

      const logout = await app.post('/logout', { cookie: a.cookie, origin: EVIL });
      expectError(logout, 403, 'FORBIDDEN_ORIGIN');
      expect(logout.cookies).toEqual([]);
      expectError(await app.post('/rotate', { cookie: a.cookie, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'FORBIDDEN_ORIGIN');
      // A login over the cookie's session would revoke it: refused as well.
      expectError(await app.post('/login', { cookie: a.cookie, origin: EVIL, body: { userId: 'mallory' } }), 403, 'FORBIDDEN_ORIGIN');
      expect(await manager.get(a.id)).toMatchObject({ status: 'active' });
      expect((await app.get('/protected', { cookie: a.cookie })).body).toEqual({ userId: 'alice', sessionId: a.id });

      // Reading is not a state change; a bearer token is exempt; so is a request the cookie did not authenticate.
      expect((await app.get('/protected', { cookie: a.cookie, origin: EVIL })).status).toBe(200);
      expect((await app.post('/rotate', { bearer: a.token, origin: EVIL })).status).toBe(200);
      const garbage = await app.post('/logout', { cookie: `${SID}=garbage`, origin: EVIL });
      expect(garbage.status).toBe(204);
      expectCleared(garbage, SID);
    });

    it('login CSRF: a cross-site sign-in POST is 403 FORBIDDEN_ORIGIN, with no cookie and no session created', async () => {
      const { app, manager } = await setup();
      for (const cross of [{ origin: EVIL }, { origin: 'null' }, { headers: { 'sec-fetch-site': 'cross-site' } }, { headers: { 'sec-fetch-site': 'same-site' } }]) {
        const reply = await app.post('/login', { ...cross, ua: CHROME_WINDOWS, body: { userId: 'mallory' } });
        expectError(reply, 403, 'FORBIDDEN_ORIGIN');
        expect(reply.cookies).toEqual([]);
      }
      expect((await manager.stats()).total).toBe(0);
    });

    it('sign-ins that stay allowed: same origin, clients without browser headers, a cross-site top-level GET (OAuth callback), an IdP listed in allowedOrigins (form_post)', async () => {
      const { app, server, manager } = await setup({ middleware: { allowedOrigins: ['https://idp.example'] } });
      const signIn = async (reply: Reply) => {
        expect(reply.status).toBe(200);
        expect(reply.cookies.map((c) => c.name)).toEqual([SID]);
      };
      await signIn(await app.post('/login', { origin: server.url, headers: { 'sec-fetch-site': 'same-origin' }, body: { userId: 'alice' } }));
      await signIn(await app.post('/login', { body: { userId: 'alice' } }));
      await signIn(await app.get('/callback?userId=alice', { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' } }));
      await signIn(await app.post('/login', { origin: 'https://idp.example', headers: { 'sec-fetch-site': 'cross-site' }, body: { userId: 'alice' } }));
      expect(await manager.count('alice')).toBe(4);
      expectError(await app.post('/login', { origin: 'https://idp.example:8443', body: { userId: 'mallory' } }), 403, 'FORBIDDEN_ORIGIN');
    });

    it('csrf: false leaves the sign-in route to the app as well', async () => {
      const { app } = await setup({ middleware: { csrf: false } });
      expect((await app.post('/login', { origin: EVIL, body: { userId: 'alice' } })).status).toBe(200);
    });

    it('origin scheme: an https:// Origin of the same host and port is refused on a plain-http server, with a message that says what to check', async () => {
      const { app, server, manager } = await setup();
      const https = server.url.replace(/^http:/, 'https:');
      const a = await app.login('alice', CHROME_WINDOWS);
      const b = await app.login('alice', SAFARI_IPHONE);

      const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: https });
      expectError(reply, 403, 'FORBIDDEN_ORIGIN');
      const { message } = (reply.body as ErrorBody).error;
      expect(message).toMatch(/scheme, host and port/);
      expect(message).toMatch(/allowedOrigins/);
      expect(message).toMatch(/trustProxy/);
      expect(message).not.toContain('127.0.0.1');
      expectError(await app.post('/rotate', { cookie: a.cookie, origin: https }), 403, 'FORBIDDEN_ORIGIN');
      expectError(await app.post('/login', { origin: https, body: { userId: 'mallory' } }), 403, 'FORBIDDEN_ORIGIN');
      expect(await manager.get(b.id)).toMatchObject({ status: 'active' });
      expect(await manager.count('mallory')).toBe(0);

      expect((await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: server.url })).body).toEqual({ revoked: 1 });
    });

    it('origin scheme: over TLS the own origin is https://, and an http:// Origin of the same host and port is refused', async () => {
      const certificate = testCertificate();
      const { server, manager } = await setup({ tls: certificate });
      const http = server.url.replace(/^https:/, 'http:');
      const send = (method: string, path: string, headers: Record<string, string>, body?: unknown) => tlsRequest(server.url + path, certificate.cert, method, headers, body);

      const signIn = await send('POST', '/login', { 'user-agent': CHROME_WINDOWS }, { userId: 'alice' });
      expect(signIn.status).toBe(200);
      const cookie = signIn.setCookie[0]!.split(';')[0]!;
      expect(cookie).toMatch(/^__Host-sid=skt_/);
      await send('POST', '/login', { 'user-agent': SAFARI_IPHONE }, { userId: 'alice' });

      const refused = await send('POST', `${SELF}/revoke-others`, { cookie, origin: http });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ error: { code: 'FORBIDDEN_ORIGIN' } });
      expect((await send('POST', '/login', { origin: http }, { userId: 'mallory' })).status).toBe(403);
      expect(await manager.count('mallory')).toBe(0);
      expect(await manager.count('alice')).toBe(2);

      const allowed = await send('POST', `${SELF}/revoke-others`, { cookie, origin: server.url });
      expect(allowed.status).toBe(200);
      expect(allowed.body).toEqual({ revoked: 1 });
    });

    it('origin scheme: behind a TLS-terminating proxy that trustProxy trusts, X-Forwarded-Proto: https makes the own origin https://', async () => {
      const { app, server, manager } = await setup({ middleware: { trustProxy: 'loopback' } });
      const https = server.url.replace(/^http:/, 'https:');
      const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };
      const a = await app.login('alice', CHROME_WINDOWS);
      const b = await app.login('alice', SAFARI_IPHONE);

      expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: server.url, headers: proxied }), 403, 'FORBIDDEN_ORIGIN');
      expectError(await app.post('/login', { origin: server.url, headers: proxied, body: { userId: 'mallory' } }), 403, 'FORBIDDEN_ORIGIN');
      expect(await manager.count('mallory')).toBe(0);
      expect(await manager.get(b.id)).toMatchObject({ status: 'active' });

      expect((await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: https, headers: proxied })).body).toEqual({ revoked: 1 });
      expect((await app.post('/login', { origin: https, headers: proxied, body: { userId: 'carol' } })).status).toBe(200);
    });

    it('origin scheme: X-Forwarded-Proto from a peer that trustProxy does not trust is ignored', async () => {
      for (const trustProxy of [false, '10.0.0.0/8']) {
        const { app, server } = await setup({ middleware: { trustProxy } });
        const https = server.url.replace(/^http:/, 'https:');
        const forged = { 'x-forwarded-proto': 'https' };
        const a = await app.login('alice', CHROME_WINDOWS);
        await app.login('alice', SAFARI_IPHONE);
        expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: https, headers: forged }), 403, 'FORBIDDEN_ORIGIN');
        expectError(await app.post('/login', { origin: https, headers: forged, body: { userId: 'mallory' } }), 403, 'FORBIDDEN_ORIGIN');
        expect((await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: server.url, headers: forged })).body, String(trustProxy)).toEqual({ revoked: 1 });
      }
    });

    it('csrf: false leaves the app\'s own routes to the app; the self-service routes still check', async () => {
      const { app } = await setup({ middleware: { csrf: false } });
      const a = await app.login('alice', CHROME_WINDOWS);
      expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: EVIL }), 403, 'FORBIDDEN_ORIGIN');
      expect((await app.post('/rotate', { cookie: a.cookie, origin: EVIL })).status).toBe(200);
    });

    it('a client that sends neither Origin nor Sec-Fetch-Site (curl, a server) passes', async () => {
      const { app } = await setup();
      const a = await app.login('alice', CHROME_WINDOWS);
      const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ revoked: 0 });
    });
  });

  describe('cookie tossing: several cookies of the session cookie\'s name', () => {
    // A name that a sibling subdomain or a plain-http page could plant beside the real cookie; the
    // default __Host- name cannot be planted so, but the request must be safe either way.
    const TOSSABLE = { middleware: { cookie: { secure: false } } } as const;

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
  });

  describe('storage failure', () => {
    it('a closed SQLite database answers 503 STORE_UNAVAILABLE: never 401, never 200, no stack trace', async () => {
      const database = new Database(':memory:');
      const store = sqliteStore({ database });
      await store.migrate();
      const { app } = await setup({ store, manager: { alerts: false } });
      const a = await app.login('alice', CHROME_WINDOWS);
      expect((await app.get('/protected', { cookie: a.cookie })).status).toBe(200);

      database.close();
      for (const reply of [
        await app.get('/protected', { cookie: a.cookie }),
        await app.get('/protected', { bearer: a.token }),
        await app.get('/public', { cookie: a.cookie }),
        // Several session cookies are validated together: one failure is the answer.
        await app.get('/public', { cookie: `${a.cookie}; ${SID}=skt_${'A'.repeat(32)}` }),
        await app.get(SELF, { cookie: a.cookie }),
        await app.post('/logout', { cookie: a.cookie }),
      ]) {
        expectError(reply, 503, 'STORE_UNAVAILABLE');
        // An outage is not "logged out": the cookie stays.
        expect(reply.cookies).toEqual([]);
        expect(reply.text).not.toMatch(/sqlite|database connection|better-sqlite3/i);
      }
      expectError(await app.post('/login', { ua: CHROME_WINDOWS, body: { userId: 'bob' } }), 503, 'STORE_UNAVAILABLE');
    });
  });

  describe('activity tracking', () => {
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
  });
});

// --- internal ---

interface ErrorBody {
  error: { code: string; message: string };
}

interface SetCookie {
  name: string;
  value: string;
  /** Attribute names in lower case; flags are `true`. */
  attributes: Record<string, string | true>;
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
  cookies: SetCookie[];
}

interface RequestOptions {
  cookie?: string | null;
  bearer?: string;
  ua?: string;
  origin?: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, with Content-Type: application/json. */
  rawBody?: string;
}

/** A fetch client for one test server; it keeps no state between requests. */
class App {
  constructor(private readonly server: TestServer) {}

  get(path: string, options?: RequestOptions): Promise<Reply> {
    return this.send('GET', path, options);
  }
  post(path: string, options?: RequestOptions): Promise<Reply> {
    return this.send('POST', path, options);
  }
  delete(path: string, options?: RequestOptions): Promise<Reply> {
    return this.send('DELETE', path, options);
  }

  /** Logs `userId` in from a device; returns the session id, the token and the Cookie header that carries it. */
  async login(userId: string, ua: string): Promise<{ id: string; token: string; cookie: string }> {
    const reply = await this.post('/login', { ua, body: { userId } });
    expect(reply.status).toBe(200);
    const { id, token } = reply.body as { id: string; token: string };
    const set = reply.cookies.find((c) => c.value === token);
    expect(set, 'the session cookie').toBeDefined();
    return { id, token, cookie: `${set!.name}=${token}` };
  }

  async send(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { 'user-agent': options.ua ?? CHROME_WINDOWS, ...options.headers };
    if (options.cookie) headers.cookie = options.cookie;
    if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
    if (options.origin !== undefined) headers.origin = options.origin;
    let body: string | undefined;
    if (options.body !== undefined || options.rawBody !== undefined) {
      body = options.rawBody ?? JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(this.server.url + path, { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text !== '' && (response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    const reply: Reply = { status: response.status, headers: response.headers, text, body: parsed, cookies: response.headers.getSetCookie().map(parseSetCookie) };
    if (reply.status >= 400) expectNoStackTrace(reply);
    return reply;
  }
}

/**
 * A browser on one site, as far as the session is concerned: it keeps what Set-Cookie stores, drops
 * what it clears, and sends its cookies with the Origin and Sec-Fetch-Site of a same-origin page.
 */
class Browser {
  readonly #jar = new Map<string, string>();
  constructor(
    private readonly app: App,
    private readonly origin: string,
    private readonly ua: string,
  ) {}

  /** The Cookie header it would send, or `null` when it holds no cookie. */
  get cookieHeader(): string | null {
    return this.#jar.size === 0 ? null : [...this.#jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async send(method: string, path: string, options: Pick<RequestOptions, 'body' | 'headers'> = {}): Promise<Reply> {
    const reply = await this.app.send(method, path, { ...options, ua: this.ua, cookie: this.cookieHeader, origin: this.origin, headers: { 'sec-fetch-site': 'same-origin', ...options.headers } });
    for (const cookie of reply.cookies) {
      if (cookie.value === '' || cookie.attributes['max-age'] === '0') this.#jar.delete(cookie.name);
      else this.#jar.set(cookie.name, cookie.value);
    }
    return reply;
  }
}

/** One HTTPS request to a test server with a self-signed certificate (fetch() cannot be given one). */
function tlsRequest(url: string, ca: string, method: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; setCookie: string[]; body: unknown }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method, ca, headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        const setCookie = response.headers['set-cookie'] ?? [];
        resolve({ status: response.statusCode ?? 0, setCookie, body: text === '' ? undefined : JSON.parse(text) });
      });
    });
    request.on('error', reject);
    request.end(payload);
  });
}

function parseSetCookie(header: string): SetCookie {
  const [pair = '', ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attributes: Record<string, string | true> = {};
  for (const part of rest) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const i = trimmed.indexOf('=');
    if (i === -1) attributes[trimmed.toLowerCase()] = true;
    else attributes[trimmed.slice(0, i).toLowerCase()] = trimmed.slice(i + 1);
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

/** The JSON error shape, with no-store, and no stack trace (checked for every 4xx/5xx already). */
function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, body: reply.body }).toEqual({ status, body: { error: { code, message: expect.any(String) } } });
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(reply.headers.get('cache-control')).toBe('no-store');
}

/** Used on every error response of the suite: no stack frames, file paths or HTML error pages. */
function expectNoStackTrace(reply: Reply): void {
  const text = reply.text;
  expect(text, 'stack frame').not.toMatch(/\bat\s+\S+\s+\(|\bat\s+(?:file:|node:|\/)/);
  expect(text, 'file path').not.toMatch(/\.(?:[cm]?[jt]s):\d+|node_modules|\/work\/|file:\/\//);
  expect(text, 'HTML page').not.toMatch(/<html|<!doctype|<pre>/i);
  expect(text, 'error class').not.toMatch(/\b(?:TypeError|ReferenceError|SyntaxError|SqliteError|RangeError)\b/);
}

/** The response deletes the named cookie: empty value, Max-Age=0, an Expires in the past. */
function expectCleared(reply: Reply, name: string): void {
  const cleared = reply.cookies.find((c) => c.name === name);
  expect(cleared, `Set-Cookie clearing ${name}`).toBeDefined();
  expect(cleared!.value).toBe('');
  expect(cleared!.attributes['max-age']).toBe('0');
  expect(Date.parse(cleared!.attributes.expires as string)).toBe(0);
  expect(cleared!.attributes).toMatchObject({ path: '/', httponly: true });
}
