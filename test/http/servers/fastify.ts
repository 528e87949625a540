import Fastify, { type FastifyInstance } from 'fastify';
import { requireSession, sessionErrorHandler, sessionkeeper } from '../../../adapters/http/fastify/index.js';
import { LABS_PREFIX, SESSIONS_PREFIX, type Framework } from '../servers.js';

/** The test app on Fastify 5: see `Framework` in ../servers.ts for the routes. */
export const fastify: Framework = {
  name: 'fastify',
  async start(manager, options = {}) {
    // An HTTPS instance is typed over https.Server; the routes below do not care which server it is.
    const app = (options.tls ? Fastify({ https: options.tls }) : Fastify()) as FastifyInstance;

    // The app's own routes; the plugin's routes have their own handler in their own context.
    app.setErrorHandler(sessionErrorHandler());

    await app.register(sessionkeeper, {
      ...options.middleware,
      manager,
      routesPrefix: SESSIONS_PREFIX,
      ...(options.routes ? { routes: options.routes } : {}),
      ...(options.labs ? { labs: options.labs, labsPrefix: LABS_PREFIX, ...(options.labRoutes ? { labRoutes: options.labRoutes } : {}) } : {}),
    });

    app.post('/login', async (request) => {
      const body = request.body as { userId?: unknown } | undefined;
      const { session, token } = await request.sessionkeeper.login(body?.userId as string);
      return { id: session.id, token };
    });
    app.get('/callback', async (request) => {
      const { session, token } = await request.sessionkeeper.login((request.query as { userId?: string }).userId as string);
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
