import type { Context, Middleware } from 'koa';
import type { Session } from '../../../src/contracts.js';
import { SessionError } from '../../../src/errors.js';
import {
  contentLength,
  createLabRoutes,
  createSelfService,
  createSessionHttp,
  requestHelpers,
  knownErrorResponse,
  type Authentication,
  type HttpRequest,
  type HttpResponse,
  type LabRoutesOptions,
  readJsonBody,
  type SelfService,
  type SelfServiceOptions,
  type SessionHttp,
  type SessionHelpers,
  type SessionHttpOptions,
} from '../../../src/http/index.js';
import type { Labs } from '../../../src/labs/types.js';
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
    const request = toHttpRequest(ctx);
    let auth: Authentication;
    try {
      auth = await http.authenticate(request);
    } catch (error) {
      return send(ctx, http.errorResponse(error));
    }
    const state = { auth };
    authenticated.set(ctx, { http, state });
    if (auth.clearCookie) appendCookie(ctx, http.clearCookie());
    ctx.state.session = auth.session;
    ctx.state.sessionkeeper = requestHelpers(http, request, state, {
      setSession: (session) => void (ctx.state.session = session),
      appendCookie: (setCookie) => ctx.append('set-cookie', setCookie),
      noStore: () => ctx.set('cache-control', 'no-store'),
    });
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
  if (options === null || typeof options !== 'object') throw new SessionError('INVALID_CONFIG', 'sessionRoutes() needs options with a prefix');
  const { prefix, ...selfService } = options;
  return serve(checkPrefix(prefix), createSelfService(selfService), (found) => {
    if (found.http.manager !== sessions) throw new SessionError('INVALID_CONFIG', 'sessionRoutes() and sessionMiddleware() were given different session managers');
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
  if (options === null || typeof options !== 'object') throw new SessionError('INVALID_CONFIG', 'labRoutes() needs options with a prefix');
  const { prefix, ...labOptions } = options;
  return serve(checkPrefix(prefix), createLabRoutes(labs, labOptions), () => {});
}

// --- internal ---

interface Found {
  readonly http: SessionHttp;
  readonly state: { auth: Authentication };
}

/** The authentication of each request, for the middleware that runs after `sessionMiddleware()`. */
const authenticated = new WeakMap<Context, Found>();

/** Serves `routes` under `prefix`, after `check` has found nothing wrong with the set-up. */
function serve(prefix: string, routes: Pick<SelfService, 'handle'>, check: (found: Found) => void): Middleware {
  return async (ctx, next) => {
    const subpath = below(prefix, ctx.path);
    if (subpath === null) return next();
    const found = authenticated.get(ctx);
    if (found === undefined) throw notMounted();
    check(found);
    let response: HttpResponse | null;
    try {
      const parsed = (ctx.request as { body?: unknown }).body;
      const body = parsed !== undefined ? parsed : await readJsonBody(ctx.req);
      const request = { ...toHttpRequest(ctx), subpath, query: new URLSearchParams(ctx.querystring), body };
      response = await routes.handle(found.http, request, found.state.auth);
    } catch (error) {
      response = found.http.errorResponse(error);
    }
    if (response === null) return next();
    send(ctx, response);
  };
}

function toHttpRequest(ctx: Context): HttpRequest {
  const socket = ctx.req.socket as { remoteAddress?: string; encrypted?: unknown };
  return { method: ctx.method, path: ctx.path, headers: ctx.req.headers, remoteAddress: socket.remoteAddress, encrypted: socket.encrypted === true };
}

function send(ctx: Context, response: HttpResponse): void {
  if (ctx.headerSent) return;
  ctx.status = response.status;
  for (const [name, value] of Object.entries(response.headers)) {
    if (name.toLowerCase() === 'set-cookie') ctx.append(name, value as string | string[]);
    else ctx.set(name, value as string | string[]);
  }
  // Koa serialises an object body as JSON; null keeps the explicit status with no body.
  ctx.body = response.body === undefined ? null : response.body;
}

function appendCookie(ctx: Context, setCookie: string | null): void {
  if (setCookie !== null) ctx.append('set-cookie', setCookie);
}

/** The route pattern @koa/router records (`/orders/:id`, with the router's prefix), if any. */
function matchedRoute(ctx: Context): string | null {
  const route: unknown = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof route === 'string') return route;
  return route instanceof RegExp ? String(route) : null;
}

/** `'/api/sessions/'` and `'/api/sessions'` are the same prefix; `'/'` serves the routes at the root. */
function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || /[?#\s]/.test(prefix)) {
    throw new SessionError('INVALID_CONFIG', "prefix must be a path such as '/api/v1/me/sessions'");
  }
  return prefix.replace(/\/+$/, '');
}

/** The path below `prefix`, or `null` when `path` is not under it (`/api/sessionsX` is not under `/api/sessions`). */
function below(prefix: string, path: string): string | null {
  if (path === prefix) return '/';
  if (!path.startsWith(`${prefix}/`)) return null;
  return path.slice(prefix.length);
}

function notMounted(): SessionError {
  return new SessionError('INVALID_CONFIG', 'sessionMiddleware() must be used before requireSession(), sessionRoutes() and labRoutes()');
}
