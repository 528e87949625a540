import { parse as parseCookieHeader, serialize as serializeCookie } from 'cookie';
import type { Session } from '../contracts.js';
import { invalidConfig, isSessionError, SessionError, type SessionErrorCode } from '../errors.js';
import { LabError, type LabErrorCode } from '../labs/types.js';
import { createClientIpResolver, type ClientIpResolver } from '../net/index.js';
import type { CreateSessionInput, SessionManager } from '../session-manager.js';
import type { Authentication, HttpErrorCode, HttpRequest, HttpResponse, RequestHeaders, SessionCookieOptions, SessionHttpOptions } from './types.js';

/**
 * The framework-independent half of the middleware: token extraction, cookies, client address,
 * activity, CSRF checks and error mapping. The Express, Koa and Fastify wrappers only translate
 * their request and response to and from it.
 */
export interface SessionHttp {
  readonly manager: SessionManager;
  /**
   * Finds and validates the request's token. Throws `STORE_UNAVAILABLE` when storage fails (never
   * "logged out"), and an `HttpError` 403 `FORBIDDEN_ORIGIN` for a cross-site state-changing request
   * that the cookie authenticated (unless `csrf: false`).
   */
  authenticate(request: HttpRequest): Promise<Authentication>;
  /** Creates a session for `userId` with the request's address and device; `setCookie` is null without cookies. */
  login(request: HttpRequest, auth: Authentication, userId: string, extra?: LoginExtra): Promise<LoginResult>;
  /** Revokes the request's session (reason `'logout'`) and returns the header that clears the cookie. */
  logout(auth: Authentication): Promise<{ setCookie: string | null }>;
  /** Replaces the request's token. */
  rotate(auth: Authentication): Promise<LoginResult>;
  /** The `Set-Cookie` value that deletes the session cookie; `null` without cookies. */
  clearCookie(): string | null;
  /** The `track` option: wrappers call `track()` (and keep per-request timing) only when it is on. */
  readonly tracking: boolean;
  /** Records a finished request of `session` in the activity log. */
  track(session: Session, request: HttpRequest, outcome: RequestOutcome): void;
  /** Whether a state-changing request may proceed: bearer requests always, cookie requests from an allowed origin. */
  originAllowed(request: HttpRequest, auth: Authentication): boolean;
  /** The response for anything thrown while handling a request: a JSON error, never a stack trace. */
  errorResponse(error: unknown): HttpResponse;
  /** 401 `{ error: { code: 'UNAUTHENTICATED' } }`. */
  unauthenticated(): HttpResponse;
}

export interface LoginExtra {
  tenantId?: string | null;
  metadata?: Record<string, unknown>;
}

export interface LoginResult {
  readonly session: Session;
  /** Send it to a bearer client; a browser gets it in the cookie. Never log it. */
  readonly token: string;
  readonly setCookie: string | null;
}

/** What a wrapper knows once the response is finished. */
export interface RequestOutcome {
  /** The matched route pattern (`/api/v1/orders/:id`) when the framework knows it, else the path. */
  readonly route: string | null;
  readonly status: number;
  readonly durationMs: number;
  readonly bytesIn: number | null;
  readonly bytesOut: number | null;
}

/** Validates the options once (INVALID_CONFIG names the field) and builds the shared core. */
export function createSessionHttp(manager: SessionManager, options: SessionHttpOptions = {}): SessionHttp {
  if (manager === null || typeof manager !== 'object' || typeof manager.validate !== 'function') {
    throw new SessionError('INVALID_CONFIG', 'the first argument must be a session manager from createSessionManager()');
  }
  if (options === null || typeof options !== 'object') throw new SessionError('INVALID_CONFIG', 'options must be an object');
  return new Core(manager, options);
}

/** A request the HTTP layer refuses (bad body, ...): answered with its status and code. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Headers every response about sessions carries. */
export const NO_STORE = { 'cache-control': 'no-store' } as const;

/** A Content-Length header's value as a byte count, or `null` when absent or not one. */
export function contentLength(value: unknown): number | null {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** The single value of a header, or `undefined` (a repeated header is not one value). */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

// --- internal ---

/** Larger Cookie or Authorization headers are ignored rather than parsed. */
const MAX_COOKIE_HEADER = 8192;
const MAX_AUTHORIZATION_HEADER = 1024;
const BEARER = /^Bearer[ \t]+([^\s,]+)[ \t]*$/i;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface ResolvedCookie {
  readonly name: string;
  readonly attributes: {
    readonly httpOnly: true;
    readonly secure: boolean;
    readonly sameSite: 'lax' | 'strict' | 'none';
    readonly path: string;
    readonly domain?: string;
  };
  readonly persistent: boolean;
}

const STATUS_BY_CODE: Partial<Record<SessionErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  INVALID_METADATA: 400,
  INVALID_TOKEN: 400,
  SESSION_NOT_FOUND: 404,
  ALERT_NOT_FOUND: 404,
  SESSION_INACTIVE: 409,
  SESSION_LIMIT: 429,
  STORE_UNAVAILABLE: 503,
  STORE_NOT_MIGRATED: 503,
  CLOSED: 503,
};

