/**
 * The Express example: a demo sign-in, a protected JSON route, the self-service session API and a
 * "Your devices" page, on a SQLite file. `npm run demo` starts it (server.ts); tests call
 * `createApp()` and listen on an ephemeral port.
 *
 * Copy from it: the imports are the public package entries, as in your app.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { createSessionManager, type SessionManager, type SessionStore } from 'sessionkeeper';
import { requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from 'sessionkeeper/express';
import { sqliteStore } from 'sessionkeeper/sqlite';

export interface ExampleOptions {
  /** Where sessions live; migrated on start. Default: a SQLite file at `filename`. */
  store?: SessionStore;
  /** The SQLite file used when no `store` is given. Default: `sessionkeeper-example.db` in the OS temp folder. */
  filename?: string;
}

export interface ExampleApp {
  app: Express;
  sessions: SessionManager;
  /** Closes the session manager and its store. Stop the HTTP server first. */
  close(): Promise<void>;
}

/** The SQLite file the example uses unless told otherwise. */
export const DEFAULT_DATABASE = join(tmpdir(), 'sessionkeeper-example.db');

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

  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    // Scripts and styles come only from /static: an injected <script> would not run.
    res.set({ 'content-security-policy': "default-src 'self'; frame-ancestors 'none'", 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
    next();
  });
  app.use('/static', express.static(join(import.meta.dirname, 'public', 'static')));
  app.use(
    sessionMiddleware(sessions, {
      // secure: false ONLY because this example runs on plain http://127.0.0.1. In production keep
      // the default (secure: true), which browsers never send over plain http.
      cookie: { secure: false },
    }),
  );

  app.get('/', (req, res) => res.redirect(req.session ? '/devices' : '/login'));
  app.get('/login', (req, res) => {
    if (req.session) return res.redirect('/devices');
    sendPage(res, 'login.html');
  });

  // DEMO ONLY: anyone may sign in as any name. A real app checks a password, passkey or SSO here,
  // then calls the same login(). login() refuses a cross-site sign-in (403 FORBIDDEN_ORIGIN, through
  // sessionErrorHandler() below) before it creates anything: no form elsewhere can sign you in.
  app.post('/login', express.urlencoded({ extended: false, limit: '2kb' }), async (req, res) => {
    const name = typeof req.body?.name === 'string' ? req.body.name.trim() : '';
    if (!NAME.test(name)) {
      return res.status(400).type('html').send('<!doctype html><title>Sign-in failed</title><p>Type a name of 1 to 64 characters. <a href="/login">Back</a></p>');
    }
    await req.sessionkeeper.login(name);
    res.redirect(303, '/devices');
  });
  // The middleware refuses cross-site POSTs that carry the session cookie (403 FORBIDDEN_ORIGIN).
  app.post('/logout', async (req, res) => {
    await req.sessionkeeper.logout();
    res.redirect(303, '/login');
  });

  app.get('/devices', (req, res) => {
    if (!req.session) return res.redirect('/login');
    sendPage(res, 'devices.html');
  });

  app.get('/api/me', requireSession(), (req, res) => {
    const session = req.session!;
    res.set('cache-control', 'no-store').json({ userId: session.userId, sessionId: session.id, device: session.device?.label ?? null });
  });
  app.use('/api/v1/me/sessions', requireSession(), sessionRoutes(sessions));

  // What sessionkeeper throws in the routes above (e.g. 503 when the store is down), as JSON;
  // anything else reaches the last handler.
  app.use(sessionErrorHandler());
  const onError: ErrorRequestHandler = (error, _req, res, next) => {
    if (res.headersSent) return next(error);
    console.error(error);
    res.status(500).json({ error: { code: 'INTERNAL', message: 'Internal error' } });
  };
  app.use(onError);

  return { app, sessions, close: () => sessions.close() };
}

// --- internal ---

const NAME = /^[^\u0000-\u001f\u007f]{1,64}$/u;

function sendPage(res: express.Response, file: string): void {
  // Pages show who is signed in: never cache them, so Back and reload ask the server again.
  res.set('cache-control', 'no-store').sendFile(join(import.meta.dirname, 'public', file));
}
