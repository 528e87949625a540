/**
 * The servers of `npm run bench:http`, one builder per case. Each is the smallest app a user would
 * write with that library: `POST /login` starts a session for one user, `POST /hit` reads the
 * session and writes one value (`n`) back, answering `{ n }` or 401 without a session. Baselines
 * answer `POST /hit` with the same body and no session at all.
 *
 * sessionkeeper is loaded as users load it, from the built package (`npm run bench:http` builds it
 * first), not from the sources through tsx's transform. Frameworks and drivers are imported inside
 * the builders, so a child process loads only what its case uses. The peers' session libraries are loaded through `require` with the few members used
 * declared here (as kysely does for its drivers): their type augmentations of `req.session` and
 * `request.session` would otherwise collide with sessionkeeper's own in this one TypeScript program.
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchEnv {
  /** A SQLite file for this case (in a temporary directory the parent removes). */
  readonly sqliteFile: string;
  /** Postgres URL and a schema of this case's own (the parent creates and drops it). */
  readonly postgresUrl: string;
  readonly postgresSchema: string;
  /** Redis URL and a key prefix of this case's own (the parent deletes its keys afterwards). */
  readonly redisUrl: string;
  readonly redisPrefix: string;
}

export interface BenchApp {
  readonly port: number;
  /** Requests answered by `POST /hit` so far (any status). */
  handled(): number;
  close(): Promise<void>;
}

export type CaseId =
  | 'express'
  | 'express+async-floor'
  | 'koa'
  | 'fastify'
  | 'express+sessionkeeper/memory'
  | 'express+sessionkeeper/memory,alerts:false'
  | 'express+sessionkeeper/sqlite'
  | 'express+sessionkeeper/postgres'
  | 'express+sessionkeeper/redis'
  | 'koa+sessionkeeper/memory'
  | 'fastify+sessionkeeper/memory'
  | 'express-session/memory'
  | 'express-session/sqlite'
  | 'express-session/postgres'
  | 'express-session/redis'
  | '@fastify/session/memory';

export const BUILDERS: Record<CaseId, (env: BenchEnv) => Promise<BenchApp>> = {
  express: () => expressApp(null),
  'express+async-floor': () => expressFloor(),
  koa: () => koaApp(null),
  fastify: () => fastifyBaseline(),
  'express+sessionkeeper/memory': async () => expressApp(await sessionkeeper('memory')),
  'express+sessionkeeper/memory,alerts:false': async () => expressApp(await sessionkeeper('memory', false)),
  'express+sessionkeeper/sqlite': async (env) => expressApp(await sessionkeeper('sqlite', undefined, env)),
  'express+sessionkeeper/postgres': async (env) => expressApp(await sessionkeeper('postgres', undefined, env)),
  'express+sessionkeeper/redis': async (env) => {
    const client = await redisClient(env);
    const sessions = await sessionkeeper('redis', false, env, client);
    // The client is the app's, not the store's: it closes after the manager.
    return expressApp(sessions, async () => {
      await sessions.close();
      await client.close();
    });
  },
  'koa+sessionkeeper/memory': async () => koaApp(await sessionkeeper('memory')),
  'fastify+sessionkeeper/memory': async () => fastifySessionkeeper(await sessionkeeper('memory')),
  'express-session/memory': () => expressSession('memory'),
  'express-session/sqlite': (env) => expressSession('sqlite', env),
  'express-session/postgres': (env) => expressSession('postgres', env),
  'express-session/redis': (env) => expressSession('redis', env),
  '@fastify/session/memory': () => fastifySession(),
};

// --- internal ---

const require = createRequire(import.meta.url);
/** express-session and @fastify/session refuse shorter secrets (the latter below 32 characters). */
const SECRET = 'bench-secret-bench-secret-bench-secret';
const USER = 'bench-user';

type Manager = import('../../src/session-manager.js').SessionManager;
type Store = 'memory' | 'sqlite' | 'postgres' | 'redis';

/**
 * A manager with the defaults a user gets (30 min idle timeout, 1 min touch interval, all alert rules).
 * The Redis store has no alerts or activity capability: its manager runs with both off, as a user's
 * without an `alertStore` would (set explicitly, which only silences the notice saying so).
 */