/**
 * Every lab error code, with its status. Server-side failures (5xx) answer with a fixed message:
 * Docker's own wording (socket paths, image names, daemon errors) is for the operator's logs.
 */
const LAB_STATUS_BY_CODE: Readonly<Record<LabErrorCode, { status: number; message?: string }>> = {
  LAB_NOT_FOUND: { status: 404 },
  TEMPLATE_UNKNOWN: { status: 400 },
  LAB_LIMIT: { status: 409 },
  EXTENSION_LIMIT: { status: 409 },
  LAB_NOT_ACTIVE: { status: 409 },
  POOL_EXHAUSTED: { status: 503, message: 'No lab network is free right now; try again later' },
  SUBNET_OVERLAP: { status: 503, message: 'No lab network can be allocated right now; try again later' },
  DOCKER_UNAVAILABLE: { status: 503, message: 'The lab engine is unavailable; try again shortly' },
  IMAGE_MISSING: { status: 500, message: "The lab template's image is not available" },
  DOCKER_ERROR: { status: 502, message: 'The lab engine refused the request' },
};

class Core implements SessionHttp {
  readonly manager: SessionManager;
  readonly #cookie: ResolvedCookie | null;
  readonly #bearer: boolean;
  readonly #track: boolean;
  readonly #clientIp: ClientIpResolver;
  readonly #allowedOrigins: ReadonlySet<string> | null;
  readonly #csrf: boolean;

