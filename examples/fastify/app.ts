/**
 * The Fastify example: a demo sign-in, a protected JSON route and the self-service session API, on
 * a SQLite file. `tsx examples/fastify/server.ts` starts it; tests call `createApp()` and listen on
 * an ephemeral port. The Express example (examples/express) also has the "Your devices" page.
 *
 * Copy from it: the imports are the public package entries, as in your app.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { createSessionManager, type SessionManager, type SessionStore } from 'sessionkeeper';
import { requireSession, sessionErrorHandler, sessionkeeper } from 'sessionkeeper/fastify';
import { sqliteStore } from 'sessionkeeper/sqlite';

export interface ExampleOptions {
  /** Where sessions live; migrated on start. Default: a SQLite file at `filename`. */
  store?: SessionStore;
  /** The SQLite file used when no `store` is given. Default: `sessionkeeper-example-fastify.db` in the OS temp folder. */
  filename?: string;
  /** Fastify's request log. Default `false`. */
  logger?: boolean;
}

export interface ExampleApp {
  app: FastifyInstance;
  sessions: SessionManager;
  /** Stops the server (when listening) and closes the session manager and its store. */
  close(): Promise<void>;
}

/** The SQLite file the example uses unless told otherwise. */
export const DEFAULT_DATABASE = join(tmpdir(), 'sessionkeeper-example-fastify.db');

const SESSION_ROUTES = '/api/v1/me/sessions';

/**
 * Builds the example app, plugins loaded; it does not listen.
 *
 * @example
 * const { app } = await createApp({ filename: 'sessions.db' });
 * await app.listen({ port: 3000, host: '127.0.0.1' });
 */
export async function createApp(options: ExampleOptions = {}): Promise<ExampleApp> {
  const store = options.store ?? sqliteStore({ filename: options.filename ?? DEFAULT_DATABASE });
  await store.migrate();
  const sessions = createSessionManager({ store, idleTimeout: '1d', absoluteTimeout: '30d', maxSessionsPerUser: 10, onLimit: 'evict-oldest' });

  const app = Fastify({ logger: options.logger ?? false });
  app.addHook('onClose', () => sessions.close());
  await app.register(sessionkeeper, {
    manager: sessions,
    routesPrefix: SESSION_ROUTES,
    // secure: false ONLY because this example runs on plain http://127.0.0.1. In production keep
    // the default (secure: true), which browsers never send over plain http.
    cookie: { secure: false },
  });
  // What sessionkeeper throws in the routes (e.g. 503 when the store is down), as JSON.
  app.setErrorHandler(sessionErrorHandler());
  // The sign-in form's body; Fastify parses only JSON itself.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 2048 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.get('/', async (request, reply) => {
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(homePage(request.session?.userId ?? null));
  });

  // DEMO ONLY: anyone may sign in as any name. A real app checks a password, passkey or SSO here,
  // then calls the same login(). login() refuses a cross-site sign-in (403 FORBIDDEN_ORIGIN, through
  // sessionErrorHandler() above) before it creates anything: no form elsewhere can sign you in.
  app.post<{ Body: { name?: unknown } }>('/login', async (request, reply) => {
    const name = typeof request.body?.name === 'string' ? request.body.name.trim() : '';
    if (!NAME.test(name)) return reply.code(400).send({ error: { code: 'INVALID_ARGUMENT', message: 'Type a name of 1 to 64 characters' } });
    await request.sessionkeeper.login(name);
    return reply.redirect('/', 303);
  });
  // The plugin refuses cross-site POSTs that carry the session cookie (403 FORBIDDEN_ORIGIN).
  app.post('/logout', async (request, reply) => {
    await request.sessionkeeper.logout();
    return reply.redirect('/', 303);
  });

  app.get('/api/me', { preHandler: requireSession }, async (request, reply) => {
    const session = request.session!;
    return reply.header('cache-control', 'no-store').send({ userId: session.userId, sessionId: session.id, device: session.device?.label ?? null });
  });

  await app.ready();
  return { app, sessions, close: () => app.close() };
}

// --- internal ---

const NAME = /^[^\u0000-\u001f\u007f]{1,64}$/u;

function homePage(userId: string | null): string {
  const body =
    userId === null
      ? `<p><strong>This is a demo:</strong> there is no password. Type any name to sign in as that user.</p>
  <form method="post" action="/login">
    <label for="name">Your name</label>
    <input id="name" name="name" required maxlength="64" autocomplete="username">
    <button type="submit">Sign in</button>
  </form>`
      : `<p>Signed in as <strong>${escapeHtml(userId)}</strong>.</p>
  <ul>
    <li><a href="/api/me">/api/me</a>: the protected route</li>
    <li><a href="${SESSION_ROUTES}">${SESSION_ROUTES}</a>: your sessions</li>
  </ul>
  <form method="post" action="/logout"><button type="submit">Sign out</button></form>`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>sessionkeeper Fastify example</title></head>
<body>
<main>
  <h1>sessionkeeper Fastify example</h1>
  ${body}
</main>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
