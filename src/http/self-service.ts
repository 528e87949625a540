import type { ActivityCategory, ActivityRecord, Alert, Session } from '../contracts.js';
import { parseDuration, type Duration } from '../duration.js';
import { invalidArgument, invalidConfig, SessionError } from '../errors.js';
import type { SessionManager } from '../session-manager.js';
import { NO_STORE, type SessionHttp } from './http-core.js';
import { routeTable, type HttpRoute, type RouteMethod, type RouteRequest, type RouteTable } from './route-table.js';
import type { Authentication, HttpResponse } from './types.js';

/** Options of the self-service routes (`sessionRoutes(sessions, options)`). */
export interface SelfServiceOptions {
  /**
   * The most `POST /:id/extend` may add at once, and how far ahead it may move the idle deadline:
   * however often it is called, never past `max(idleTimeout, maxExtend)` from now. Default `'1h'`.
   */
  maxExtend?: Duration;
}

/** A request below the routes' mount point, with its query and parsed JSON body. */
export type SelfServiceRequest = RouteRequest;

/** A session as the routes show it: instants as ISO 8601 strings, the device summarised. */
export interface SessionView {
  id: string;
  current: boolean;
  status: Session['status'];
  device: { label: string | null; class: string; browser: string | null; os: string | null } | null;
  /** As stored under `ipPrivacy`: a /24 or /48 network, a keyed hash (`h:…`), or the address. */
  ip: string | null;
  createdAt: string;
  lastActiveAt: string;
  expiresAt: string;
  absoluteExpiresAt: string;
}

/**
 * The "my sessions" API, identical on every framework:
 *
 * | method and path | answer |
 * | --- | --- |
 * | `GET /` | `{ sessions: SessionView[] }`, the current one flagged |
 * | `GET /current` | `{ session: SessionView }` |
 * | `DELETE /:id` | `{ session }` revoked (another user's id is 404, never 403); the current one signs out as `logout()` does |
 * | `POST /revoke-others` | `{ revoked: n }` |
 * | `POST /:id/extend` `{ by }` | `{ session }` |
 * | `GET /statistics` | counts and durations |
 * | `GET /activity?limit&cursor&category` | `{ items, nextCursor }` |
 * | `GET /alerts?status&limit&cursor` | `{ items, nextCursor }` |
 *
 * Options are checked here, once. The routes are a {@link RouteTable}: wrappers register
 * `routes` with their router or serve them with `serveRoute()`, so a route added here appears on
 * every framework. `handle` answers a request through the middleware's core, or returns `null`
 * when no route matches (the wrapper passes the request on).
 *
 * @example
 * const table = createSelfService({ maxExtend: '2h' });
 * table.routes.map((route) => `${route.method} ${route.path}`); // ['GET /', 'GET /current', ...]
 */
export function createSelfService(options: SelfServiceOptions = {}): SelfService {
  if (options === null || typeof options !== 'object') invalidConfig('session routes options', 'must be an object');
  const maxExtendMs = parseDuration(options.maxExtend ?? '1h', 'maxExtend');
  return routeTable([
    route('GET', '/', async ({ sessions, me }) => ok({ sessions: (await sessions.list(me.userId)).map((s) => sessionView(s, me.id)) })),
    route('GET', '/current', async ({ me }) => ok({ session: sessionView(me, me.id) })),
    route('GET', '/statistics', async ({ sessions, me }) => ok(await sessions.stats({ userId: me.userId }))),
    route('GET', '/activity', async ({ sessions, me, request }) => {
      const q = request.query;
      const page = await sessions.activity.list({
        userId: me.userId,
        limit: limitParam(q),
        ...optional('cursor', cursorParam(q)),
        ...optional('category', (q.get('category') ?? undefined) as ActivityCategory | undefined),
      });
      return ok({ items: page.items.map(activityView), nextCursor: page.nextCursor });
    }),
    route('GET', '/alerts', async ({ sessions, me, request }) => {
      const q = request.query;
      const page = await sessions.alerts.list({
        userId: me.userId,
        limit: limitParam(q),
        ...optional('cursor', cursorParam(q)),
        ...optional('status', (q.get('status') ?? undefined) as Alert['status'] | undefined),
      });
      return ok({ items: page.items.map(alertView), nextCursor: page.nextCursor });
    }),
    route('POST', '/revoke-others', async ({ sessions, me }) => ok({ revoked: await sessions.revokeAll(me.userId, { except: me.id, reason: 'revoked_by_user' }) })),
    route('DELETE', '/:id', async ({ http, sessions, me, auth, params }) => {
      const id = params.id!;
      await ownSession(sessions, id, me);
      const own = id === me.id;
      const revoked = await sessions.revoke(id, { reason: own ? 'logout' : 'revoked_by_user' });
      // Signing out this very session is a logout: a cookie left in the browser would come back
      // on the next request as a revoked token, which the alert rules report as token theft.
      const cleared = own && auth.via === 'cookie' ? http.clearCookie() : null;
      return ok({ session: sessionView(revoked, me.id) }, cleared);
    }),
    route('POST', '/:id/extend', async ({ sessions, me, request, params }) => {
      const id = params.id!;
      await ownSession(sessions, id, me);
      const by = extendBy(request.body, maxExtendMs);
      return ok({ session: sessionView(await sessions.extend(id, by, { maxIdle: maxExtendMs }), me.id) });
    }),
  ]);
}

