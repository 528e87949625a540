/**
 * The Koa wrapper over real HTTP on 127.0.0.1: what is particular to Koa (ctx.state, Set-Cookie
 * appended to the app's own, @koa/router's route pattern, the prefix sessionRoutes() matches
 * itself, a body parser's ctx.request.body). The behaviour every framework shares is in e2e.test.ts.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Database from 'better-sqlite3';
import Koa, { type DefaultState, type Middleware } from 'koa';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { requireSession, sessionMiddleware, sessionRoutes } from '../../adapters/http/koa/index.js';
import type { SessionkeeperState } from '../../adapters/http/koa/index.js';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, type Session, type SessionManager } from '../../src/index.js';
import type { SessionHttpOptions } from '../../src/http/index.js';
import { koa } from './servers/koa.js';

const PREFIX = '/api/v1/me/sessions';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function manager(): Promise<SessionManager> {
  const store = memoryStore();
  await store.migrate();
  const sessions = createSessionManager({ store });
  cleanups.push(() => sessions.close());
  return sessions;
}

async function listen(app: Koa): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The shared test app (servers/koa.ts). */
async function testApp(sessions: SessionManager, middleware: SessionHttpOptions = { cookie: { secure: false } }) {
  const server = await koa.start(sessions, { middleware });
  cleanups.push(() => server.close());
  return server.url;
}

async function login(url: string, userId = 'alice'): Promise<{ id: string; token: string; cookie: string }> {
  const res = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { id: string; token: string };
  return { ...body, cookie: `sid=${body.token}` };
}