async function sessionkeeper(store: Store, alerts?: false, env?: BenchEnv, client?: RedisClient): Promise<Manager> {
  const { createSessionManager } = await import('sessionkeeper');
  let sessionStore: import('../../src/contracts.js').SessionStore;
  if (store === 'memory') {
    sessionStore = (await import('sessionkeeper/memory')).memoryStore();
  } else if (store === 'sqlite') {
    // The store opens the file in WAL mode with synchronous = NORMAL.
    sessionStore = (await import('sessionkeeper/sqlite')).sqliteStore({ filename: env!.sqliteFile });
  } else if (store === 'postgres') {
    sessionStore = (await import('sessionkeeper/postgres')).postgresStore({ connectionString: env!.postgresUrl, schema: env!.postgresSchema });
  } else {
    sessionStore = (await import('sessionkeeper/redis')).redisStore({ client: client!, prefix: env!.redisPrefix });
  }
  await sessionStore.migrate();
  return createSessionManager({ store: sessionStore, ...(alerts === false ? { alerts: false } : {}), ...(store === 'redis' ? { activity: false } : {}) });
}

type RedisClient = Awaited<ReturnType<typeof redisClient>>;

/** A connected node-redis client with its defaults, as the README's setup creates one. */
async function redisClient(env: BenchEnv) {
  const { createClient } = await import('redis');
  return createClient({ url: env.redisUrl }).connect();
}

function nextN(value: unknown): number {
  return (typeof value === 'number' ? value : 0) + 1;
}

async function expressApp(sessions: Manager | null, close: () => unknown = () => sessions?.close()): Promise<BenchApp> {
  const { default: express } = await import('express');
  const app = express();
  let handled = 0;
  if (sessions === null) {
    let n = 0;
    app.post('/login', (_req, res) => void res.json({ ok: true }));
    app.post('/hit', (_req, res) => {
      handled++;
      res.json({ n: ++n });
    });
  } else {
    const { sessionMiddleware } = await import('sessionkeeper/express');
    app.use(sessionMiddleware(sessions));
    app.post('/login', async (req, res) => {
      await req.sessionkeeper.login(USER);
      res.json({ ok: true });
    });
    app.post('/hit', async (req, res) => {
      handled++;
      const session = req.session;
      if (session === null) return void res.status(401).json({ error: 'no session' });
      const n = nextN(session.metadata.n);
      await sessions.update(session.id, { metadata: { n } });
      res.json({ n });
    });
  }
  const server = app.listen(0, '127.0.0.1');
  return served(server, () => handled, close);
}

/**
 * The plumbing every async session middleware pays on Express, with no session work: a middleware
 * that continues after a resolved promise and sets two request properties, and an async route that
 * awaits once before answering. Session cost minus this floor is the session library's own work.
 */
async function expressFloor(): Promise<BenchApp> {
  const { default: express } = await import('express');
  const app = express();
  let handled = 0;
  let n = 0;
  const done = Promise.resolve();
  app.use((req, _res, next) => {
    void done.then(() => {
      const floor = req as unknown as { session: null; floor: object };
      floor.session = null;
      floor.floor = {};
      next();
    });
  });
  app.post('/login', (_req, res) => void res.json({ ok: true }));
  app.post('/hit', async (_req, res) => {
    handled++;
    await done;
    res.json({ n: ++n });
  });
  const server = app.listen(0, '127.0.0.1');
  return served(server, () => handled, () => undefined);
}

async function koaApp(sessions: Manager | null): Promise<BenchApp> {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  let handled = 0;
  let n = 0;
  if (sessions !== null) {
    const { sessionMiddleware } = await import('sessionkeeper/koa');
    app.use(sessionMiddleware(sessions));
  }
  app.use(async (ctx) => {
    if (ctx.method !== 'POST') return;
    if (ctx.path === '/login') {
      if (sessions !== null) await ctx.state.sessionkeeper.login(USER);
      ctx.body = { ok: true };
    } else if (ctx.path === '/hit') {
      handled++;
      if (sessions === null) {
        ctx.body = { n: ++n };
        return;
      }
      const session = ctx.state.session;
      if (session == null) {
        ctx.status = 401;
        ctx.body = { error: 'no session' };
        return;
      }
      const next = nextN(session.metadata.n);
      await sessions.update(session.id, { metadata: { n: next } });
      ctx.body = { n: next };
    }
  });
  const server = app.listen(0, '127.0.0.1');
  return served(server, () => handled, () => sessions?.close());
}

