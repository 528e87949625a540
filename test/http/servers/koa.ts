import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { labRoutes, requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from '../../../adapters/http/koa/index.js';
import { readJsonBody } from '../../../src/http/index.js';
import { LABS_PREFIX, SESSIONS_PREFIX, type Framework } from '../servers.js';

/** The test app on Koa 3 with @koa/router: see `Framework` in ../servers.ts for the routes. */
export const koa: Framework = {
  name: 'koa',
  async start(manager, options = {}) {
    const app = new Koa();

    app.use(sessionErrorHandler());
    app.use(sessionMiddleware(manager, options.middleware));

    const router = new Router();
    router.post('/login', async (ctx) => {
      const body = (await readJsonBody(ctx.req)) as { userId?: unknown } | undefined;
      const { session, token } = await ctx.state.sessionkeeper.login(body?.userId as string);
      ctx.body = { id: session.id, token };
    });
    router.get('/callback', async (ctx) => {
      const { session, token } = await ctx.state.sessionkeeper.login(ctx.query.userId as string);
      ctx.body = { id: session.id, token };
    });
    router.post('/logout', async (ctx) => {
      await ctx.state.sessionkeeper.logout();
      ctx.status = 204;
    });
    router.post('/rotate', requireSession(), async (ctx) => {
      const { session, token } = await ctx.state.sessionkeeper.rotate();
      ctx.body = { id: session.id, token };
    });
    router.get('/protected', requireSession(), (ctx) => {
      ctx.body = { userId: ctx.state.session!.userId, sessionId: ctx.state.session!.id };
    });
    router.get('/public', (ctx) => {
      ctx.body = { sessionId: ctx.state.session?.id ?? null };
    });
    app.use(router.routes());

    // Like Express's app.use(prefix, requireSession(), sessionRoutes()): everything under the prefixes
    // needs a session; sessionRoutes() and labRoutes() match their prefix themselves.
    const guard = requireSession();
    const guarded = options.labs ? [SESSIONS_PREFIX, LABS_PREFIX] : [SESSIONS_PREFIX];
    app.use((ctx, next) => (guarded.some((prefix) => ctx.path === prefix || ctx.path.startsWith(`${prefix}/`)) ? guard(ctx, next) : next()));
    app.use(sessionRoutes(manager, { ...options.routes, prefix: SESSIONS_PREFIX }));
    if (options.labs) app.use(labRoutes(options.labs, { ...options.labRoutes, prefix: LABS_PREFIX }));

    const server = options.tls ? createServer(options.tls, app.callback()).listen(0, '127.0.0.1') : app.listen(0, '127.0.0.1');
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
