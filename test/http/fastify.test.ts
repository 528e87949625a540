/**
 * The Fastify plugin over real HTTP on 127.0.0.1: what is particular to Fastify (decorations,
 * hooks, its own body errors, encapsulation). The behaviour every framework shares is in e2e.test.ts.
 */
import Database from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import sessionkeeperDefault, { requireSession, sessionkeeper, type SessionkeeperPluginOptions } from '../../adapters/http/fastify/index.js';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, type SessionManager } from '../../src/index.js';

const apps: FastifyInstance[] = [];
const managers: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await Promise.all(managers.splice(0).map((manager) => manager.close().catch(() => {})));
});

async function manager(): Promise<SessionManager> {
  const store = memoryStore();
  await store.migrate();
  const sessions = createSessionManager({ store, alerts: false });
  managers.push(sessions);
  return sessions;
}

/** An app with the plugin, a login route, a protected and a public route; returns its base URL. */
async function start(sessions: SessionManager, options: Partial<SessionkeeperPluginOptions> = {}, extra?: (app: FastifyInstance) => void) {
  const app = Fastify();
  apps.push(app);
  await app.register(sessionkeeper, { manager: sessions, routesPrefix: '/api/v1/me/sessions', cookie: { secure: false }, ...options });
  app.post('/login', async (request) => {
    const { session, token } = await request.sessionkeeper.login((request.body as { userId: string }).userId);
    return { id: session.id, token };
  });
  app.post('/logout', async (request, reply) => {
    await request.sessionkeeper.logout();
    return reply.code(204).send();
  });
  app.post('/rotate', { preHandler: requireSession }, async (request) => {
    const { session, token } = await request.sessionkeeper.rotate();
    return { id: session.id, token };
  });
  app.get('/protected', { preHandler: requireSession }, async (request) => ({ userId: request.session!.userId }));
  app.get('/public', async (request) => ({ sessionId: request.session?.id ?? null }));
  extra?.(app);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return url;
}

async function login(url: string, userId = 'alice'): Promise<{ cookie: string; id: string; token: string; response: Response }> {
  const response = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) });
  const body = (await response.json()) as { id: string; token: string };
  const cookie = response.headers.getSetCookie()[0]!.split(';')[0]!;
  return { cookie, ...body, response };
}

