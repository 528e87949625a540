/**
 * The example apps boot on a fresh SQLite file and serve what a user tries first: the demo sign-in
 * form, the protected route, the session routes and sign-out. They import the package by name, so
 * this runs against the build (`npm test` builds first).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionManager } from '../../src/index.js';
import { createApp as createExpressApp } from '../../examples/express/app.js';
import { createApp as createFastifyApp } from '../../examples/fastify/app.js';
import { createApp as createKoaApp } from '../../examples/koa/app.js';

interface Running {
  url: string;
  sessions: SessionManager;
  close(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const examples: { name: string; start(filename: string): Promise<Running>; home: string; afterLogin: string; afterLogout: string }[] = [
  {
    name: 'express',
    home: '/login',
    afterLogin: '/devices',
    afterLogout: '/login',
    async start(filename) {
      const { app, sessions, close } = await createExpressApp({ filename });
      return listening(app.listen(0, '127.0.0.1'), sessions, close);
    },
  },
  {
    name: 'koa',
    home: '/',
    afterLogin: '/',
    afterLogout: '/',
    async start(filename) {
      const { app, sessions, close } = await createKoaApp({ filename });
      return listening(app.listen(0, '127.0.0.1'), sessions, close);
    },
  },
  {
    name: 'fastify',
    home: '/',
    afterLogin: '/',
    afterLogout: '/',
    async start(filename) {
      const { app, sessions, close } = await createFastifyApp({ filename });
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      return { url, sessions, close };
    },
  },
];

describe.each(examples)('$name example', (example) => {
  it('signs in by name, serves the protected route and the session routes, and signs out', async () => {
    const app = await example.start(join(dir, `${example.name}.db`));
    try {
      const get = (path: string, cookie?: string) => fetch(`${app.url}${path}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
      const post = (path: string, body: string, cookie?: string) =>
        fetch(`${app.url}${path}`, {
          method: 'POST',
          body,
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.url, ...(cookie ? { cookie } : {}) },
        });

      const form = await get(example.home);
      expect(form.status).toBe(200);
      const html = await form.text();
      expect(html).toContain('<form method="post" action="/login"');
      expect(html).toMatch(/This is a demo/);

      expect((await get('/api/me')).status).toBe(401);
      expect((await post('/login', 'name=')).status).toBe(400);

      const login = await post('/login', 'name=alice');
      expect(login.status).toBe(303);
      expect(new URL(login.headers.get('location')!, app.url).pathname).toBe(example.afterLogin);
      const setCookie = login.headers.get('set-cookie')!;
      expect(setCookie).toMatch(/^sid=skt_[^;]+;/);
      expect(setCookie).toMatch(/HttpOnly/i);
      const cookie = setCookie.split(';')[0]!;

      const me = await get('/api/me', cookie);
      expect(me.status).toBe(200);
      const { userId, sessionId } = (await me.json()) as { userId: string; sessionId: string };
      expect(userId).toBe('alice');

      const list = await get('/api/v1/me/sessions', cookie);
      expect(list.status).toBe(200);
      expect(((await list.json()) as { sessions: { id: string; current: boolean }[] }).sessions).toEqual([expect.objectContaining({ id: sessionId, current: true })]);

      const logout = await post('/logout', '', cookie);
      expect(logout.status).toBe(303);
      expect(new URL(logout.headers.get('location')!, app.url).pathname).toBe(example.afterLogout);
      expect((await get('/api/me', cookie)).status).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('refuses a cross-site sign-in (login CSRF) with 403 FORBIDDEN_ORIGIN, before any session exists', async () => {
    const app = await example.start(join(dir, `${example.name}-csrf.db`));
    try {
      // A foreign site, and this site's host under another scheme (the origin is scheme, host and port).
      for (const origin of ['https://evil.example', app.url.replace(/^http:/, 'https:')]) {
        const response = await fetch(`${app.url}/login`, {
          method: 'POST',
          body: 'name=mallory',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        });
        expect(response.status, origin).toBe(403);
        expect(response.headers.get('set-cookie')).toBeNull();
        expect(await response.json()).toEqual({ error: { code: 'FORBIDDEN_ORIGIN', message: expect.any(String) } });
      }
      expect((await app.sessions.stats()).total).toBe(0);
    } finally {
      await app.close();
    }
  });
});

// --- internal ---

async function listening(server: Server, sessions: SessionManager, closeApp: () => Promise<void>): Promise<Running> {
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sessions,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeApp();
    },
  };
}
