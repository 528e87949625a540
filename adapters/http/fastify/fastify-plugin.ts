import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Session } from '../../../src/contracts.js';
import { invalidConfig, invalidConfigError, SessionError } from '../../../src/errors.js';
import {
  appendSetCookie,
  checkPrefix,
  contentLength,
  createSelfService,
  createSessionHttp,
  errorResponse,
  fromNodeRequest,
  helperTarget,
  json,
  knownErrorResponse,
  MAX_BODY_BYTES,
  parseJsonBody,
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

/** What `request.sessionkeeper` offers a route handler. */
export type SessionkeeperRequest = SessionHelpers;

/** Options of the {@link sessionkeeper} plugin: the manager, the middleware options and the routes. */
export interface SessionkeeperPluginOptions extends SessionHttpOptions {
  /** The session manager from `createSessionManager()`. */
  manager: SessionManager;
  /**
   * Where to serve the self-service routes (`'/api/v1/me/sessions'`). Default: not served.
   */
  routesPrefix?: string;
  /** Options of the self-service routes (`maxExtend`). */
  routes?: SelfServiceOptions;
  /**
   * A lab provisioner (`dockerLabs()`) whose routes to serve at `labsPrefix`: the same lab API as
   * Express's and Koa's `labRoutes()`. Needs `labsPrefix`. Default: no lab routes.
   */
  labs?: Labs;
  /** Where to serve the lab routes (`'/api/v1/me/labs'`). Needs `labs`. */
  labsPrefix?: string;
  /** Options of the lab routes (`defaultExtend`). */
  labRoutes?: LabRoutesOptions;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The validated session, or `null`. Set by the `sessionkeeper` plugin. */
    session: Session | null;
    sessionkeeper: SessionkeeperRequest;
  }
}

/**
 * Validates each request's token (cookie or bearer) in an `onRequest` hook and sets
 * `request.session` and `request.sessionkeeper`, for the whole app (the plugin is not encapsulated).
 * A storage failure answers 503 `{ error: { code: 'STORE_UNAVAILABLE' } }`: never "logged out".
 * With `routesPrefix`, also serves the self-service routes there, and with `labs` and `labsPrefix`
 * the lab routes (`POST /` `{ template }`, `GET /`, `GET /:id`, `GET /:id/stats`,
 * `POST /:id/extend`, `POST /:id/stop`), both as Express's and Koa's `sessionRoutes()` and
 * `labRoutes()` serve them: from the core's route tables, so every core route is served. Options
 * rather than separate plugins, because the routes read the
 * authentication this plugin keeps per request. Their errors (a malformed or oversized body
 * included) are JSON `{ error: { code, message } }`.
 *
 * Also the entry's default export, as Fastify plugins have: `import sessionkeeper from 'sessionkeeper/fastify'`.
 *
 * @example
 * await app.register(sessionkeeper, { manager: sessions, routesPrefix: '/api/v1/me/sessions', trustProxy: 1 });
 * // With lab sessions: the same plugin, one more prefix.
 * // await app.register(sessionkeeper, { manager: sessions, routesPrefix: '/api/v1/me/sessions', labs, labsPrefix: '/api/v1/me/labs' });
 * app.post('/login', async (request) => {
 *   const user = await checkPassword(request.body);
 *   const { token } = await request.sessionkeeper.login(user.id);
 *   return { token };
 * });
 */
export const sessionkeeper: FastifyPluginAsync<SessionkeeperPluginOptions> = fp(plugin, { fastify: '5.x', name: 'sessionkeeper' });

/**
 * A `preHandler` that answers 401 `{ error: { code: 'UNAUTHENTICATED' } }` unless the request has a
 * session.
 *
 * @example
 * app.get('/api/me', { preHandler: requireSession }, async (request) => ({ userId: request.session!.userId }));
 */
export async function requireSession(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const found = authenticated.get(request);
  if (found === undefined) throw notMounted();
  // An async hook that has answered returns the reply, so that Fastify stops there.
  if (found.state.auth.session === null) return send(reply, found.http.unauthenticated());
  return undefined;
}

/**
 * An error handler for your own routes: what sessionkeeper throws (storage unavailable → 503,
 * `SESSION_NOT_FOUND` → 404, ...) and Fastify's body errors become `{ error: { code, message } }`
 * without a stack trace; anything else is rethrown to Fastify's default handling.
 * @example
 * app.setErrorHandler(sessionErrorHandler());
 */
export function sessionErrorHandler(): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (error, _request, reply) => {
    const response = knownErrorResponse(error);
    if (response === null) throw error;
    return send(reply, response);
  };
}

// --- internal ---

interface Found {
  readonly http: SessionHttp;
  readonly request: HttpRequest;
  readonly state: { auth: Authentication };
}

/** The authentication of each request, for `requireSession` and the routes. */
const authenticated = new WeakMap<FastifyRequest, Found>();

