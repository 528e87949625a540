/**
 * The lab example: an Express JSON API on a SQLite file where a signed-in user starts a Docker "lab"
 * (an isolated network with an attacker and a target container), reads its resource usage, extends
 * it, and loses it when the session ends. `npm run lab` walks through it (run.ts); tests call
 * `createLabApp()` and listen on an ephemeral port.
 *
 * Copy from it: the imports are the public package entries, as in your app.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { createSessionManager, type SessionManager, type SessionStore } from 'sessionkeeper';
import { dockerLabs, type Labs, type LabStore, type LabTemplate } from 'sessionkeeper/docker';
import { labRoutes, requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from 'sessionkeeper/express';
import { sqliteStore } from 'sessionkeeper/sqlite';

export interface LabExampleOptions {
  /** Where sessions and labs live; migrated on start. Default: a SQLite file at `filename`. */
  store?: SessionStore & { readonly labs: LabStore };
  /** The SQLite file used when no `store` is given. Default: `sessionkeeper-labs-example.db` in the OS temp folder. */
  filename?: string;
  /** The image both lab containers run; it must be on the engine (nothing is pulled). Default: `LAB_IMAGE` or `sessionkeeper-busybox:latest`. */
  image?: string;
  /** The IPv4 network lab subnets (one /24 each) are carved from. Default `'10.200.0.0/16'`. */
  addressPool?: string;
  /** Label value marking this app's Docker objects; apps sharing an engine need different ones. Default `'example'`. */
  scope?: string;
  /**
   * Stop every live lab in `close()`. Default false: labs belong to sessions, not to the process, so
   * a restarted server finds them running (and its reconcile stops the ones whose session ended).
   * The demo script sets it so that nothing outlives it.
   */
  stopLabsOnClose?: boolean;
}

export interface LabExampleApp {
  app: Express;
  sessions: SessionManager;
  labs: Labs;
  /** Closes the lab provisioner (after stopping its labs with `stopLabsOnClose`), then the session manager and store. Stop the HTTP server first. */
  close(): Promise<void>;
}

/** The SQLite file the example uses unless told otherwise. */
export const DEFAULT_LAB_DATABASE = join(tmpdir(), 'sessionkeeper-labs-example.db');

/** The one kind of lab this app offers; `image` is filled in by {@link createLabApp}. */
export function webPentestTemplate(image: string): LabTemplate {
  return {
    containers: [
      // Containers run with every capability dropped; ping and raw-socket scanners need NET_RAW back.
      { name: 'attacker', image, cpus: 0.5, memory: '64m', ip: 10, cmd: ['sleep', '3600'], capAdd: ['NET_RAW'] },
      // busybox's web server, reachable only from inside the lab network.
      { name: 'target', image, cpus: 0.5, memory: '64m', ip: 20, cmd: ['httpd', '-f', '-p', '80', '-h', '/tmp'] },
    ],
    // No route out, and none to the host: what runs in a lab reaches only the other containers of that lab.
    internal: true,
    timeLimit: '2h',
    maxExtensions: 3,
  };
}

/**
 * Builds the lab example app; it does not listen. Needs a Docker engine with the image.
 *
 * @example
 * const { app, close } = await createLabApp({ filename: 'labs.db' });
 * const server = app.listen(3000, '127.0.0.1');
 */
export async function createLabApp(options: LabExampleOptions = {}): Promise<LabExampleApp> {
  const store = options.store ?? sqliteStore({ filename: options.filename ?? DEFAULT_LAB_DATABASE });
  await store.migrate();
  const sessions = createSessionManager({ store, idleTimeout: '1d', absoluteTimeout: '30d', maxSessionsPerUser: 10, onLimit: 'evict-oldest' });
  const image = options.image ?? process.env.LAB_IMAGE ?? 'sessionkeeper-busybox:latest';
  const labs = dockerLabs({
    manager: sessions,
    // Labs are stored beside the sessions that own them, in the same database.
    store: store.labs,
    addressPool: options.addressPool ?? '10.200.0.0/16',
    templates: { 'web-pentest': webPentestTemplate(image) },
    maxLabsPerUser: 1,
    // A lab whose session has been idle this long is stopped, so forgotten tabs do not hold containers.
    idleStop: '30m',
    scope: options.scope ?? 'example',
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(
    sessionMiddleware(sessions, {
      // secure: false ONLY because this example runs on plain http://127.0.0.1. In production keep
      // the default (secure: true), which browsers never send over plain http.
      cookie: { secure: false },
    }),
  );

  // DEMO ONLY: anyone may sign in as any name. A real app checks a password, passkey or SSO here,
  // then calls the same login(). Only a JSON body is read: a cross-site form cannot send
  // application/json without a CORS preflight, which this app never answers (login CSRF).
  app.post('/login', express.json({ limit: '2kb' }), async (req, res) => {
    const name = typeof req.body?.name === 'string' ? req.body.name.trim() : '';
    if (!NAME.test(name)) {
      return res.status(400).json({ error: { code: 'INVALID_ARGUMENT', message: 'Send JSON { "name": "..." } with 1 to 64 characters' } });
    }
    const { session } = await req.sessionkeeper.login(name);
    res.json({ userId: session.userId, sessionId: session.id });
  });
  // Revoking the session also stops its labs: dockerLabs() listens for the manager's "revoked" event.
  app.post('/logout', async (req, res) => {
    await req.sessionkeeper.logout();
    res.status(204).end();
  });

  app.use('/api/v1/me/sessions', requireSession(), sessionRoutes(sessions));
  app.use('/api/v1/me/labs', requireSession(), labRoutes(labs));

  // What sessionkeeper throws in the routes above (e.g. 503 when the store is down), as JSON;
  // anything else reaches the last handler.
  app.use(sessionErrorHandler());
  const onError: ErrorRequestHandler = (error, _req, res, next) => {
    if (res.headersSent) return next(error);
    console.error(error);
    res.status(500).json({ error: { code: 'INTERNAL', message: 'Internal error' } });
  };
  app.use(onError);

  return {
    app,
    sessions,
    labs,
    async close() {
      try {
        if (options.stopLabsOnClose) await Promise.all((await labs.list()).map((lab) => labs.stop(lab.id)));
      } finally {
        await labs.close();
        await sessions.close();
      }
    },
  };
}

// --- internal ---

const NAME = /^[^\u0000-\u001f\u007f]{1,64}$/u;

