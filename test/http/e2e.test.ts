import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager } from '../../src/index.js';
import { CHROME_WINDOWS, expectError, HttpTestClient, runHttpAdapterConformance } from '../../src/http/testing/index.js';
import { frameworks } from './servers.js';

// The exported HTTP adapter conformance suite (src/http/testing, `sessionkeeper/http/testing`) over
// this repository's Express, Koa and Fastify wrappers; node-http.test.ts runs the built one over a
// wrapper written against `sessionkeeper/http` alone.
for (const framework of frameworks) runHttpAdapterConformance(framework, { store: () => memoryStore() });

describe.each(frameworks)('storage failure of a real SQLite database over $name', (framework) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('a closed SQLite database answers 503 STORE_UNAVAILABLE: never 401, never 200, no stack trace, no driver text', async () => {
    const database = new Database(':memory:');
    const store = sqliteStore({ database });
    await store.migrate();
    const manager = createSessionManager({ store, alerts: false });
    const server = await framework.start(manager);
    cleanups.push(async () => {
      await server.close();
      await manager.close().catch(() => {});
    });
    const app = new HttpTestClient(server);
    const a = await app.login('alice', CHROME_WINDOWS);
    expect((await app.get('/protected', { cookie: a.cookie })).status).toBe(200);

    database.close();
    for (const reply of [
      await app.get('/protected', { cookie: a.cookie }),
      await app.get('/protected', { bearer: a.token }),
      await app.get('/public', { cookie: `${a.cookie}; __Host-sid=skt_${'A'.repeat(32)}` }),
      await app.get('/api/v1/me/sessions', { cookie: a.cookie }),
      await app.post('/logout', { cookie: a.cookie }),
    ]) {
      expectError(reply, 503, 'STORE_UNAVAILABLE');
      expect(reply.cookies).toEqual([]);
      expect(reply.text).not.toMatch(/sqlite|database connection|better-sqlite3/i);
    }
    expectError(await app.post('/login', { ua: CHROME_WINDOWS, body: { userId: 'bob' } }), 503, 'STORE_UNAVAILABLE');
  });
});
