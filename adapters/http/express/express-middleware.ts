import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Session } from '../../../src/contracts.js';
import { invalidConfigError, SessionError } from '../../../src/errors.js';
import {
  appendSetCookie,
  bodyOf,
  contentLength,
  createSelfService,
  createSessionHttp,
  fromNodeRequest,
  helperTarget,
  knownErrorResponse,
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

/** What `req.sessionkeeper` offers a route handler. */
export type SessionkeeperRequest = SessionHelpers;

declare module 'express-serve-static-core' {
  interface Request {
    /** The validated session, or `null`. Set by `sessionMiddleware()`. */
    session: Session | null;
    sessionkeeper: SessionkeeperRequest;
  }
}

/**
 * Validates the request's token (cookie or bearer) and sets `req.session` and `req.sessionkeeper`.
 * A storage failure answers 503 `{ error: { code: 'STORE_UNAVAILABLE' } }`: never "logged out".
 *
 * @example
 * app.use(sessionMiddleware(sessions, { trustProxy: 1, track: true }));
 */
export function sessionMiddleware(sessions: SessionManager, options: SessionHttpOptions = {}): RequestHandler {
  const http = createSessionHttp(sessions, options);
  const middleware: RequestHandler = (req, res, next) => {
    const started = http.tracking ? performance.now() : 0;
    const request = fromNodeRequest(req);
    http.authenticate(request).then(
      (auth) => {
        const state = { auth };
        const sink = responseSink(res);
        authenticated.set(req, { http, request, state });
        if (auth.clearCookie) appendSetCookie(sink, http.clearCookie());
        req.session = auth.session;
        req.sessionkeeper = requestHelpers(http, request, state, helperTarget(sink, (session) => void (req.session = session)));
        // Without tracking there is nothing to do once the response is sent: no listener per request.
        if (http.tracking) {
          res.on('finish', () => {
            const session = state.auth.session;
            if (session === null) return;
            http.track(session, request, {
              route: req.route?.path === undefined ? null : `${req.baseUrl}${String(req.route.path)}`,
              status: res.statusCode,
              durationMs: performance.now() - started,
              bytesIn: contentLength(req.headers['content-length']),
              bytesOut: contentLength(res.getHeader('content-length')),
            });
          });
        }
        next();
      },
      (error: unknown) => send(res, http.errorResponse(error)),
    );
  };
  return middleware;
}

/** Answers 401 `{ error: { code: 'UNAUTHENTICATED' } }` unless the request has a session. */
export function requireSession(): RequestHandler {
  return (req, res, next) => {
    const found = authenticated.get(req);
    if (found === undefined) return next(notMounted());
    if (found.state.auth.session === null) return send(res, found.http.unauthenticated());
    next();
  };
}

/**
 * The self-service session API (list, current, revoke, revoke-others, extend, statistics, activity,
 * alerts) for the signed-in user. Mount it behind `sessionMiddleware()`.
 *
 * @example
 * app.use('/api/v1/me/sessions', requireSession(), sessionRoutes(sessions));
 */
export function sessionRoutes(sessions: SessionManager, options: SelfServiceOptions = {}): RequestHandler {
  return serve(createSelfService(options), (found) =>
    found.http.manager !== sessions ? invalidConfigError('sessionRoutes()', 'and sessionMiddleware() were given different session managers') : null,
  );
}

/**
 * The lab API for the signed-in user: `POST /` `{ template }` starts a lab for the current session,
 * `GET /` lists the user's labs (`?all=1` with ended ones), `GET /:id`, `GET /:id/stats`,
 * `POST /:id/extend` `{ by? }` and `POST /:id/stop`. Another user's lab is 404 `LAB_NOT_FOUND`.
 * Mount it behind `sessionMiddleware()`; a body already parsed by `express.json()` is used.
 *
 * @example
 * const labs = dockerLabs({ manager: sessions, addressPool: '10.10.0.0/16', templates });
 * app.use('/labs', requireSession(), labRoutes(labs));
 */
export function labRoutes(labs: Labs, options: LabRoutesOptions = {}): RequestHandler {
  return serve(createLabRoutes(labs, options), () => null);
}

/**
 * Mount it after your routes: what sessionkeeper throws in them (storage unavailable → 503,
 * `SESSION_NOT_FOUND` → 404, ...) and `express.json()`'s refusals become `{ error: { code, message } }`
 * without a stack trace; anything else goes on to your error handling.
 * @example
 * app.use(sessionErrorHandler());
 */
export function sessionErrorHandler(): ErrorRequestHandler {
  return (error, _req, res, next) => {
    const response = knownErrorResponse(error);
    if (response === null || res.headersSent) return next(error);
    send(res, response);
  };
}

// --- internal ---

interface Found {
  readonly http: SessionHttp;
  readonly request: HttpRequest;
  readonly state: { auth: Authentication };
}

/**
 * The authentication of each request, for the routes mounted after the middleware: a property under
 * a symbol (nobody else can read or clash with it), cheaper per request than a WeakMap entry.
 */
const FOUND = Symbol('sessionkeeper');
const authenticated = {
  get: (req: Request): Found | undefined => (req as unknown as { [FOUND]?: Found })[FOUND],
  set: (req: Request, found: Found): void => void ((req as unknown as { [FOUND]?: Found })[FOUND] = found),
};

/** Serves `table` below the mount point, after `check` has found nothing wrong with the set-up. */
function serve(table: RouteTable, check: (found: Found) => Error | null): RequestHandler {
  return (req, res, next) => {
    const found = authenticated.get(req);
    if (found === undefined) return next(notMounted());
    const problem = check(found);
    if (problem !== null) return next(problem);
    // req.url is relative to where the routes are mounted, and as the client sent it.
    const { path, search } = splitRequestTarget(req.url);
    const input = { request: found.request, subpath: path, search, readBody: () => bodyOf(req.body, req) };
    serveRoute(table, found.http, input, found.state.auth).then(
      (response) => (response === null ? next() : send(res, response)),
      (error: unknown) => send(res, found.http.errorResponse(error)),
    );
  };
}

function send(res: Response, response: HttpResponse): void {
  sendResponse(responseSink(res), response);
}

/** Express's response for the core; res.send() keeps Express's ETag and HEAD handling. */
function responseSink(res: Response): ResponseSink {
  return {
    get headersSent() {
      return res.headersSent;
    },
    setStatus: (status) => void res.status(status),
    setHeader: (name, value) => void res.setHeader(name, value),
    appendHeader: (name, value) => void res.append(name, value as string | string[]),
    end: (json) => void (json === undefined ? res.end() : res.send(json)),
  };
}

function notMounted(): SessionError {
  return invalidConfigError('sessionMiddleware()', 'must be mounted before requireSession(), sessionRoutes() and labRoutes()');
}
