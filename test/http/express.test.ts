import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import createApp, { json, Router, type ErrorRequestHandler, type Express } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requireSession, sessionMiddleware, sessionRoutes } from '../../adapters/http/express/index.js';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, type SessionManager } from '../../src/index.js';
import { createSessionHttp } from '../../src/http/index.js';

// What only Express has: route patterns from its router, apps that parse bodies themselves, and the
// order in which middleware is mounted. The behaviour every framework shares is in e2e.test.ts.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(manager: SessionManager, build: (app: Express) => void): Promise<string> {
  const app = createApp();
  build(app);
  const errors = createSessionHttp(manager);
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const response = errors.errorResponse(error);
    res.status(response.status).set(response.headers).json(response.body);
  };
  app.use(onError);
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

function manager(): SessionManager {
  const created = createSessionManager({ store: memoryStore(), alerts: false });
  cleanups.push(() => created.close());
  return created;
}

describe('Express wrapper', () => {
  it('track records the route pattern, through nested routers, not the concrete path', async () => {
    const sessions = manager();
    const url = await serve(sessions, (app) => {
      app.use(sessionMiddleware(sessions, { track: true }));
      const orders = Router();
      orders.get('/orders/:id', (_req, res) => void res.json({ ok: true }));
      app.use('/api/v1', orders);
      app.get('/items/:id', (_req, res) => void res.status(202).json({ ok: true }));
    });
    const { session, token } = await sessions.create({ userId: 'alice' });
    for (const path of ['/api/v1/orders/123', '/items/9', '/unrouted/7']) {
      await (await fetch(url + path, { headers: { cookie: `__Host-sid=${token}` } })).text();
    }
    const rows = await vi.waitFor(async () => {
      await sessions.activity.flush();
      const { items } = await sessions.activity.list({ sessionId: session.id });
      expect(items).toHaveLength(3);
      return items;
    });
    expect(rows.map((r) => [r.method, r.path, r.status]).sort()).toEqual([
      ['GET', '/api/v1/orders/:id', 200],
      ['GET', '/items/:id', 202],
      // No route matched: the path itself, as Express's 404 answered it.
      ['GET', '/unrouted/7', 404],
    ]);
    expect(rows.find((r) => r.path === '/items/:id')!.bytesOut).toBe(Buffer.byteLength(JSON.stringify({ ok: true })));
  });

  it('self-service routes use a body express.json() has already parsed', async () => {
    const sessions = manager();
    const url = await serve(sessions, (app) => {
      app.use(json());
      app.use(sessionMiddleware(sessions));
      app.use('/me/sessions', requireSession(), sessionRoutes(sessions));
    });
    const { session, token } = await sessions.create({ userId: 'alice' });
    const headers = { cookie: `__Host-sid=${token}`, 'content-type': 'application/json' };
    const extended = await fetch(`${url}/me/sessions/${session.id}/extend`, { method: 'POST', headers, body: JSON.stringify({ by: '10m' }) });
    expect(extended.status).toBe(200);
    expect(((await extended.json()) as { session: { expiresAt: string } }).session.expiresAt).toBe(new Date(session.expiresAt + 600_000).toISOString());
    // A bodiless POST still works after express.json().
    const others = await fetch(`${url}/me/sessions/revoke-others`, { method: 'POST', headers: { cookie: `__Host-sid=${token}` } });
    expect(await others.json()).toEqual({ revoked: 0 });
  });

  it('requireSession() or sessionRoutes() without sessionMiddleware() before them is a 500, not a pass', async () => {
    const sessions = manager();
    const url = await serve(sessions, (app) => {
      app.get('/protected', requireSession(), (_req, res) => void res.json({ leaked: true }));
      app.use('/me/sessions', sessionRoutes(sessions));
    });
    for (const path of ['/protected', '/me/sessions']) {
      const reply = await fetch(url + path);
      expect(reply.status).toBe(500);
      expect(await reply.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
    }
  });

  it('sessionRoutes() given another manager than the middleware refuses to serve', async () => {
    const sessions = manager();
    const other = manager();
    const url = await serve(sessions, (app) => {
      app.use(sessionMiddleware(sessions));
      app.use('/me/sessions', sessionRoutes(other));
    });
    const { token } = await sessions.create({ userId: 'alice' });
    const reply = await fetch(`${url}/me/sessions`, { headers: { cookie: `__Host-sid=${token}` } });
    expect(reply.status).toBe(500);
    expect(await reply.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
  });

  it('an unknown path below the self-service mount falls through to the next handler', async () => {
    const sessions = manager();
    const url = await serve(sessions, (app) => {
      app.use(sessionMiddleware(sessions));
      app.use('/me/sessions', sessionRoutes(sessions));
      app.get('/me/sessions/export', (_req, res) => void res.json({ mine: true }));
    });
    const { token } = await sessions.create({ userId: 'alice' });
    const reply = await fetch(`${url}/me/sessions/export`, { headers: { cookie: `__Host-sid=${token}` } });
    expect(await reply.json()).toEqual({ mine: true });
  });
});