async function plugin(app: FastifyInstance, options: SessionkeeperPluginOptions): Promise<void> {
  if (options === null || typeof options !== 'object') invalidConfig('the sessionkeeper plugin', 'needs options with a manager');
  const { manager, routesPrefix, routes: routeOptions, labs, labsPrefix, labRoutes: labOptions, ...httpOptions } = options;
  const http = createSessionHttp(manager, httpOptions);
  const routes = routesPrefix === undefined ? null : { prefix: checkPrefix(routesPrefix, 'routesPrefix'), table: createSelfService(routeOptions) };
  if (routes === null && routeOptions !== undefined) invalidConfig('routes options', 'were given without routesPrefix: no routes would be served');
  if ((labs === undefined) !== (labsPrefix === undefined)) invalidConfig('labs', 'and labsPrefix go together: the lab routes need both');
  if (labs === undefined && labOptions !== undefined) invalidConfig('labRoutes options', 'were given without labs and labsPrefix: no lab routes would be served');
  const labRoutes = labs === undefined ? null : { prefix: checkPrefix(labsPrefix, 'labsPrefix', '/api/v1/me/labs'), table: createLabRoutes(labs, labOptions) };
  if (routes !== null && labRoutes !== null && routes.prefix === labRoutes.prefix) invalidConfig('labsPrefix', 'must differ from routesPrefix');

  // Fastify 5 refuses a shared object as a request decoration's initial value: both start as null
  // and each request gets its own in onRequest, before any handler can read them.
  app.decorateRequest('session', null);
  app.decorateRequest('sessionkeeper', null as unknown as SessionkeeperRequest);

  app.addHook('onRequest', async (request, reply) => {
    const httpRequest = fromNodeRequest(request.raw);
    let auth: Authentication;
    try {
      auth = await http.authenticate(httpRequest);
    } catch (error) {
      const response = http.errorResponse(error);
      if (response.status >= 500) request.log.error({ err: error }, 'sessionkeeper: authentication failed');
      return send(reply, response);
    }
    const state = { auth };
    authenticated.set(request, { http, request: httpRequest, state });
    const sink = responseSink(reply);
    if (auth.clearCookie) appendSetCookie(sink, http.clearCookie());
    request.session = auth.session;
    request.sessionkeeper = requestHelpers(http, httpRequest, state, helperTarget(sink, (session) => void (request.session = session)));
  });

  // Without tracking, no hook (and no promise) per response.
  if (http.tracking) {
    app.addHook('onResponse', async (request, reply) => {
      const found = authenticated.get(request);
      const session = found?.state.auth.session ?? null;
      if (found === undefined || session === null) return;
      http.track(session, found.request, {
        route: request.routeOptions.url ?? null,
        status: reply.statusCode,
        durationMs: reply.elapsedTime,
        bytesIn: contentLength(request.headers['content-length']),
        bytesOut: contentLength(reply.getHeader('content-length')),
      });
    });
  }

  if (routes !== null) await app.register(jsonRoutes(http, routes.table, routes.prefix, 'session'), { prefix: routes.prefix });
  if (labRoutes !== null) await app.register(jsonRoutes(http, labRoutes.table, labRoutes.prefix, 'lab'), { prefix: labRoutes.prefix });
}

/** Routes served by the core (`service`) in their own encapsulated context, so their error handling stays theirs. */
function jsonRoutes(http: SessionHttp, table: RouteTable, prefix: string, what: 'session' | 'lab'): FastifyPluginAsync {
  return async (app) => {
    // Behind the session as in the other frameworks: 401 before the body is even read.
    app.addHook('onRequest', async (request, reply) => {
      if (authenticated.get(request)?.state.auth.session == null) return send(reply, http.unauthenticated());
    });

    // Bodies as the core reads them on every framework: any content type as JSON (a fetch() without
    // a Content-Type sends text/plain), at most MAX_BODY_BYTES, and an empty body is no body. Fastify
    // would refuse an empty JSON body and hand text/plain over as a string. Cross-site requests are
    // refused before this, by the origin check in onRequest.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_request, text, done) => {
      try {
        done(null, text === '' ? undefined : parseJsonBody(text as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });

    app.setErrorHandler((error, request, reply) => {
      const response = fastifyErrorResponse(error);
      if (response.status >= 500) request.log.error({ err: error }, `sessionkeeper: ${what} route failed`);
      return send(reply, response);
    });

    // The table's routes, registered as they are; each request is then matched again by the core on
    // its path as sent, as on Express and Koa: Fastify decodes %xx before routing and knows no
    // trailing slash, the core does neither (GET /%63urrent is no route, GET /current/ is /current).
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const found = authenticated.get(request);
      if (found === undefined) throw notMounted();
      const { path, search } = splitRequestTarget(request.url);
      const subpath = pathBelow(prefix, path);
      const input = { request: found.request, subpath: subpath ?? '', search, readBody: () => request.body };
      const response = subpath === null ? null : await serveRoute(table, http, input, found.state.auth);
      return send(reply, response ?? json(404, 'NOT_FOUND', `No such ${what} route`));
    };
    for (const route of table.routes) app.route({ method: route.method, url: route.path, handler });
    // Unknown paths below the prefix are ours too (the core may still match them: /current/);
    // routes served at '/' leave the app its 404s.
    if (prefix !== '') app.setNotFoundHandler(handler);
  };
}

/** Fastify's errors (body parsing, limits) in the core's shape; everything else through the core. */
function fastifyErrorResponse(error: unknown): HttpResponse {
  // What the routes' own JSON parser throws.
  if (error instanceof SyntaxError) return json(400, 'INVALID_BODY', 'The request body is not valid JSON');
  return errorResponse(error);
}

function send(reply: FastifyReply, response: HttpResponse): FastifyReply {
  sendResponse(responseSink(reply), response);
  return reply;
}

/** Fastify's reply for the core: reply.header() adds to an existing set-cookie instead of replacing it. */
function responseSink(reply: FastifyReply): ResponseSink {
  return {
    get headersSent() {
      return reply.sent;
    },
    setStatus: (status) => void reply.code(status),
    setHeader: (name, value) => void reply.header(name, value),
    appendHeader: (name, value) => void reply.header(name, value),
    end: (json) => void (json === undefined ? reply.send() : reply.send(json)),
  };
}

function notMounted(): SessionError {
  return invalidConfigError('the sessionkeeper plugin', 'must be registered (with fastify-plugin semantics) before requireSession and the routes');
}