describe('sessionkeeper/koa', () => {
  it('types ctx.state.session and ctx.state.sessionkeeper without casts', () => {
    expectTypeOf<DefaultState['session']>().toEqualTypeOf<Session | null>();
    expectTypeOf<DefaultState['sessionkeeper']>().toEqualTypeOf<SessionkeeperState>();
    const handler: Middleware = (ctx) => {
      expectTypeOf(ctx.state.session).toEqualTypeOf<Session | null>();
      expectTypeOf(ctx.state.sessionkeeper.login).returns.resolves.toEqualTypeOf<{ session: Session; token: string }>();
    };
    expect(typeof handler).toBe('function');
  });

  it('login sets an HttpOnly cookie with Cache-Control: no-store; the cookie then opens /protected', async () => {
    const sessions = await manager();
    const url = await testApp(sessions);

    const res = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userId":"alice"}' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { id, token } = (await res.json()) as { id: string; token: string };
    const [cookie] = res.headers.getSetCookie();
    expect(cookie).toMatch(new RegExp(`^sid=${token}; Path=/; Expires=[^;]+; HttpOnly; SameSite=Lax$`));

    const anonymous = await fetch(`${url}/protected`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'Sign in first' } });

    const signedIn = await fetch(`${url}/protected`, { headers: { cookie: `sid=${token}` } });
    expect(signedIn.status).toBe(200);
    expect(await signedIn.json()).toEqual({ userId: 'alice', sessionId: id });

    const bearer = await fetch(`${url}/protected`, { headers: { authorization: `Bearer ${token}` } });
    expect(await bearer.json()).toEqual({ userId: 'alice', sessionId: id });
  });

  it("appends its Set-Cookie to the app's own cookies, before and after, and clears a rejected cookie", async () => {
    const sessions = await manager();
    const app = new Koa();
    app.use(async (ctx, next) => {
      ctx.cookies.set('theme', 'dark');
      await next();
    });
    app.use(sessionMiddleware(sessions, { cookie: { secure: false } }));
    app.use(async (ctx) => {
      await ctx.state.sessionkeeper.login('alice');
      ctx.append('set-cookie', 'seen=1; Path=/');
      ctx.body = { session: ctx.state.session?.userId };
    });
    const url = await listen(app);

    const res = await fetch(url, { headers: { cookie: 'sid=not-a-token' } });
    expect(await res.json()).toEqual({ session: 'alice' });
    const cookies = res.headers.getSetCookie();
    expect(cookies.map((c) => c.split('=')[0])).toEqual(['theme', 'sid', 'sid', 'seen']);
    expect(cookies[1]).toMatch(/^sid=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax$/);
    expect(cookies[2]).toMatch(/^sid=[A-Za-z0-9_-]{20,}; /);
  });

  it('logout revokes the session and clears the cookie; rotate replaces the token', async () => {
    const sessions = await manager();
    const url = await testApp(sessions);
    const first = await login(url);

    const rotated = await fetch(`${url}/rotate`, { method: 'POST', headers: { cookie: first.cookie } });
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const { id, token } = (await rotated.json()) as { id: string; token: string };
    expect(id).toBe(first.id);
    expect(token).not.toBe(first.token);
    expect(rotated.headers.getSetCookie()[0]).toMatch(new RegExp(`^sid=${token}; `));

    const out = await fetch(`${url}/logout`, { method: 'POST', headers: { cookie: `sid=${token}` } });
    expect(out.status).toBe(204);
    expect(out.headers.get('cache-control')).toBe('no-store');
    expect(out.headers.getSetCookie()[0]).toMatch(/^sid=; Max-Age=0; /);
    expect((await sessions.get(id))?.status).toBe('revoked');
    expect((await fetch(`${url}/protected`, { headers: { cookie: `sid=${token}` } })).status).toBe(401);
  });

  it('serves the self-service routes under the prefix, and refuses a cross-site DELETE with 403', async () => {
    const sessions = await manager();
    const url = await testApp(sessions);
    const phone = await login(url);
    const laptop = await login(url);

    const list = await fetch(`${url}${PREFIX}`, { headers: { cookie: laptop.cookie } });
    expect(list.status).toBe(200);
    expect(list.headers.get('cache-control')).toBe('no-store');
    const { sessions: mine } = (await list.json()) as { sessions: { id: string; current: boolean }[] };
    expect(mine.map((s) => [s.id, s.current]).sort()).toEqual([
      [laptop.id, true],
      [phone.id, false],
    ].sort());

    const current = await fetch(`${url}${PREFIX}/current/?x=1`, { headers: { cookie: laptop.cookie } });
    expect(((await current.json()) as { session: { id: string } }).session.id).toBe(laptop.id);

    const crossSite = await fetch(`${url}${PREFIX}/${phone.id}`, { method: 'DELETE', headers: { cookie: laptop.cookie, origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toEqual({ error: { code: 'FORBIDDEN_ORIGIN', message: expect.stringMatching(/^Cross-site request refused/) } });
    expect((await sessions.get(phone.id))?.status).toBe('active');

    const sameSite = await fetch(`${url}${PREFIX}/${phone.id}`, { method: 'DELETE', headers: { cookie: laptop.cookie, origin: url } });
    expect(sameSite.status).toBe(200);
    expect((await sessions.get(phone.id))?.status).toBe('revoked');
  });

  it("reads the JSON body itself, or takes a body parser's ctx.request.body; bad JSON is a 400, not a crash", async () => {
    const sessions = await manager();
    const app = new Koa();
    app.use(sessionMiddleware(sessions));
    // What koa-bodyparser does, for requests that ask for it.
    app.use(async (ctx, next) => {
      if (ctx.get('x-parsed') !== '') (ctx.request as { body?: unknown }).body = JSON.parse(ctx.get('x-parsed'));
      await next();
    });
    app.use(sessionRoutes(sessions, { prefix: `${PREFIX}/`, maxExtend: '2h' }));
    const url = await listen(app);
    const { session, token } = await sessions.create({ userId: 'alice' });
    const auth = { authorization: `Bearer ${token}` };

    const read = await fetch(`${url}${PREFIX}/${session.id}/extend`, { method: 'POST', headers: auth, body: '{"by":"30m"}' });
    expect(read.status).toBe(200);
    const parsed = await fetch(`${url}${PREFIX}/${session.id}/extend`, { method: 'POST', headers: { ...auth, 'x-parsed': '{"by":"90m"}' } });
    expect(parsed.status).toBe(200);
    const tooLong = await fetch(`${url}${PREFIX}/${session.id}/extend`, { method: 'POST', headers: { ...auth, 'x-parsed': '{"by":"3h"}' } });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');

    const bad = await fetch(`${url}${PREFIX}/${session.id}/extend`, { method: 'POST', headers: auth, body: '{"by":' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'INVALID_BODY', message: 'The request body is not valid JSON' } });
  });

  it('leaves paths outside the prefix, and unknown routes under it, to the next middleware', async () => {
    const sessions = await manager();
    const app = new Koa();
    app.use(sessionMiddleware(sessions));
    app.use(sessionRoutes(sessions, { prefix: PREFIX }));
    app.use((ctx) => {
      ctx.body = { fellThrough: ctx.path };
    });
    const url = await listen(app);
    const { token } = await sessions.create({ userId: 'alice' });
    const auth = { authorization: `Bearer ${token}` };

    for (const path of [`${PREFIX}x`, '/api/v1/me', `${PREFIX}/nope/deeper`]) {
      const res = await fetch(`${url}${path}`, { headers: auth });
      expect(await res.json()).toEqual({ fellThrough: path });
    }
    const list = await fetch(`${url}${PREFIX}/`, { headers: auth });
    expect(Object.keys((await list.json()) as object)).toEqual(['sessions']);
  });

  it('answers 503 STORE_UNAVAILABLE when the SQLite database is closed under it: never "logged out", no stack trace', async () => {
    const database = new Database(':memory:');
    const store = sqliteStore({ database });
    await store.migrate();
    const sessions = createSessionManager({ store });
    cleanups.push(() => sessions.close().catch(() => {}));
    const url = await testApp(sessions);
    const { cookie, id } = await login(url);
    expect((await fetch(`${url}/protected`, { headers: { cookie } })).status).toBe(200);

    database.close();
    for (const [method, path] of [
      ['GET', '/protected'],
      ['GET', '/public'],
      ['GET', PREFIX],
      ['DELETE', `${PREFIX}/${id}`],
    ] as const) {
      const res = await fetch(`${url}${path}`, { method, headers: { cookie } });
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.getSetCookie()).toEqual([]);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: 'Session storage is unavailable; try again shortly' } });
      expect(text).not.toMatch(/at |sqlite|database/i);
    }
    // A login that cannot store its session is a 503 through the app's error handler, too.
    const failedLogin = await fetch(`${url}/login`, { method: 'POST', body: '{"userId":"bob"}' });
    expect(failedLogin.status).toBe(503);
  });

  it("tracks each request after the response: @koa/router's route pattern (with its prefix), else the path; status and sizes", async () => {
    const sessions = await manager();
    const app = new Koa();
    app.use(sessionMiddleware(sessions, { track: true }));
    const orders = new Router({ prefix: '/api/orders' });
    orders.post('/:id', (ctx) => {
      ctx.body = { ok: ctx.params.id };
    });
    app.use(orders.routes());
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = { ok: false };
    });
    const url = await listen(app);
    const { session, token } = await sessions.create({ userId: 'alice' });
    const auth = { authorization: `Bearer ${token}` };

    await (await fetch(`${url}/api/orders/123?secret=1`, { method: 'POST', headers: auth, body: 'hello' })).text();
    await (await fetch(`${url}/missing`, { headers: auth })).text();
    await (await fetch(`${url}/anonymous`)).text();

    await vi.waitFor(async () => {
      await sessions.activity.flush();
      const { items } = await sessions.activity.list({ userId: 'alice', limit: 10 });
      const requests = items.filter((row) => row.type === 'request');
      expect(requests.map((row) => [row.method, row.path, row.status, row.bytesIn, row.bytesOut, row.sessionId]).reverse()).toEqual([
        ['POST', '/api/orders/:id', 200, 5, 12, session.id],
        ['GET', '/missing', 404, null, 12, session.id],
      ]);
      expect(requests.every((row) => typeof row.durationMs === 'number' && row.durationMs >= 0)).toBe(true);
    });
  });

  it('refuses to run without sessionMiddleware() or with another manager (INVALID_CONFIG), and checks the prefix', async () => {
    const sessions = await manager();
    const other = await manager();
    expect(() => sessionRoutes(sessions, { prefix: 'api' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => sessionRoutes(sessions, {} as { prefix: string })).toThrow(/prefix/);

    const errors: unknown[] = [];
    const app = new Koa();
    app.silent = true;
    app.on('error', (error: unknown) => errors.push(error));
    app.use(async (ctx, next) => (ctx.path === '/other' ? sessionMiddleware(other)(ctx, next) : next()));
    app.use(async (ctx, next) => (ctx.path === '/guarded' ? requireSession()(ctx, next) : next()));
    app.use(sessionRoutes(sessions, { prefix: '/' }));
    const url = await listen(app);

    for (const path of ['/guarded', '/', '/other']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('Internal Server Error');
    }
    expect(errors.map((e) => [(e as { code?: string }).code, (e as Error).message])).toEqual([
      ['INVALID_CONFIG', 'sessionMiddleware() must be used before requireSession(), sessionRoutes() and labRoutes()'],
      ['INVALID_CONFIG', 'sessionMiddleware() must be used before requireSession(), sessionRoutes() and labRoutes()'],
      ['INVALID_CONFIG', 'sessionRoutes() and sessionMiddleware() were given different session managers'],
    ]);
  });
});
