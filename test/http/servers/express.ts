import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import createApp, { json, type ErrorRequestHandler } from 'express';
import { requireSession, sessionMiddleware, sessionRoutes } from '../../../adapters/http/express/index.js';
import { createSessionHttp, HttpError } from '../../../src/http/index.js';
import type { Framework } from '../servers.js';

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
    app.use('/api/v1/me/sessions', requireSession(), sessionRoutes(manager, options.routes));

    // Only errorResponse() is used: the options of this core do not matter.
    const errors = createSessionHttp(manager);
    const onError: ErrorRequestHandler = (error, _req, res, next) => {
      if (res.headersSent) return next(error);
      // express.json() throws http-errors (status 400/413/415, expose: true) that the core does not
      // know; the core would answer 500 INTERNAL. An app translates them, as here.
      const response = errors.errorResponse(isBodyParserError(error) ? new HttpError(error.status, 'INVALID_BODY', 'The request body is not valid JSON') : error);
      res.status(response.status).set(response.headers);
      if (response.body === undefined) res.end();
      else res.json(response.body);
    };
    app.use(onError);

    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          server.closeAllConnections();
        }),
    };
  },
};

// --- internal ---

function isBodyParserError(error: unknown): error is { status: number; type: string } {
  const e = error as { status?: unknown; type?: unknown; expose?: unknown } | null;
  return typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true && typeof e.type === 'string' && e.type.startsWith('entity.');
}
