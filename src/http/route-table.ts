import type { SessionHttp } from './http-core.js';
import type { Authentication, HttpRequest, HttpResponse } from './types.js';

/** The methods a core route answers. */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A request below a route table's mount point, with its query and parsed JSON body. */
export interface RouteRequest extends HttpRequest {
  /** The path below the mount point, as the client sent it (not decoded): `/`, `/current`, `/ses_…/extend`, ... */
  readonly subpath: string;
  readonly query: URLSearchParams;
  /** The parsed JSON body, or `undefined` when there was none. */
  readonly body: unknown;
}

/**
 * One route of a core route table: a method, a path pattern below the mount point and its handler.
 * Patterns are `/`, static segments and `:name` segments (one path segment each), the syntax
 * Express, Koa's routers, Fastify and Hono all read, so a wrapper may register them as they are.
 */
export interface HttpRoute {
  readonly method: RouteMethod;
  /** `/`, `/current`, `/:id`, `/:id/extend`, ... */
  readonly path: string;
  /**
   * Answers the request, the path's `:name` segments in `params` (as sent, not decoded). Never
   * throws: errors are the core's JSON error responses. `null` hands the request back (the wrapper
   * passes it on, or answers 404).
   */
  handle(http: SessionHttp, request: RouteRequest, auth: Authentication, params: Readonly<Record<string, string>>): Promise<HttpResponse | null>;
}

/** A route of a table, found for a request, with the values of its `:name` segments. */
export interface RouteMatch {
  readonly route: HttpRoute;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * A set of routes served under one prefix: the self-service routes (`createSelfService()`), or a
 * feature module's (`createLabRoutes()` of `sessionkeeper/labs`). Wrappers register `routes` with their router, or hand each
 * request to {@link serveRoute}, which matches it here; either way a route added to the core
 * appears on every framework.
 */
export interface RouteTable {
  readonly routes: readonly HttpRoute[];
  /**
   * The route for `method` and `subpath`, or `null`. One trailing slash is ignored (`/current/` is
   * `/current`, `//` is `/`); the path is compared as sent: no decoding of `%xx`, no `.` or `..`
   * resolution, case-sensitive.
   */
  match(method: string, subpath: string): RouteMatch | null;
  /** Matches and answers; `null` when no route matches (the wrapper passes the request on). */
  handle(http: SessionHttp, request: RouteRequest, auth: Authentication): Promise<HttpResponse | null>;
}

/**
 * A route table over `routes`, matched in order.
 *
 * @example
 * const table = routeTable([{ method: 'GET', path: '/hello', handle: async () => ({ status: 200, headers: NO_STORE, body: { hi: true } }) }]);
 * table.match('GET', '/hello/'); // { route, params: {} }
 */
export function routeTable(routes: readonly HttpRoute[]): RouteTable {
  const compiled = routes.map((route) => ({ route, segments: segmentsOf(route.path) }));
  const match = (method: string, subpath: string): RouteMatch | null => {
    const upper = method.toUpperCase();
    const segments = segmentsOf(subpath);
    for (const { route, segments: pattern } of compiled) {
      if (route.method !== upper || pattern.length !== segments.length) continue;
      const params = matchSegments(pattern, segments);
      if (params !== null) return { route, params };
    }
    return null;
  };
  return {
    routes,
    match,
    async handle(http, request, auth) {
      const found = match(request.method, request.subpath);
      return found === null ? null : found.route.handle(http, request, auth, found.params);
    },
  };
}

/** What {@link serveRoute} needs of one request below a table's prefix. */
export interface ServeInput {
  /** The request as the middleware saw it. */
  readonly request: HttpRequest;
  /** The path below the prefix (see {@link pathBelow}). */
  readonly subpath: string;
  /** The query string without `?` (see {@link splitRequestTarget}). */
  readonly search: string;
  /** Reads the JSON body (see `readJsonBody()`), or returns the one a framework parsed already. */
  readBody(): unknown;
}

/**
 * Serves one request below a table's prefix, as every wrapper does: `null` when no route matches
 * (nothing read, the wrapper passes the request on or answers 404); 401 without a session before
 * the body is read; then the body, the route, and errors as the core's JSON error responses.
 *
 * @example
 * const response = await serveRoute(table, http, { request, subpath, search, readBody: () => readJsonBody(req) }, auth);
 * if (response === null) return next();
 * sendResponse(sink, response);
 */
export async function serveRoute(table: RouteTable, http: SessionHttp, input: ServeInput, auth: Authentication): Promise<HttpResponse | null> {
  const found = table.match(input.request.method, input.subpath);
  if (found === null) return null;
  // Every core route needs a session: refused before anything of the request is read.
  if (auth.session === null) return http.unauthenticated();
  try {
    const body = await input.readBody();
    const request: RouteRequest = { ...input.request, subpath: input.subpath, query: new URLSearchParams(input.search), body };
    return await found.route.handle(http, request, auth, found.params);
  } catch (error) {
    return http.errorResponse(error);
  }
}

// --- internal ---

/** `/` and `` are no segment; one trailing slash is dropped; every other `/` separates one (maybe empty) segment. */
function segmentsOf(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed === '' || trimmed === '/' ? [] : trimmed.split('/').slice(1);
}

function matchSegments(pattern: readonly string[], segments: readonly string[]): Record<string, string> | null {
  let params: Record<string, string> | null = null;
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    if (want.startsWith(':')) (params ??= {})[want.slice(1)] = segments[i]!;
    else if (want !== segments[i]) return null;
  }
  return params ?? {};
}