async function fastifyBaseline(): Promise<BenchApp> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  let handled = 0;
  let n = 0;
  app.post('/login', async () => ({ ok: true }));
  app.post('/hit', async () => {
    handled++;
    return { n: ++n };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return fastifyServed(app, () => handled, undefined);
}

async function fastifySessionkeeper(sessions: Manager): Promise<BenchApp> {
  const { default: Fastify } = await import('fastify');
  const { sessionkeeper: plugin } = await import('sessionkeeper/fastify');
  const app = Fastify();
  let handled = 0;
  await app.register(plugin, { manager: sessions });
  app.post('/login', async (request) => {
    await request.sessionkeeper.login(USER);
    return { ok: true };
  });
  app.post('/hit', async (request, reply) => {
    handled++;
    const session = request.session;
    if (session === null) return reply.code(401).send({ error: 'no session' });
    const n = nextN(session.metadata.n);
    await sessions.update(session.id, { metadata: { n } });
    return { n };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return fastifyServed(app, () => handled, () => sessions.close());
}

/** The members of an express-session session used here. */
interface ExpressSessionData {
  user?: string;
  n?: number;
}
type ExpressSessionFactory = ((options: Record<string, unknown>) => import('express').RequestHandler) & { Store: unknown };

async function expressSession(store: Store, env?: BenchEnv): Promise<BenchApp> {
  const { default: express } = await import('express');
  const session = require('express-session') as ExpressSessionFactory;
  let storeInstance: unknown;
  let closeStore: () => Promise<void> | void = () => {};
  if (store === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(env!.sqliteFile);
    // The same journal as sessionkeeper's SQLite store, so that the comparison is of the stores.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const SqliteStore = (require('better-sqlite3-session-store') as (s: ExpressSessionFactory) => new (options: Record<string, unknown>) => unknown)(session);
    // Its expiry sweep runs every 15 minutes: never during a run.
    storeInstance = new SqliteStore({ client: db, expired: { clear: true, intervalMs: 900_000 } });
    closeStore = () => {
      db.close();
    };
  } else if (store === 'postgres') {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: env!.postgresUrl });
    const PgStore = (require('connect-pg-simple') as (s: ExpressSessionFactory) => new (options: Record<string, unknown>) => { close(): void })(session);
    const pgStore = new PgStore({ pool, schemaName: env!.postgresSchema, createTableIfMissing: true });
    storeInstance = pgStore;
    closeStore = async () => {
      pgStore.close();
      await pool.end();
    };
  } else if (store === 'redis') {
    const client = await redisClient(env!);
    const { RedisStore } = require('connect-redis') as { RedisStore: new (options: Record<string, unknown>) => unknown };
    storeInstance = new RedisStore({ client, prefix: env!.redisPrefix });
    closeStore = () => client.close();
  }
  const app = express();
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: false, cookie: { secure: false }, ...(storeInstance ? { store: storeInstance } : {}) }));
  let handled = 0;
  // req.session is typed as sessionkeeper's in this program (see the top of this file).
  const data = (req: unknown) => (req as { session: ExpressSessionData }).session;
  app.post('/login', (req, res) => {
    data(req).user = USER;
    res.json({ ok: true });
  });
  app.post('/hit', (req, res) => {
    handled++;
    const s = data(req);
    if (s.user !== USER) return void res.status(401).json({ error: 'no session' });
    s.n = nextN(s.n);
    res.json({ n: s.n });
  });
  const server = app.listen(0, '127.0.0.1');
  return served(server, () => handled, closeStore);
}

/** The members of an @fastify/session session used here. */
interface FastifySessionObject {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

async function fastifySession(): Promise<BenchApp> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  // Default memory store; the plugin needs @fastify/cookie registered first.
  await app.register(require('@fastify/cookie') as import('fastify').FastifyPluginCallback);
  await app.register(require('@fastify/session') as import('fastify').FastifyPluginCallback<Record<string, unknown>>, {
    secret: SECRET,
    saveUninitialized: false,
    cookie: { secure: false },
  });
  let handled = 0;
  // request.session is typed as sessionkeeper's in this program (see the top of this file).
  const data = (request: unknown) => (request as { session: FastifySessionObject }).session;
  app.post('/login', async (request) => {
    data(request).set('user', USER);
    return { ok: true };
  });
  app.post('/hit', async (request, reply) => {
    handled++;
    const s = data(request);
    if (s.get('user') !== USER) return reply.code(401).send({ error: 'no session' });
    const n = nextN(s.get('n'));
    s.set('n', n);
    return { n };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return fastifyServed(app, () => handled, undefined);
}

async function served(server: Server, handled: () => number, closeMore: () => unknown): Promise<BenchApp> {
  if (!server.listening) await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  return {
    port: (server.address() as AddressInfo).port,
    handled,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await closeMore();
    },
  };
}

function fastifyServed(app: import('fastify').FastifyInstance, handled: () => number, closeMore: (() => unknown) | undefined): BenchApp {
  return {
    port: (app.server.address() as AddressInfo).port,
    handled,
    async close() {
      await app.close();
      await closeMore?.();
    },
  };
}
