/**
 * The core's route tables are the one list of routes: every route in them answers (non-404) through
 * Express, Koa, Fastify and the node:http wrapper, with no route named in any wrapper; and a
 * request's path is matched the same way on every framework (prefix, trailing slash, query, encoded and dotted paths).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { createSessionManager as createBuiltManager } from 'sessionkeeper';
import { memoryStore as builtMemoryStore } from 'sessionkeeper/memory';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, type SessionManager } from '../../src/index.js';
import { createSelfService, createSessionHttp, type RouteRequest } from '../../src/http/index.js';
import { createLabRoutes, type Labs } from '../../src/labs/index.js';
import { frameworks, LABS_PREFIX, SESSIONS_PREFIX, type Framework, type TestServer } from './servers.js';
import { nodeHttp } from './servers/node-http.js';

const LAB_ID = `lab_${'a'.repeat(21)}`;

/** Each adapter with a manager of its own build: the node:http wrapper runs on dist/. */
const adapters: { adapter: Pick<Framework, 'start'> & { name: string }; manager: () => SessionManager }[] = [
  ...frameworks.map((adapter) => ({ adapter, manager: () => createSessionManager({ store: memoryStore() }) })),
  { adapter: nodeHttp, manager: () => createBuiltManager({ store: builtMemoryStore() }) as unknown as SessionManager },
];

describe.each(adapters)('the route tables over $adapter.name', ({ adapter, manager: createManager }) => {
  let manager: SessionManager;
  let server: TestServer;
  const labs = stubLabs();
  afterAll(async () => {
    await server?.close();
    await manager?.close();
  });

  it('every self-service and lab route of the exported tables answers, none 404', async () => {
    manager = createManager();
    server = await adapter.start(manager, { middleware: { cookie: { secure: false } }, labs });
    const tables = [
      { prefix: SESSIONS_PREFIX, routes: createSelfService().routes },
      { prefix: LABS_PREFIX, routes: createLabRoutes(labs).routes },
    ];
    expect(tables.map((t) => t.routes.length)).toEqual([8, 6]);
    for (const { prefix, routes } of tables) {
      for (const route of routes) {
        const { token } = await manager.create({ userId: 'alice' });
        const other = await manager.create({ userId: 'alice' });
        const path = route.path.replace(':id', prefix === LABS_PREFIX ? LAB_ID : other.session.id);
        const body = route.method === 'POST' ? JSON.stringify(prefix === LABS_PREFIX ? { template: 'tiny' } : { by: '5m' }) : undefined;
        const reply = await send(server.url, route.method, `${prefix}${path === '/' ? '' : path}`, { authorization: `Bearer ${token}` }, body);
        expect({ route: `${route.method} ${route.path}`, status: reply.status }).toEqual({ route: `${route.method} ${route.path}`, status: expect.any(Number) });
        expect(reply.status, `${route.method} ${prefix}${path}: ${reply.text}`).toBeLessThan(300);
        expect(reply.type).toMatch(/^application\/json/);
      }
    }
  });

  it.each([
    ['GET', `${SESSIONS_PREFIX}/current/`, 200],
    ['GET', `${SESSIONS_PREFIX}/current?x=1&x=2`, 200],
    ['GET', `${SESSIONS_PREFIX}//`, 200],
    ['GET', `http://127.0.0.1${SESSIONS_PREFIX}/current`, 200],
    ['POST', `${SESSIONS_PREFIX}/:self/extend/`, 200],
    ['GET', `${SESSIONS_PREFIX}x/current`, 404],
    ['GET', `${SESSIONS_PREFIX}/%63urrent`, 404],
    ['GET', `/api/v1/me/%73essions/current`, 404],
    ['GET', `${SESSIONS_PREFIX}/foo/../current`, 404],
    ['GET', `${SESSIONS_PREFIX}//current`, 404],
    ['GET', `${SESSIONS_PREFIX}/current;x`, 404],
    ['DELETE', `${SESSIONS_PREFIX}/:encoded`, 400],
    ['POST', `${SESSIONS_PREFIX}//extend`, 400],
    ['GET', `${LABS_PREFIX}/${LAB_ID}/stats/`, 200],
    ['GET', `${LABS_PREFIX}//stats`, 404],
  ] as const)('%s %s is %i on every framework: the path is matched as sent', async (method, target, status) => {
    const { session, token } = await manager.create({ userId: 'alice' });
    const encoded = `ses_%${session.id.charCodeAt(4).toString(16)}${session.id.slice(5)}`;
    const path = target.replace(':self', session.id).replace(':encoded', encoded);
    const reply = await send(server.url, method, path, { authorization: `Bearer ${token}` }, method === 'POST' ? '{"by":"1m"}' : undefined);
    expect(reply.status, reply.text).toBe(status);
  });
});

describe('the wrappers', () => {
  it('name no core route: Express, Koa and Fastify serve whatever the tables hold', () => {
    const dir = join(import.meta.dirname, '..', '..', 'adapters', 'http');
    const sources = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => [file, readFileSync(join(dir, file), 'utf8')] as const);
    expect(sources.map(([file]) => file).sort()).toEqual(expect.arrayContaining(['express/express-middleware.ts', 'fastify/fastify-plugin.ts', 'koa/koa-middleware.ts']));
    const paths = [...createSelfService().routes, ...createLabRoutes(stubLabs()).routes].map((route) => route.path).filter((path) => path !== '/');
    for (const [file, text] of sources) for (const path of paths) expect(text.includes(`'${path}'`), `${file} names ${path}`).toBe(false);
  });
});

// --- internal ---

/** A raw request (no client-side normalisation of the path), with a bearer token. */
function send(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; type: string; text: string }> {
  const { hostname, port } = new URL(url);
  const framed = body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers: framed }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Labs without Docker: one lab of its own, `LAB_ID`, for whoever asks, so that every route can answer. */
function stubLabs(): Labs {
  const lab = (sessionId: string) => ({
    id: LAB_ID,
    sessionId,
    userId: 'alice',
    template: 'tiny',
    status: 'active',
    network: { name: `sk-lab-${LAB_ID}`, subnet: '10.9.0.0/24', gateway: '10.9.0.1' },
    containers: [],
    createdAt: 0,
    updatedAt: 0,
    expiresAt: 60_000,
    extensions: 0,
    stopReason: null,
    error: null,
    subnetHeld: true,
  });
  const stats = { labId: LAB_ID, at: 0, containers: [], network: { name: `sk-lab-${LAB_ID}`, subnet: '10.9.0.0/24', endpoints: [] } };
  return {
    start: async (sessionId: string) => lab(sessionId),
    get: async (id: string) => (id === LAB_ID ? lab('ses_x') : null),
    list: async () => [lab('ses_x')],
    stats: async () => stats,
    extend: async () => lab('ses_x'),
    stop: async () => ({ ...lab('ses_x'), status: 'stopped' }),
    reconcile: async () => ({}),
    on: () => () => {},
    close: async () => {},
  } as unknown as Labs;
}