  constructor(manager: SessionManager, options: SessionHttpOptions) {
    this.manager = manager;
    this.#cookie = resolveCookie(options.cookie);
    this.#bearer = options.bearer ?? true;
    if (typeof this.#bearer !== 'boolean') invalidConfig('bearer', 'must be a boolean');
    if (this.#cookie === null && !this.#bearer) invalidConfig('cookie', 'and bearer cannot both be off: no token could ever arrive');
    this.#track = options.track ?? false;
    if (typeof this.#track !== 'boolean') invalidConfig('track', 'must be a boolean');
    this.#clientIp = createClientIpResolver({ trustProxy: options.trustProxy, proxyHeader: options.proxyHeader });
    if (options.allowedOrigins !== undefined && !Array.isArray(options.allowedOrigins)) invalidConfig('allowedOrigins', 'must be a list of origins such as https://app.example.com');
    this.#allowedOrigins = options.allowedOrigins === undefined ? null : new Set(options.allowedOrigins.map(checkOrigin));
    this.#csrf = options.csrf ?? true;
    if (typeof this.#csrf !== 'boolean') invalidConfig('csrf', 'must be a boolean');
  }

  get tracking(): boolean {
    return this.#track;
  }

  async authenticate(request: HttpRequest): Promise<Authentication> {
    const ip = this.#clientIp({ remoteAddress: request.remoteAddress, headers: request.headers });
    const bearer = this.#bearer ? bearerToken(request.headers) : undefined;
    const cookie = bearer === undefined && this.#cookie !== null ? cookieToken(request.headers, this.#cookie.name) : undefined;
    const token = bearer ?? cookie;
    if (token === undefined) return { session: null, token: null, via: null, clearCookie: false, ip };
    const via = bearer !== undefined ? 'bearer' : 'cookie';
    try {
      const result = await this.manager.validate(token, {
        ip,
        userAgent: headerValue(request.headers, 'user-agent') ?? null,
        headers: request.headers as Record<string, string | undefined>,
      });
      if (result.ok) {
        const auth: Authentication = { session: result.session, token, via, clearCookie: false, ip };
        if (this.#csrf && !this.originAllowed(request, auth)) throw new HttpError(403, 'FORBIDDEN_ORIGIN', 'Cross-site request refused');
        return auth;
      }
    } catch (error) {
      // Garbage in the cookie or header is "no session"; a storage failure is not, and propagates.
      if (!isSessionError(error, 'INVALID_TOKEN')) throw error;
    }
    return { session: null, token: null, via: null, clearCookie: via === 'cookie', ip };
  }

  async login(request: HttpRequest, auth: Authentication, userId: string, extra: LoginExtra = {}): Promise<LoginResult> {
    const input: CreateSessionInput = {
      userId,
      ip: auth.ip,
      userAgent: headerValue(request.headers, 'user-agent') ?? null,
      headers: request.headers as Record<string, string | undefined>,
      ...(extra.tenantId !== undefined ? { tenantId: extra.tenantId } : {}),
      ...(extra.metadata !== undefined ? { metadata: extra.metadata } : {}),
    };
    const { session, token } = await this.manager.create(input);
    // A session the request already had is replaced, not left behind (session fixation).
    if (auth.session !== null) await this.manager.revoke(auth.session.id, { reason: 'relogin' });
    return { session, token, setCookie: this.#setCookie(token, session) };
  }

  async logout(auth: Authentication): Promise<{ setCookie: string | null }> {
    if (auth.session !== null) await this.manager.revoke(auth.session.id, { reason: 'logout' });
    return { setCookie: this.clearCookie() };
  }

  async rotate(auth: Authentication): Promise<LoginResult> {
    if (auth.token === null) throw new SessionError('SESSION_NOT_FOUND', 'The request has no session to rotate');
    const { session, token } = await this.manager.rotate(auth.token);
    return { session, token, setCookie: auth.via === 'cookie' ? this.#setCookie(token, session) : null };
  }

  clearCookie(): string | null {
    const cookie = this.#cookie;
    return cookie === null ? null : serializeCookie(cookie.name, '', { ...cookie.attributes, expires: new Date(0), maxAge: 0 });
  }

  track(session: Session, request: HttpRequest, outcome: RequestOutcome): void {
    try {
      this.manager.activity.record(session, {
        type: 'request',
        method: request.method,
        path: outcome.route ?? request.path,
        status: outcome.status,
        durationMs: Math.round(outcome.durationMs),
        ...(outcome.bytesIn !== null ? { bytesIn: outcome.bytesIn } : {}),
        ...(outcome.bytesOut !== null ? { bytesOut: outcome.bytesOut } : {}),
      });
    } catch {
      // After close() nothing is recorded; the response is already sent.
    }
  }

  originAllowed(request: HttpRequest, auth: Authentication): boolean {
    if (!STATE_CHANGING.has(request.method.toUpperCase()) || auth.via !== 'cookie') return true;
    const origin = headerValue(request.headers, 'origin');
    if (origin !== undefined && origin !== 'null') return this.#originOk(origin, request.headers);
    // Browsers send Sec-Fetch-Site on every request; a cross-site one without an Origin is refused.
    const site = headerValue(request.headers, 'sec-fetch-site');
    if (site !== undefined) return site === 'same-origin' || site === 'none';
    // Neither header (or an opaque origin): a non-browser client, or a browser too old for both.
    return origin === undefined;
  }

  errorResponse(error: unknown): HttpResponse {
    return errorResponse(error);
  }


  unauthenticated(): HttpResponse {
    return json(401, 'UNAUTHENTICATED', 'Sign in first');
  }

  #setCookie(token: string, session: Session): string | null {
    const cookie = this.#cookie;
    if (cookie === null) return null;
    return serializeCookie(cookie.name, token, cookie.persistent ? { ...cookie.attributes, expires: new Date(session.absoluteExpiresAt) } : cookie.attributes);
  }

  #originOk(origin: string, headers: RequestHeaders): boolean {
    // The request's own origin always passes (a cross-site page cannot send it); the list adds others.
    if (this.#allowedOrigins?.has(origin)) return true;
    const host = headerValue(headers, 'host');
    if (host === undefined) return false;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }
}

/**
 * The JSON response for an error sessionkeeper knows: its own (`SessionError`, `LabError`,
 * `HttpError`) and a framework's refusal of a request body (express.json()'s http-errors, Fastify's
 * `FST_ERR_CTP_*`). `null` for anything else, which is the application's to handle.
 *
 * This is the one place that maps error codes to statuses: `SESSION_NOT_FOUND` and `LAB_NOT_FOUND`
 * 404, `SESSION_INACTIVE`, `LAB_LIMIT`, `EXTENSION_LIMIT` and `LAB_NOT_ACTIVE` 409, `SESSION_LIMIT`
 * 429, `TEMPLATE_UNKNOWN` and invalid arguments 400, `IMAGE_MISSING` 500, `DOCKER_ERROR` 502, an
 * unavailable store or Docker engine and an exhausted address pool 503.
 *
 * @example
 * const response = knownErrorResponse(new LabError('LAB_LIMIT', 'Stop a lab first'));
 * // { status: 409, headers: { 'cache-control': 'no-store' }, body: { error: { code: 'LAB_LIMIT', message: 'Stop a lab first' } } }
 */
export function knownErrorResponse(error: unknown): HttpResponse | null {
  if (error instanceof HttpError) return json(error.status, error.code, error.message);
  if (error instanceof LabError) {
    const mapped = LAB_STATUS_BY_CODE[error.code];
    if (mapped === undefined) return null;
    return json(mapped.status, error.code, mapped.message ?? error.message);
  }
  if (error instanceof SessionError) {
    const status = STATUS_BY_CODE[error.code];
    if (status === undefined) return null;
    if (status === 503) return json(503, 'STORE_UNAVAILABLE', 'Session storage is unavailable; try again shortly');
    return json(status, error.code, error.message);
  }
  const { status, statusCode, expose, code } = (error ?? {}) as { status?: unknown; statusCode?: unknown; expose?: unknown; code?: unknown };
  const clientStatus = typeof status === 'number' ? status : statusCode;
  const fromParser = expose === true || (typeof code === 'string' && code.startsWith('FST_ERR_CTP_'));
  if (!fromParser || typeof clientStatus !== 'number' || !Number.isInteger(clientStatus) || clientStatus < 400 || clientStatus > 499) return null;
  if (clientStatus === 413) return json(413, 'INVALID_BODY', 'The request body is too large');
  if (clientStatus === 415) return json(415, 'INVALID_BODY', 'The request body must be JSON');
  return json(clientStatus, clientStatus === 400 ? 'INVALID_BODY' : 'INVALID_ARGUMENT', clientStatus === 400 ? 'The request body is not valid JSON' : 'The request was refused');
}

/** Like {@link knownErrorResponse}, with 500 `INTERNAL` (and no detail) for anything else. */
export function errorResponse(error: unknown): HttpResponse {
  return knownErrorResponse(error) ?? json(500, 'INTERNAL', 'Internal error');
}

/** An error response in the one shape every route uses. */
export function json(status: number, code: HttpErrorCode | SessionErrorCode | LabErrorCode, message: string): HttpResponse {
  return { status, headers: NO_STORE, body: { error: { code, message } } };
}

function bearerToken(headers: RequestHeaders): string | undefined {
  const value = headerValue(headers, 'authorization');
  if (value === undefined || value.length > MAX_AUTHORIZATION_HEADER) return undefined;
  return BEARER.exec(value)?.[1];
}

function cookieToken(headers: RequestHeaders, name: string): string | undefined {
  const value = headerValue(headers, 'cookie');
  if (value === undefined || value.length > MAX_COOKIE_HEADER) return undefined;
  const token = parseCookieHeader(value)[name];
  return token === undefined || token === '' ? undefined : token;
}

function resolveCookie(options: SessionCookieOptions | false | undefined): ResolvedCookie | null {
  if (options === false) return null;
  const o = options ?? {};
  if (o === null || typeof o !== 'object') invalidConfig('cookie', 'must be an options object or false');
  const name = o.name ?? 'sid';
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) invalidConfig('cookie.name', 'must be a cookie name token of 1 to 64 characters');
  const secure = o.secure ?? true;
  const sameSite = o.sameSite ?? 'lax';
  const path = o.path ?? '/';
  if (typeof secure !== 'boolean') invalidConfig('cookie.secure', 'must be a boolean');
  if (!['lax', 'strict', 'none'].includes(sameSite)) invalidConfig('cookie.sameSite', "must be 'lax', 'strict' or 'none'");
  if (sameSite === 'none' && !secure) invalidConfig('cookie.sameSite', "'none' requires secure: browsers drop such cookies otherwise");
  if (typeof path !== 'string' || !path.startsWith('/') || /[;\s]/.test(path)) invalidConfig('cookie.path', "must start with '/' and hold no ';' or spaces");
  if (o.domain !== undefined && (typeof o.domain !== 'string' || !/^\.?[a-z0-9.-]{1,253}$/i.test(o.domain))) invalidConfig('cookie.domain', 'must be a host name');
  if (name.startsWith('__Host-') && (!secure || path !== '/' || o.domain !== undefined)) {
    invalidConfig('cookie.name', "'__Host-' cookies need secure: true, path: '/' and no domain");
  }
  if (name.startsWith('__Secure-') && !secure) invalidConfig('cookie.name', "'__Secure-' cookies need secure: true");
  const persistent = o.persistent ?? true;
  if (typeof persistent !== 'boolean') invalidConfig('cookie.persistent', 'must be a boolean');
  return {
    name,
    attributes: { httpOnly: true, secure, sameSite, path, ...(o.domain !== undefined ? { domain: o.domain } : {}) },
    persistent,
  };
}

function checkOrigin(origin: unknown): string {
  if (typeof origin !== 'string') invalidConfig('allowedOrigins', 'must be a list of origins such as https://app.example.com');
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    invalidConfig('allowedOrigins', `has ${JSON.stringify(origin)}, which is not an origin such as https://app.example.com`);
  }
  if (parsed.origin !== origin) invalidConfig('allowedOrigins', `has ${JSON.stringify(origin)}; write it as ${parsed.origin} (scheme, host and port only)`);
  return origin;
}
