import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import createApp, { json } from 'express';
import { labRoutes, requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from '../../../adapters/http/express/index.js';
import { LABS_PREFIX, SESSIONS_PREFIX, type Framework } from '../servers.js';

/** The test app on Express 5: see `Framework` in ../servers.ts for the routes. */
export const express: Framework = {
  name: 'express',
  async start(manager, options = {}) {
    const app = createApp();
    app.use(sessionMiddleware(manager, options.middleware));

    app.post('/login', json(), async (req, res) => {
      const body = req.body as { userId?: unknown } | undefined;
      const { session, token } = await req.sessionkeeper.login(body?.userId as string);
      res.json({ id: session.id, token });
    });
    app.get('/callback', async (req, res) => {
      const { session, token } = await req.sessionkeeper.login(req.query.userId as string);
      res.json({ id: session.id, token });
    });
    app.post('/logout', async (req, res) => {
      await req.sessionkeeper.logout();
      res.status(204).end();
    });
    app.post('/rotate', requireSession(), async (req, res) => {
      const { session, token } = await req.sessionkeeper.rotate();
      res.json({ id: session.id, token });
    });
    app.get('/protected', requireSession(), (req, res) => {
      res.json({ userId: req.session!.userId, sessionId: req.session!.id });
    });
    app.get('/public', (req, res) => {
      res.json({ sessionId: req.session?.id ?? null });
    });
    app.use(SESSIONS_PREFIX, requireSession(), sessionRoutes(manager, options.routes));
    if (options.labs) app.use(LABS_PREFIX, requireSession(), labRoutes(options.labs, options.labRoutes));

    // What sessionkeeper and express.json() throw in the routes above, as JSON.
    app.use(sessionErrorHandler());

    const server = options.tls ? createServer(options.tls, app).listen(0, '127.0.0.1') : app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return {
      url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          server.closeAllConnections();
        }),
    };
  },
};
