import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, type SessionManagerOptions, type SessionManager, type SessionStore } from '../../src/index.js';
import type { SelfServiceOptions, SessionHttpOptions } from '../../src/http/index.js';
import { manualClock, type ManualClock } from '../../src/testing/index.js';
import { frameworks, type TestServer } from './servers.js';

// The same app on every framework in ./servers.ts, over real HTTP on 127.0.0.1, with Node's fetch.
// fetch keeps no cookies: each "browser" is a variable holding its Cookie header.

const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

const T0 = '2030-01-01T00:00:00.000Z';
/** T0 + the default absoluteTimeout (7 days), as a cookie's Expires attribute. */
const ABSOLUTE_DEADLINE_HTTP = 'Tue, 08 Jan 2030 00:00:00 GMT';
const EVIL = 'https://evil.example';
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
    } = {},
  ): Promise<{ manager: SessionManager; server: TestServer; clock: ManualClock; app: App }> {
    const clock = manualClock(T0);
    const manager = createSessionManager({ store: options.store ?? memoryStore(), clock: clock.now, ...options.manager });
    const server = await framework.start(manager, { middleware: options.middleware, routes: options.routes });
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
      expect(cookie.name).toBe('sid');
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

    it('a __Host- cookie name is set and read back; the default name is then not read', async () => {
      const { app } = await setup({ middleware: { cookie: { name: '__Host-sid' } } });
      const reply = await app.post('/login', { ua: CHROME_WINDOWS, body: { userId: 'alice' } });
      const cookie = reply.cookies[0]!;
      expect(cookie.name).toBe('__Host-sid');
      expect(cookie.attributes).toMatchObject({ secure: true, path: '/' });
      expect(cookie.attributes).not.toHaveProperty('domain');
      const { token } = reply.body as { token: string };

      const ok = await app.get('/protected', { cookie: `__Host-sid=${token}` });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ userId: 'alice', sessionId: (reply.body as { id: string }).id });
      expectError(await app.get('/protected', { cookie: `sid=${token}` }), 401, 'UNAUTHENTICATED');
    });

    it('logout answers 204 with no-store, clears the cookie, and the token stops working', async () => {
      const { app, manager } = await setup();
      const { id, token, cookie } = await app.login('alice', CHROME_WINDOWS);

      const reply = await app.post('/logout', { cookie });
      expect(reply.status).toBe(204);
      expect(reply.text).toBe('');
      expect(reply.headers.get('cache-control')).toBe('no-store');
      expectCleared(reply, 'sid');
      expect(await manager.get(id)).toMatchObject({ status: 'revoked', revokeReason: 'logout' });

      expectError(await app.get('/protected', { cookie }), 401, 'UNAUTHENTICATED');
      expectError(await app.get('/protected', { bearer: token }), 401, 'UNAUTHENTICATED');
    });

    it('logout without a session still answers 204 and clears the cookie', async () => {
      const { app } = await setup();
      const reply = await app.post('/logout');
      expect(reply.status).toBe(204);
      expectCleared(reply, 'sid');
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
      const viaCookie = await app.get('/protected', { cookie: `sid=${token}` });
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
      expectCleared(bReply, 'sid');

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

    it('DELETE of my own current session signs me out', async () => {
      const { app } = await setup();
      const a = await app.login('alice', CHROME_WINDOWS);
      const reply = await app.delete(`${SELF}/${a.id}`, { cookie: a.cookie });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ session: { id: a.id, status: 'revoked', current: true } });
      expectError(await app.get('/protected', { cookie: a.cookie }), 401, 'UNAUTHENTICATED');
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
        expectError(await app.send(method, path, { cookie: 'sid=garbage' }), 401, 'UNAUTHENTICATED');
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
      expect(reply.cookies[0]).toMatchObject({ name: 'sid', value: token, attributes: { httponly: true, secure: true, samesite: 'Lax', path: '/', expires: ABSOLUTE_DEADLINE_HTTP } });

      const fresh = await app.get('/protected', { cookie: `sid=${token}` });
      expect(fresh.status).toBe(200);
      expect(fresh.body).toEqual({ userId: 'alice', sessionId: a.id });

      const stale = await app.get('/protected', { cookie: a.cookie });
      expectError(stale, 401, 'UNAUTHENTICATED');
      expectCleared(stale, 'sid');
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
      expectCleared(reply, 'sid');
    });

    it('a garbage cookie is 401 and cleared; on a public route it is simply no session (and cleared)', async () => {
      const { app } = await setup();
      const reply = await app.get('/protected', { cookie: 'sid=garbage' });
      expectError(reply, 401, 'UNAUTHENTICATED');
      expectCleared(reply, 'sid');

      const pub = await app.get('/public', { cookie: 'sid=garbage' });
      expect(pub.status).toBe(200);
      expect(pub.body).toEqual({ sessionId: null });
      expectCleared(pub, 'sid');

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
      const garbage = await app.post('/logout', { cookie: 'sid=garbage', origin: EVIL });
      expect(garbage.status).toBe(204);
      expectCleared(garbage, 'sid');
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
    const set = reply.cookies.find((c) => c.name === 'sid');
    expect(set?.value).toBe(token);
    return { id, token, cookie: `sid=${token}` };
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