/** The routes, ready to serve through any middleware's core (see {@link RouteTable}). */
export type SelfService = RouteTable;

/** Another user's session is reported exactly like a missing one: ids are not probed. */
async function ownSession(sessions: SessionManager, id: string, me: Session): Promise<void> {
  if (!SESSION_ID.test(id)) throw invalidArgument('the id in the path must be a session id (ses_ and 24 characters)');
  const session = id === me.id ? me : await sessions.get(id);
  if (session === null || session.userId !== me.userId) throw new SessionError('SESSION_NOT_FOUND', `No session with id ${id}`);
}

/** A session for JSON: instants as ISO strings, the device summarised. */
export function sessionView(session: Session, currentId: string | null): SessionView {
  const device = session.device as { label?: string; class: string; browser?: { name?: string | null }; os?: { name?: string | null } } | null;
  return {
    id: session.id,
    current: session.id === currentId,
    status: session.status,
    device: device === null ? null : { label: device.label ?? null, class: device.class, browser: device.browser?.name ?? null, os: device.os?.name ?? null },
    ip: session.ip,
    createdAt: iso(session.createdAt),
    lastActiveAt: iso(session.lastActiveAt),
    expiresAt: iso(session.expiresAt),
    absoluteExpiresAt: iso(session.absoluteExpiresAt),
  };
}

// --- internal ---

const SESSION_ID = /^ses_[0-9a-z]{24}$/;
const MAX_PAGE = 100;

/** What a self-service route's handler is given, once the request has a session and an allowed origin. */
interface RouteContext {
  readonly http: SessionHttp;
  readonly sessions: SessionManager;
  readonly request: RouteRequest;
  readonly auth: Authentication;
  readonly me: Session;
  readonly params: Readonly<Record<string, string>>;
}

/** A route that needs a session, refuses a cross-site state change, and answers errors as JSON. */
function route(method: RouteMethod, path: string, answer: (context: RouteContext) => Promise<HttpResponse>): HttpRoute {
  return {
    method,
    path,
    async handle(http, request, auth, params) {
      try {
        if (auth.session === null) return http.unauthenticated();
        if (!http.originAllowed(request, auth)) return http.forbiddenOrigin();
        return await answer({ http, sessions: http.manager, request, auth, me: auth.session, params });
      } catch (error) {
        return http.errorResponse(error);
      }
    },
  };
}

function ok(body: unknown, setCookie: string | null = null): HttpResponse {
  return { status: 200, headers: setCookie === null ? NO_STORE : { ...NO_STORE, 'set-cookie': setCookie }, body };
}

function extendBy(body: unknown, maxMs: number): number {
  const by = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { by?: unknown }).by : undefined;
  if (by === undefined) throw invalidArgument("the body must be JSON { \"by\": \"30m\" } (a duration: '30m', '2h', or milliseconds)");
  const ms = parseDuration(by as Duration, 'by', 'INVALID_ARGUMENT');
  if (ms === 0 || ms > maxMs) throw invalidArgument(`by must be more than 0 and at most ${maxMs} ms`);
  return ms;
}

function limitParam(query: URLSearchParams): number {
  const raw = query.get('limit');
  if (raw === null) return 20;
  const limit = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE)) throw invalidArgument(`limit must be an integer from 1 to ${MAX_PAGE}`);
  return limit;
}

function cursorParam(query: URLSearchParams): string | undefined {
  const cursor = query.get('cursor');
  if (cursor === null) return undefined;
  if (cursor.length === 0 || cursor.length > 200) throw invalidArgument('cursor is not one this API returned');
  return cursor;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function activityView(row: ActivityRecord) {
  const { ts, userId: _user, ...rest } = row;
  return { ...rest, at: iso(ts) };
}

function alertView(alert: Alert) {
  return {
    ...alert,
    createdAt: iso(alert.createdAt),
    lastSeenAt: iso(alert.lastSeenAt),
    updatedAt: alert.updatedAt === null ? null : iso(alert.updatedAt),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
