/**
 * The Koa example: a demo sign-in, a protected JSON route and the self-service session API, on a
 * SQLite file. `tsx examples/koa/server.ts` starts it; tests call `createApp()` and listen on an
 * ephemeral port. The Express example (examples/express) also has the "Your devices" page.
 *
 * Copy from it: the imports are the public package entries, as in your app.
 */
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import { createSessionManager, type SessionManager, type SessionStore } from 'sessionkeeper';
import { requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from 'sessionkeeper/koa';
import { sqliteStore } from 'sessionkeeper/sqlite';

export interface ExampleOptions {
  /** Where sessions live; migrated on start. Default: a SQLite file at `filename`. */
  store?: SessionStore;
  /** The SQLite file used when no `store` is given. Default: `sessionkeeper-example-koa.db` in the OS temp folder. */
  filename?: string;
}

export interface ExampleApp {
  app: Koa;
  sessions: SessionManager;
  /** Closes the session manager and its store. Stop the HTTP server first. */
  close(): Promise<void>;
}

/** The SQLite file the example uses unless told otherwise. */
export const DEFAULT_DATABASE = join(tmpdir(), 'sessionkeeper-example-koa.db');

const SESSION_ROUTES = '/api/v1/me/sessions';

/**
 * Builds the example app; it does not listen.
 *
 * @example
 * const { app, close } = await createApp({ filename: 'sessions.db' });
 * const server = app.listen(3000, '127.0.0.1');
 */
export async function createApp(options: ExampleOptions = {}): Promise<ExampleApp> {
  const store = options.store ?? sqliteStore({ filename: options.filename ?? DEFAULT_DATABASE });
  await store.migrate();
  const sessions = createSessionManager({ store, idleTimeout: '1d', absoluteTimeout: '30d', maxSessionsPerUser: 10, onLimit: 'evict-oldest' });

  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      // ctx.throw(4xx) from the routes below; anything else is a bug, logged and not shown.
      const status = (error as { status?: number }).status ?? 500;
      const code = ERROR_CODES[status];
      if (code === undefined) console.error(error);
      ctx.status = code === undefined ? 500 : status;
      ctx.body = { error: code === undefined ? { code: 'INTERNAL', message: 'Internal error' } : { code, message: (error as Error).message } };
    }
  });
  // What sessionkeeper throws below (e.g. 503 when the store is down), as JSON.
  app.use(sessionErrorHandler());
  app.use(
    sessionMiddleware(sessions, {
      // secure: false ONLY because this example runs on plain http://127.0.0.1. In production keep
      // the default (secure: true), which browsers never send over plain http.
      cookie: { secure: false },
    }),
  );

  const router = new Router();
  router.get('/', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.type = 'html';
    ctx.body = homePage(ctx.state.session?.userId ?? null);
  });

  // DEMO ONLY: anyone may sign in as any name. A real app checks a password, passkey or SSO here,
  // then calls the same login(). login() refuses a cross-site sign-in (403 FORBIDDEN_ORIGIN, through
  // sessionErrorHandler() above) before it creates anything: no form elsewhere can sign you in.
  router.post('/login', async (ctx) => {
    const name = (await readForm(ctx)).get('name')?.trim() ?? '';
    if (!NAME.test(name)) ctx.throw(400, 'Type a name of 1 to 64 characters');
    await ctx.state.sessionkeeper.login(name);
    ctx.status = 303;
    ctx.redirect('/');
  });
  // The middleware refuses cross-site POSTs that carry the session cookie (403 FORBIDDEN_ORIGIN).
  router.post('/logout', async (ctx) => {
    await ctx.state.sessionkeeper.logout();
    ctx.status = 303;
    ctx.redirect('/');
  });

  router.get('/api/me', requireSession(), (ctx) => {
    const session = ctx.state.session!;
    ctx.set('cache-control', 'no-store');
    ctx.body = { userId: session.userId, sessionId: session.id, device: session.device?.label ?? null };
  });
  app.use(router.routes());
  app.use(router.allowedMethods());

  // Koa has no mounting: everything under the prefix needs a session, and sessionRoutes() matches
  // the prefix itself.
  const guard = requireSession();
  app.use((ctx, next) => (ctx.path === SESSION_ROUTES || ctx.path.startsWith(`${SESSION_ROUTES}/`) ? guard(ctx, next) : next()));
  app.use(sessionRoutes(sessions, { prefix: SESSION_ROUTES }));

  return { app, sessions, close: () => sessions.close() };
}

// --- internal ---

const NAME = /^[^\u0000-\u001f\u007f]{1,64}$/u;
const MAX_FORM_BYTES = 2048;
const ERROR_CODES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 404: 'NOT_FOUND', 405: 'NOT_FOUND', 413: 'INVALID_BODY', 415: 'INVALID_BODY' };

/** Reads a small `application/x-www-form-urlencoded` body; Koa parses no bodies itself. */
async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) ctx.throw(415, 'Send the form as application/x-www-form-urlencoded');
  let text = '';
  for await (const chunk of ctx.req as IncomingMessage) {
    text += String(chunk);
    if (text.length > MAX_FORM_BYTES) ctx.throw(413, 'The form is too large');
  }
  return new URLSearchParams(text);
}

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
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>sessionkeeper Koa example</title></head>
<body>
<main>
  <h1>sessionkeeper Koa example</h1>
  ${body}
</main>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
