import Fastify from 'fastify';
import { requireSession, sessionkeeper } from '../../../adapters/http/fastify/index.js';
import { createSessionHttp, HttpError } from '../../../src/http/index.js';
import type { Framework } from '../servers.js';

/** The test app on Fastify 5: see `Framework` in ../servers.ts for the routes. */
export const fastify: Framework = {
  name: 'fastify',
  async start(manager, options = {}) {
    const app = Fastify();

    // The app's own routes: what a handler throws comes out through errorResponse(), whose core
    // options do not matter. The plugin's routes have their own handler in their own context.
    const errors = createSessionHttp(manager);
    app.setErrorHandler((error, _request, reply) => {
      // Fastify's body errors (FST_ERR_CTP_*, 400/413/415) are unknown to the core, which would answer
      // 500 INTERNAL; an app translates them, as here (the plugin's routes do it themselves).
      const response = errors.errorResponse(isBodyError(error) ? new HttpError(error.statusCode, 'INVALID_BODY', 'The request body is not valid JSON') : error);
      return reply.code(response.status).headers(response.headers as Record<string, string>).send(response.body);
    });

    await app.register(sessionkeeper, { ...options.middleware, manager, routesPrefix: '/api/v1/me/sessions', ...(options.routes ? { routes: options.routes } : {}) });

    app.post('/login', async (request) => {
      const body = request.body as { userId?: unknown } | undefined;
      const { session, token } = await request.sessionkeeper.login(body?.userId as string);
      return { id: session.id, token };
    });
    app.post('/logout', async (request, reply) => {
      await request.sessionkeeper.logout();
      return reply.code(204).send();
    });
    app.post('/rotate', { preHandler: requireSession }, async (request) => {
      const { session, token } = await request.sessionkeeper.rotate();
      return { id: session.id, token };
    });
    app.get('/protected', { preHandler: requireSession }, async (request) => ({ userId: request.session!.userId, sessionId: request.session!.id }));
    app.get('/public', async (request) => ({ sessionId: request.session?.id ?? null }));

    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      url: address,
      close: async () => {
        const closed = app.close();
        // Keep-alive connections too, as the other factories do.
        app.server.closeAllConnections();
        await closed;
      },
    };
  },
};

// --- internal ---

function isBodyError(error: unknown): error is { statusCode: number; code: string } {
  const e = error as { statusCode?: unknown; code?: unknown } | null;
  return typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 && typeof e.code === 'string' && e.code.startsWith('FST_ERR_CTP_');
}
