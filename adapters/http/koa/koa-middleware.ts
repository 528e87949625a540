import type { Context, Middleware } from 'koa';
import type { Session } from '../../../src/contracts.js';
import { invalidConfig, invalidConfigError, SessionError } from '../../../src/errors.js';
import {
  appendSetCookie,
  bodyOf,
  checkPrefix,
  contentLength,
  createSelfService,
  createSessionHttp,
  fromNodeRequest,
  helperTarget,
  knownErrorResponse,
  pathBelow,
  requestHelpers,
  sendResponse,
  serveRoute,
  splitRequestTarget,
  type Authentication,
  type HttpRequest,
  type HttpResponse,
  type ResponseSink,
  type RouteTable,
  type SelfServiceOptions,
  type SessionHttp,
  type SessionHelpers,
  type SessionHttpOptions,
} from '../../../src/http/index.js';
import { createLabRoutes, type LabRoutesOptions, type Labs } from '../../../src/labs/index.js';
import type { SessionManager } from '../../../src/session-manager.js';

/** What `ctx.state.sessionkeeper` offers a route handler. */
export type SessionkeeperState = SessionHelpers;

/** Options of {@link sessionRoutes}: the self-service options and where the routes live. */
export interface KoaSessionRoutesOptions extends SelfServiceOptions {
  /** The path the routes are served under, such as `'/api/v1/me/sessions'` (Koa has no mounting). */
  prefix: string;
}

/** Options of {@link labRoutes}: the lab routes' options and where the routes live. */
export interface KoaLabRoutesOptions extends LabRoutesOptions {
  /** The path the routes are served under, such as `'/labs'` (Koa has no mounting). */
  prefix: string;
}

declare module 'koa' {
  interface DefaultState {
    /** The validated session, or `null`. Set by `sessionMiddleware()`. */
    session: Session | null;
    sessionkeeper: SessionkeeperState;
  }
}

/**
 * Validates the request's token (cookie or bearer) and sets `ctx.state.session` and
 * `ctx.state.sessionkeeper`. A storage failure answers 503 `{ error: { code: 'STORE_UNAVAILABLE' } }`:
 * never "logged out".
 *
 * @example
 * app.use(sessionMiddleware(sessions, { trustProxy: 1, track: true }));
 * router.get('/me', requireSession(), (ctx) => { ctx.body = { userId: ctx.state.session!.userId }; });
 */
export function sessionMiddleware(sessions: SessionManager, options: SessionHttpOptions = {}): Middleware {
  const http = createSessionHttp(sessions, options);
  return async (ctx, next) => {
    const started = http.tracking ? performance.now() : 0;
    const request = fromNodeRequest(ctx.req);
    let auth: Authentication;
    try {
      auth = await http.authenticate(request);
    } catch (error) {
      return send(ctx, http.errorResponse(error));
    }
    const state = { auth };
    const sink = responseSink(ctx);
    authenticated.set(ctx, { http, request, state });
    if (auth.clearCookie) appendSetCookie(sink, http.clearCookie());
    ctx.state.session = auth.session;
    ctx.state.sessionkeeper = requestHelpers(http, request, state, helperTarget(sink, (session) => void (ctx.state.session = session)));
    // Without tracking there is nothing to do once the response is sent: no listener per request.
    if (http.tracking) {
      ctx.res.once('finish', () => {
        const session = state.auth.session;
        if (session === null) return;
        http.track(session, request, {
          route: matchedRoute(ctx),
          status: ctx.res.statusCode,
          durationMs: performance.now() - started,
          bytesIn: contentLength(ctx.req.headers['content-length']),
          bytesOut: contentLength(ctx.res.getHeader('content-length')),
        });
      });
    }
    await next();
  };
}

/**
 * Mount it first: what sessionkeeper throws in later middleware and routes (storage unavailable →
 * 503, `SESSION_NOT_FOUND` → 404, ...) and body parsers' refusals become `{ error: { code, message } }`
 * without a stack trace; anything else is rethrown to your error handling.
 * @example
 * app.use(sessionErrorHandler());
 */
export function sessionErrorHandler(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const response = knownErrorResponse(error);
      if (response === null) throw error;
      send(ctx, response);
    }
  };
}

/**
 * Answers 401 `{ error: { code: 'UNAUTHENTICATED' } }` unless the request has a session.
 *
 * @example
 * router.get('/account', requireSession(), (ctx) => { ctx.body = { userId: ctx.state.session!.userId }; });
 */