describe('sessionkeeper Fastify plugin', () => {
  it('login sets an HttpOnly cookie and no-store; the cookie then authenticates', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const { cookie, id, response } = await login(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const [setCookie] = response.headers.getSetCookie();
    expect(setCookie).toMatch(/^sid=[^;]+; /);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);

    const me = await fetch(`${url}/public`, { headers: { cookie } });
    expect(await me.json()).toEqual({ sessionId: id });
  });

  it('requireSession: 401 JSON without a session, 200 with a cookie or a bearer token', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const anonymous = await fetch(`${url}/protected`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
    expect(await anonymous.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });

    const { cookie, token } = await login(url);
    const withCookie = await fetch(`${url}/protected`, { headers: { cookie } });
    expect(withCookie.status).toBe(200);
    expect(await withCookie.json()).toEqual({ userId: 'alice' });
    const withBearer = await fetch(`${url}/protected`, { headers: { authorization: `Bearer ${token}` } });
    expect(withBearer.status).toBe(200);
  });

  it('a cookie that no longer validates is cleared, and the request is anonymous', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const { cookie, id } = await login(url);
    await sessions.revoke(id);
    const response = await fetch(`${url}/public`, { headers: { cookie } });
    expect(await response.json()).toEqual({ sessionId: null });
    expect(response.headers.getSetCookie()).toEqual([expect.stringMatching(/^sid=; .*Max-Age=0/i)]);
  });

  it('re-login replaces the old session and sends both Set-Cookie headers when the old cookie was stale', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const first = await login(url);
    await sessions.revoke(first.id);
    const response = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: first.cookie },
      body: JSON.stringify({ userId: 'alice' }),
    });
    // The stale cookie is cleared in onRequest and the new one set by login(): Fastify keeps both.
    const cookies = response.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    expect(cookies[0]).toMatch(/^sid=;/);
    expect(cookies[1]).toMatch(/^sid=[^;]+;/);
  });

  it('logout revokes the session, clears the cookie and answers no-store', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const { cookie, id } = await login(url);
    const response = await fetch(`${url}/logout`, { method: 'POST', headers: { cookie } });
    expect(response.status).toBe(204);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.getSetCookie()).toEqual([expect.stringMatching(/^sid=; .*Max-Age=0/i)]);
    expect((await sessions.get(id))?.status).toBe('revoked');
  });

  it('rotate replaces the token and the cookie', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const { cookie, token } = await login(url);
    const response = await fetch(`${url}/rotate`, { method: 'POST', headers: { cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const rotated = (await response.json()) as { token: string };
    expect(rotated.token).not.toBe(token);
    const newCookie = response.headers.getSetCookie()[0]!.split(';')[0]!;
    expect((await fetch(`${url}/protected`, { headers: { cookie: newCookie } })).status).toBe(200);
  });

  it('serves the self-service list under routesPrefix, with the current session flagged', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    await login(url);
    const { cookie, id } = await login(url);
    for (const path of ['/api/v1/me/sessions', '/api/v1/me/sessions/']) {
      const response = await fetch(`${url}${path}`, { headers: { cookie } });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const { sessions: listed } = (await response.json()) as { sessions: { id: string; current: boolean }[] };
      expect(listed).toHaveLength(2);
      expect(listed.filter((s) => s.current).map((s) => s.id)).toEqual([id]);
    }
    const current = await fetch(`${url}/api/v1/me/sessions/current`, { headers: { cookie } });
    expect(((await current.json()) as { session: { id: string } }).session.id).toBe(id);
  });

  it('self-service: query strings reach the core, DELETE /:id and POST /:id/extend route by id', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const other = await login(url);
    const { cookie } = await login(url);
    const badLimit = await fetch(`${url}/api/v1/me/sessions/activity?limit=0`, { headers: { cookie } });
    expect(badLimit.status).toBe(400);
    expect(((await badLimit.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
    expect((await fetch(`${url}/api/v1/me/sessions/activity?limit=5`, { headers: { cookie } })).status).toBe(200);

    const extend = await fetch(`${url}/api/v1/me/sessions/${other.id}/extend`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ by: '10m' }),
    });
    expect(extend.status).toBe(200);
    const revoke = await fetch(`${url}/api/v1/me/sessions/${other.id}`, { method: 'DELETE', headers: { cookie } });
    expect(revoke.status).toBe(200);
    expect((await sessions.get(other.id))?.status).toBe('revoked');
    const missing = await fetch(`${url}/api/v1/me/sessions/ses_${'0'.repeat(24)}`, { method: 'DELETE', headers: { cookie } });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('SESSION_NOT_FOUND');
  });

  it('self-service routes are behind the session: 401 JSON, even for an unknown subpath or a bad body', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    for (const [method, path, body] of [
      ['GET', '/api/v1/me/sessions', undefined],
      ['GET', '/api/v1/me/sessions/nope', undefined],
      ['POST', '/api/v1/me/sessions/revoke-others', '{not json'],
    ] as const) {
      const response = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses a cross-site state change authenticated by the cookie (403 FORBIDDEN_ORIGIN), not one with a bearer token', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const { cookie, token } = await login(url);
    const crossSite = await fetch(`${url}/api/v1/me/sessions/revoke-others`, { method: 'POST', headers: { cookie, origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toEqual({ error: { code: 'FORBIDDEN_ORIGIN', message: expect.any(String) } });
    const sameOrigin = await fetch(`${url}/api/v1/me/sessions/revoke-others`, { method: 'POST', headers: { cookie, origin: url } });
    expect(sameOrigin.status).toBe(200);
    const bearer = await fetch(`${url}/api/v1/me/sessions/revoke-others`, { method: 'POST', headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example' } });
    expect(bearer.status).toBe(200);
  });

  it("maps Fastify's body errors to INVALID_BODY JSON without a stack: malformed, too large, wrong type", async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const { cookie, id } = await login(url);
    const extend = `${url}/api/v1/me/sessions/${id}/extend`;
    const cases = [
      { body: '{"by": ', type: 'application/json', status: 400 },
      { body: JSON.stringify({ by: 'x'.repeat(20_000) }), type: 'application/json', status: 413 },
      { body: '<by>10m</by>', type: 'application/xml', status: 400 },
    ];
    for (const { body, type, status } of cases) {
      const response = await fetch(extend, { method: 'POST', headers: { cookie, 'content-type': type }, body });
      expect(response.status).toBe(status);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ error: { code: 'INVALID_BODY', message: expect.any(String) } });
      expect(text).not.toMatch(/stack|at .*\.js|FST_/);
    }
    // A JSON content type with no body is no body, as on the other frameworks.
    const empty = await fetch(`${url}/api/v1/me/sessions/revoke-others`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' } });
    expect(empty.status).toBe(200);
  });

  it('reads any body as JSON, as the other frameworks do: fetch() without a Content-Type sends text/plain', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const { cookie, id } = await login(url);
    const before = (await sessions.get(id))!.expiresAt;
    for (const headers of [{ cookie }, { cookie, 'content-type': 'text/plain;charset=UTF-8' }] as Record<string, string>[]) {
      const response = await fetch(`${url}/api/v1/me/sessions/${id}/extend`, { method: 'POST', headers, body: JSON.stringify({ by: '10m' }) });
      expect(response.status).toBe(200);
    }
    expect((await sessions.get(id))!.expiresAt).toBeGreaterThan(before);
  });

  it('an unknown route under the prefix is a JSON 404; the app keeps its own error handling elsewhere', async () => {
    const sessions = await manager();
    const url = await start(sessions);
    const { cookie } = await login(url);
    const unknown = await fetch(`${url}/api/v1/me/sessions/nope/deeper`, { headers: { cookie } });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    // /login is the app's route: Fastify's own error format, untouched by the plugin.
    const badLogin = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(badLogin.status).toBe(400);
    expect(((await badLogin.json()) as { code?: string }).code).toBe('FST_ERR_CTP_INVALID_JSON_BODY');
  });

  it('answers 503 STORE_UNAVAILABLE (never "logged out") when the SQLite database is closed under it', async () => {
    const database = new Database(':memory:');
    const store = sqliteStore({ database });
    await store.migrate();
    const sessions = createSessionManager({ store, alerts: false });
    managers.push(sessions);
    const url = await start(sessions);
    const { cookie } = await login(url);
    database.close();
    for (const path of ['/protected', '/public', '/api/v1/me/sessions']) {
      const response = await fetch(`${url}${path}`, { headers: { cookie } });
      expect(response.status).toBe(503);
      expect(response.headers.getSetCookie()).toEqual([]);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: expect.any(String) } });
      expect(text).not.toMatch(/database|sqlite|stack/i);
    }
  });

  it("routes served at '/' leave the app its own 404 handler and its public routes", async () => {
    const sessions = await manager();
    const url = await start(sessions, { routesPrefix: '/' }, (app) => {
      app.setNotFoundHandler((_request, reply) => reply.code(404).send({ appNotFound: true }));
    });
    expect(await (await fetch(`${url}/no/such/page`)).json()).toEqual({ appNotFound: true });
    expect(await (await fetch(`${url}/public`)).json()).toEqual({ sessionId: null });
    expect((await fetch(`${url}/current`)).status).toBe(401);
    const { token } = await login(url);
    expect((await fetch(`${url}/current`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('with track, records each request of a session with the route pattern and status', async () => {
    const sessions = await manager();
    const url = await start(sessions, { track: true });
    const { cookie, id } = await login(url);
    await fetch(`${url}/api/v1/me/sessions/${id}/extend`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{"by":"5m"}' });
    await fetch(`${url}/protected?x=1`, { headers: { cookie } });
    // onResponse runs once the response is sent: give it a moment, then flush the batch.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await sessions.activity.flush();
    const { items } = await sessions.activity.list({ sessionId: id });
    const requests = items.filter((item) => item.type === 'request').map((item) => [item.method, item.path, item.status]);
    expect(requests).toEqual(
      expect.arrayContaining([
        ['POST', '/login', 200],
        ['POST', '/api/v1/me/sessions/:id/extend', 200],
        ['GET', '/protected', 200],
      ]),
    );
  });

  it('decorations are app-wide (fastify-plugin), and requireSession without the plugin is a 500, not a pass', async () => {
    const sessions = await manager();
    const url = await start(sessions, {}, (app) => {
      app.register(async (child) => {
        child.get('/child', async (request) => ({ hasHelpers: typeof request.sessionkeeper.login === 'function', session: request.session }));
      });
    });
    expect(await (await fetch(`${url}/child`)).json()).toEqual({ hasHelpers: true, session: null });

    const bare = Fastify();
    apps.push(bare);
    bare.get('/x', { preHandler: requireSession }, async () => ({ ok: true }));
    const response = await bare.inject({ method: 'GET', url: '/x' });
    expect(response.statusCode).toBe(500);
  });

  it('is also the default export, as Fastify plugins are, with fastify-plugin semantics: decorations and hooks reach the whole app', async () => {
    expect(sessionkeeperDefault).toBe(sessionkeeper);
    expect((sessionkeeperDefault as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')]).toBe(true);
    expect((sessionkeeperDefault as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')]).toBe('sessionkeeper');
    const sessions = await manager();
    const app = Fastify();
    apps.push(app);
    await app.register(sessionkeeperDefault, { manager: sessions, routesPrefix: '/me/sessions', cookie: { secure: false } });
    app.register(async (child) => {
      child.get('/child', { preHandler: requireSession }, async (request) => ({ userId: request.session!.userId }));
    });
    const { token } = await sessions.create({ userId: 'alice' });
    const authorization = `Bearer ${token}`;
    expect((await app.inject({ url: '/child', headers: { authorization } })).json()).toEqual({ userId: 'alice' });
    expect((await app.inject({ url: '/child' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/me/sessions/current', headers: { authorization } })).statusCode).toBe(200);
  });

  it('validates its options once, at registration', async () => {
    const sessions = await manager();
    for (const options of [{ manager: {} }, { manager: sessions, routesPrefix: 'no-slash' }, { manager: sessions, cookie: { sameSite: 'none', secure: false } }]) {
      const app = Fastify();
      apps.push(app);
      await expect(app.register(sessionkeeper, options as SessionkeeperPluginOptions).ready()).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    }
  });
});
