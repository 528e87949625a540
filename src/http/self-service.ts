import type { ActivityCategory, ActivityRecord, Alert, Session } from '../contracts.js';
import { parseDuration, type Duration } from '../duration.js';
import { invalidArgument, SessionError } from '../errors.js';
import type { SessionManager } from '../session-manager.js';
import { NO_STORE, type SessionHttp } from './http-core.js';
import type { Authentication, HttpRequest, HttpResponse } from './types.js';

/** Options of the self-service routes (`sessionRoutes(sessions, options)`). */
export interface SelfServiceOptions {
  /**
   * The most `POST /:id/extend` may add at once, and how far ahead it may move the idle deadline:
   * however often it is called, never past `max(idleTimeout, maxExtend)` from now. Default `'1h'`.
   */
  maxExtend?: Duration;
}

/** A request below the routes' mount point, with its query and parsed JSON body. */
export interface SelfServiceRequest extends HttpRequest {
  /** The path below the mount point: `/`, `/current`, `/ses_…`, `/ses_…/extend`, ... */
  readonly subpath: string;
  readonly query: URLSearchParams;
  /** The parsed JSON body, or `undefined` when there was none. */
  readonly body: unknown;
}

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
 * Options are checked here, once. `handle` answers a request through the middleware's core, or
 * returns `null` when no route matches (the wrapper passes the request on).
 */
export function createSelfService(options: SelfServiceOptions = {}): SelfService {
  if (options === null || typeof options !== 'object') throw new SessionError('INVALID_CONFIG', 'session routes options must be an object');
  const maxExtendMs = parseDuration(options.maxExtend ?? '1h', 'maxExtend');

  return { handle };

  async function handle(http: SessionHttp, request: SelfServiceRequest, auth: Authentication): Promise<HttpResponse | null> {
    const route = match(request.method.toUpperCase(), request.subpath);
    if (route === null) return null;
    const sessions = http.manager;
    try {
      if (auth.session === null) return http.unauthenticated();
      if (!http.originAllowed(request, auth)) return http.forbiddenOrigin();
      const me = auth.session;
      switch (route.name) {
        case 'list': {
          const mine = await sessions.list(me.userId);
          return ok({ sessions: mine.map((s) => sessionView(s, me.id)) });
        }
        case 'current':
          return ok({ session: sessionView(me, me.id) });
        case 'revoke': {
          await ownSession(sessions, route.id, me);
          const own = route.id === me.id;
          const revoked = await sessions.revoke(route.id, { reason: own ? 'logout' : 'revoked_by_user' });
          // Signing out this very session is a logout: a cookie left in the browser would come back
          // on the next request as a revoked token, which the alert rules report as token theft.
          const cleared = own && auth.via === 'cookie' ? http.clearCookie() : null;
          return ok({ session: sessionView(revoked, me.id) }, cleared);
        }
        case 'revokeOthers':
          return ok({ revoked: await sessions.revokeAll(me.userId, { except: me.id, reason: 'revoked_by_user' }) });
        case 'extend': {
          await ownSession(sessions, route.id, me);
          const by = extendBy(request.body, maxExtendMs);
          return ok({ session: sessionView(await sessions.extend(route.id, by, { maxIdle: maxExtendMs }), me.id) });
        }
        case 'statistics':
          return ok(await sessions.stats({ userId: me.userId }));
        case 'activity': {
          const q = request.query;
          const page = await sessions.activity.list({
            userId: me.userId,
            limit: limitParam(q),
            ...optional('cursor', cursorParam(q)),
            ...optional('category', (q.get('category') ?? undefined) as ActivityCategory | undefined),
          });
          return ok({ items: page.items.map(activityView), nextCursor: page.nextCursor });
        }
        case 'alerts': {
          const q = request.query;
          const page = await sessions.alerts.list({
            userId: me.userId,
            limit: limitParam(q),
            ...optional('cursor', cursorParam(q)),
            ...optional('status', (q.get('status') ?? undefined) as Alert['status'] | undefined),
          });
          return ok({ items: page.items.map(alertView), nextCursor: page.nextCursor });
        }
      }
    } catch (error) {
      return http.errorResponse(error);
    }
  }
}

/** The routes, ready to serve through any middleware's core. */
export interface SelfService {
  handle(http: SessionHttp, request: SelfServiceRequest, auth: Authentication): Promise<HttpResponse | null>;
}

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

type Route =
  | { name: 'list' | 'current' | 'revokeOthers' | 'statistics' | 'activity' | 'alerts' }
  | { name: 'revoke' | 'extend'; id: string };

function match(method: string, subpath: string): Route | null {
  const path = subpath.length > 1 && subpath.endsWith('/') ? subpath.slice(0, -1) : subpath || '/';
  const parts = path.split('/').slice(1);
  if (method === 'GET') {
    if (path === '/') return { name: 'list' };
    if (path === '/current') return { name: 'current' };
    if (path === '/statistics') return { name: 'statistics' };
    if (path === '/activity') return { name: 'activity' };
    if (path === '/alerts') return { name: 'alerts' };
    return null;
  }
  if (method === 'POST' && path === '/revoke-others') return { name: 'revokeOthers' };
  if (method === 'DELETE' && parts.length === 1 && parts[0] !== '') return { name: 'revoke', id: parts[0]! };
  if (method === 'POST' && parts.length === 2 && parts[1] === 'extend') return { name: 'extend', id: parts[0]! };
  return null;
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