export function requireSession(): Middleware {
  return async (ctx, next) => {
    const found = authenticated.get(ctx);
    if (found === undefined) throw notMounted();
    if (found.state.auth.session === null) return send(ctx, found.http.unauthenticated());
    await next();
  };
}

/**
 * The self-service session API (list, current, revoke, revoke-others, extend, statistics, activity,
 * alerts) for the signed-in user, served under `prefix`. Use it after `sessionMiddleware()`; a JSON
 * body already parsed by a body parser (`ctx.request.body`) is used, otherwise the body is read here.
 *
 * @example
 * app.use(sessionMiddleware(sessions));
 * app.use(sessionRoutes(sessions, { prefix: '/api/v1/me/sessions' }));
 */
export function sessionRoutes(sessions: SessionManager, options: KoaSessionRoutesOptions): Middleware {
  if (options === null || typeof options !== 'object') invalidConfig('sessionRoutes()', 'needs options with a prefix');
  const { prefix, ...selfService } = options;
  return serve(checkPrefix(prefix, 'prefix'), createSelfService(selfService), (found) => {
    if (found.http.manager !== sessions) invalidConfig('sessionRoutes()', 'and sessionMiddleware() were given different session managers');
  });
}

/**
 * The lab API for the signed-in user, served under `prefix`: `POST /` `{ template }` starts a lab for
 * the current session, `GET /` lists the user's labs (`?all=1` with ended ones), `GET /:id`,
 * `GET /:id/stats`, `POST /:id/extend` `{ by? }` and `POST /:id/stop`. Another user's lab is 404
 * `LAB_NOT_FOUND`. Use it after `sessionMiddleware()`; a body already parsed by a body parser is used.
 *
 * @example
 * const labs = dockerLabs({ manager: sessions, addressPool: '10.10.0.0/16', templates });
 * app.use(sessionMiddleware(sessions));
 * app.use(labRoutes(labs, { prefix: '/labs' }));
 */
export function labRoutes(labs: Labs, options: KoaLabRoutesOptions): Middleware {
  if (options === null || typeof options !== 'object') invalidConfig('labRoutes()', 'needs options with a prefix');
  const { prefix, ...labOptions } = options;
  return serve(checkPrefix(prefix, 'prefix', '/labs'), createLabRoutes(labs, labOptions), () => {});
}

// --- internal ---

interface Found {
  readonly http: SessionHttp;
  readonly request: HttpRequest;
  readonly state: { auth: Authentication };
}

/** The authentication of each request, for the middleware that runs after `sessionMiddleware()`. */
const authenticated = new WeakMap<Context, Found>();

/** Serves `table` under `prefix`, after `check` has found nothing wrong with the set-up. */
function serve(prefix: string, table: RouteTable, check: (found: Found) => void): Middleware {
  return async (ctx, next) => {
    const { path, search } = splitRequestTarget(ctx.url);
    const subpath = pathBelow(prefix, path);
    if (subpath === null) return next();
    const found = authenticated.get(ctx);
    if (found === undefined) throw notMounted();
    check(found);
    const input = { request: found.request, subpath, search, readBody: () => bodyOf((ctx.request as { body?: unknown }).body, ctx.req) };
    const response = await serveRoute(table, found.http, input, found.state.auth);
    if (response === null) return next();
    send(ctx, response);
  };
}

function send(ctx: Context, response: HttpResponse): void {
  sendResponse(responseSink(ctx), response);
}

/** Koa's response for the core: a string body with the Content-Type set is sent as it is. */
function responseSink(ctx: Context): ResponseSink {
  return {
    get headersSent() {
      return ctx.headerSent;
    },
    setStatus: (status) => void (ctx.status = status),
    setHeader: (name, value) => ctx.set(name, value as string | string[]),
    appendHeader: (name, value) => ctx.append(name, value as string | string[]),
    // null keeps the explicit status with no body.
    end: (json) => void (ctx.body = json ?? null),
  };
}

/** The route pattern @koa/router records (`/orders/:id`, with the router's prefix), if any. */
function matchedRoute(ctx: Context): string | null {
  const route: unknown = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof route === 'string') return route;
  return route instanceof RegExp ? String(route) : null;
}

function notMounted(): SessionError {
  return invalidConfigError('sessionMiddleware()', 'must be used before requireSession(), sessionRoutes() and labRoutes()');
}
