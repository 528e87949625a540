import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa, { type Context, type Middleware } from 'koa';
import { requireSession, sessionMiddleware, sessionRoutes } from '../../../adapters/http/koa/index.js';
import { createSessionHttp, readJsonBody } from '../../../src/http/index.js';
import type { Framework } from '../servers.js';

const SELF_SERVICE = '/api/v1/me/sessions';

/**
 * The test app on Koa 3: see `Framework` in ../servers.ts for the routes. Koa has no router of its
 * own, so a few lines below dispatch `METHOD /path` to a chain of middleware, as @koa/router would.
 */
export const koa: Framework = {
  name: 'koa',
  async start(manager, options = {}) {
    const app = new Koa();

    // Only errorResponse() is used: the options of this core do not matter.
    const errors = createSessionHttp(manager);
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        const response = errors.errorResponse(error);
        ctx.status = response.status;
        ctx.set(response.headers as Record<string, string>);
        ctx.body = response.body === undefined ? null : response.body;
      }
    });
    app.use(sessionMiddleware(manager, options.middleware));

    const routes = new Map<string, Middleware[]>();
    const route = (method: string, path: string, ...chain: Middleware[]) => routes.set(`${method} ${path}`, chain);

    route('POST', '/login', async (ctx) => {
      const body = (await readJsonBody(ctx.req)) as { userId?: unknown } | undefined;
      const { session, token } = await ctx.state.sessionkeeper.login(body?.userId as string);
      ctx.body = { id: session.id, token };
    });
    route('POST', '/logout', async (ctx) => {
      await ctx.state.sessionkeeper.logout();
      ctx.status = 204;
    });
    route('POST', '/rotate', requireSession(), async (ctx) => {
      const { session, token } = await ctx.state.sessionkeeper.rotate();
      ctx.body = { id: session.id, token };
    });
    route('GET', '/protected', requireSession(), (ctx) => {
      ctx.body = { userId: ctx.state.session!.userId, sessionId: ctx.state.session!.id };
    });
    route('GET', '/public', (ctx) => {
      ctx.body = { sessionId: ctx.state.session?.id ?? null };
    });

    app.use(async (ctx, next) => {
      const chain = routes.get(`${ctx.method} ${ctx.path}`);
      if (chain === undefined) return next();
      await run(chain, ctx, next);
    });

    // Like Express's app.use(prefix, requireSession(), sessionRoutes()): everything under the prefix.
    const selfService = [requireSession(), sessionRoutes(manager, { ...options.routes, prefix: SELF_SERVICE })];
    app.use(async (ctx, next) => {
      if (ctx.path !== SELF_SERVICE && !ctx.path.startsWith(`${SELF_SERVICE}/`)) return next();
      await run(selfService, ctx, next);
    });

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

/** Runs `chain` in order, each step's `next` calling the following one and the last calling `done`. */
function run(chain: readonly Middleware[], ctx: Context, done: () => Promise<unknown>): Promise<unknown> {
  const step = async (i: number): Promise<unknown> => (i === chain.length ? done() : chain[i]!(ctx, () => step(i + 1)));
  return step(0);
}
