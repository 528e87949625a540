import { serialize as serializeCookie } from 'cookie';
import type { Session } from '../contracts.js';
import { errorCodeInfo, invalidConfig, SessionError, SessionkeeperError } from '../errors.js';
import { createClientIpResolver, createPeerTrust, type ClientIpResolver } from '../net/index.js';
import type { CreateSessionInput, SessionManager, ValidateContext } from '../session-manager.js';
import { isWellFormedToken } from '../token.js';
import { HttpError } from './http-error.js';
import type { Authentication, HttpRequest, HttpResponse, RequestHeaders, SessionCookieOptions, SessionHttpOptions } from './types.js';

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
   *
   * A bearer token is the only one tried when present. Of the Cookie header every cookie with the
   * session cookie's name counts (another site on the domain, or a page on plain http, can plant one
   * beside the real cookie, and the browser sends both): one is validated as it is; of two to four
   * different ones, those that look like tokens are validated together without the request's address
   * and device, so that a planted token's account learns nothing about this visitor, and the single
   * one that validates is validated again with them and used. Two that validate (two live sessions)
   * make the request ambiguous, and more than four make it suspicious: both are "no session", and
   * the cookie is left alone, since a cleared one could be the real one. When none validates, the
   * response clears the cookie.
   */
  authenticate(request: HttpRequest): Promise<Authentication>;
  /**
   * Creates a session for `userId` with the request's address and device; `setCookie` is null without
   * cookies. A state-changing sign-in (POST, ...) that sets a cookie must pass the same origin check as
   * every cookie request: otherwise it throws `HttpError` 403 `FORBIDDEN_ORIGIN` before anything is
   * created (login CSRF: a cross-site form would sign the visitor in to the attacker's account).
   * Not checked: GET (an OAuth or OIDC redirect callback), clients that send neither `Origin` nor
   * `Sec-Fetch-Site`, `cookie: false` and `csrf: false`.
   */
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
  /**
   * Whether a state-changing request may proceed: bearer requests always, cookie requests from an
   * allowed origin. An allowed origin is the request's own (scheme, host and port: `https` when the
   * connection is TLS or a proxy that `trustProxy` trusts says `X-Forwarded-Proto: https`, the host
   * and port from `Host`, a default port the same as none) or one of `allowedOrigins`; without an
   * `Origin`, `Sec-Fetch-Site` must be `same-origin` or `none`; a client that sends neither passes.
   */
  originAllowed(request: HttpRequest, auth: Authentication): boolean;
  /** The response for anything thrown while handling a request: a JSON error, never a stack trace. */
  errorResponse(error: unknown): HttpResponse;
  /** 401 `{ error: { code: 'UNAUTHENTICATED' } }`. */
  unauthenticated(): HttpResponse;
  /** 403 `{ error: { code: 'FORBIDDEN_ORIGIN' } }`, for a request {@link originAllowed} refuses. */
  forbiddenOrigin(): HttpResponse;
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
    invalidConfig('the first argument', 'must be a session manager from createSessionManager()');
  }
  if (options === null || typeof options !== 'object') invalidConfig('options', 'must be an object');
  return new Core(manager, options);
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
/** More cookies of the session cookie's name than this, and none of them is tried. */
const MAX_SESSION_COOKIES = 4;
const BEARER = /^Bearer[ \t]+([^\s,]+)[ \t]*$/i;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** A Host header: a bracketed IPv6 literal or a host name, and an optional port. Anything else is no origin. */
const HOST = /^(\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z_.-]{1,253})(?::(\d{1,5}))?$/;
const DEFAULT_PORT = { http: 80, https: 443 } as const;
const FORBIDDEN_ORIGIN_MESSAGE =
  "Cross-site request refused: the Origin is neither this site's own (scheme, host and port) nor one of allowedOrigins. " +
  'Behind a TLS-terminating proxy, set trustProxy so that its X-Forwarded-Proto counts; behind one that rewrites Host, list the public origin in allowedOrigins.';

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

class Core implements SessionHttp {
  readonly manager: SessionManager;
  readonly #cookie: ResolvedCookie | null;
  readonly #bearer: boolean;
  readonly #track: boolean;
  readonly #clientIp: ClientIpResolver;
  readonly #trustsPeer: (remoteAddress: string | null | undefined) => boolean;
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
    this.#trustsPeer = createPeerTrust(options.trustProxy);
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
    if (bearer !== undefined) return this.#authenticateWith(request, bearer, 'bearer', ip);
    const values = this.#cookie === null ? [] : cookieValues(request.headers, this.#cookie.name);
    if (values.length === 0 || values.length > MAX_SESSION_COOKIES) return anonymous(ip, false);
    if (values.length === 1) return values[0] === '' ? anonymous(ip, false) : this.#authenticateWith(request, values[0]!, 'cookie', ip);
    return this.#authenticateAmong(request, values, ip);
  }

  async login(request: HttpRequest, auth: Authentication, userId: string, extra: LoginExtra = {}): Promise<LoginResult> {
    // The request may have no session at all: a cross-site form must not sign the visitor in.
    if (this.#csrf && this.#cookie !== null && !this.#fromAllowedOrigin(request)) throw forbiddenOrigin();
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
    return auth.via !== 'cookie' || this.#fromAllowedOrigin(request);
  }

  errorResponse(error: unknown): HttpResponse {
    return errorResponse(error);
  }


  unauthenticated(): HttpResponse {
    return json(401, 'UNAUTHENTICATED', 'Sign in first');
  }

  forbiddenOrigin(): HttpResponse {
    return json(403, 'FORBIDDEN_ORIGIN', FORBIDDEN_ORIGIN_MESSAGE);
  }

  /** The request authenticated by `token`, or no session (and the cookie cleared) when it does not validate. */
  async #authenticateWith(request: HttpRequest, token: string, via: 'cookie' | 'bearer', ip: string | null): Promise<Authentication> {
    const session = await this.#validSession(token, {
      ip,
      userAgent: headerValue(request.headers, 'user-agent') ?? null,
      headers: request.headers as Record<string, string | undefined>,
    });
    if (session === null) return anonymous(ip, via === 'cookie');
    const auth: Authentication = { session, token, via, clearCookie: false, ip };
    if (this.#csrf && !this.originAllowed(request, auth)) throw forbiddenOrigin();
    return auth;
  }

  /**
   * Two to four cookies of the session cookie's name. The tokens among them are first validated
   * without the request's context: validating a planted token with it would put this visitor's
   * address and device into alerts on the planter's account. Only a single winner is validated again
   * with the context (for the alert rules) and used; no winner clears the cookie, two keep it, since
   * the clearing Set-Cookie reaches only the cookie with our own path and domain, maybe the real one.
   */
  async #authenticateAmong(request: HttpRequest, values: readonly string[], ip: string | null): Promise<Authentication> {
    const distinct = [...new Set(values)].filter((value) => value !== '');
    if (distinct.length <= 1) return distinct.length === 0 ? anonymous(ip, false) : this.#authenticateWith(request, distinct[0]!, 'cookie', ip);
    const tokens = distinct.filter(isWellFormedToken);
    if (tokens.length <= 1) return tokens.length === 0 ? anonymous(ip, true) : this.#authenticateWith(request, tokens[0]!, 'cookie', ip);
    const sessions = await Promise.all(tokens.map((token) => this.#validSession(token)));
    const valid = tokens.filter((_, i) => sessions[i] !== null);
    return valid.length === 1 ? this.#authenticateWith(request, valid[0]!, 'cookie', ip) : anonymous(ip, valid.length === 0);
  }

  /** The session `token` opens, or `null` (garbage included); a storage failure propagates. */
  async #validSession(token: string, context?: ValidateContext): Promise<Session | null> {
    const result = await this.manager.validate(token, context);
    return result.ok ? result.session : null;
  }

  /** The origin rule for a state-changing request, whatever authenticated it (see {@link SessionHttp.originAllowed}). */
  #fromAllowedOrigin(request: HttpRequest): boolean {
    if (!STATE_CHANGING.has(request.method.toUpperCase())) return true;
    const origin = headerValue(request.headers, 'origin');
    if (origin !== undefined && origin !== 'null') return this.#originOk(origin, request);
    // Browsers send Sec-Fetch-Site on every request; a cross-site one without an Origin is refused.
    const site = headerValue(request.headers, 'sec-fetch-site');
    if (site !== undefined) return site === 'same-origin' || site === 'none';
    // Neither header (or an opaque origin): a non-browser client, or a browser too old for both.
    return origin === undefined;
  }

  #setCookie(token: string, session: Session): string | null {
    const cookie = this.#cookie;
    if (cookie === null) return null;
    return serializeCookie(cookie.name, token, cookie.persistent ? { ...cookie.attributes, expires: new Date(session.absoluteExpiresAt) } : cookie.attributes);
  }

  #originOk(origin: string, request: HttpRequest): boolean {
    // The request's own origin always passes (a cross-site page cannot send it); the list adds others.
    if (this.#allowedOrigins?.has(origin)) return true;
    const own = this.#ownOrigin(request);
    if (own !== null && origin === own) return true;
    // Not as a browser writes it (upper case, a default port): compared once normalised.
    const normalized = normalizeOrigin(origin);
    return normalized !== null && (normalized === own || this.#allowedOrigins?.has(normalized) === true);
  }

  /** `scheme://host[:port]` of the request as the client addressed it, or `null` without a usable Host. */
  #ownOrigin(request: HttpRequest): string | null {
    const host = headerValue(request.headers, 'host') ?? headerValue(request.headers, ':authority');
    const match = host === undefined ? null : HOST.exec(host);
    if (match === null) return null;
    const scheme = this.#scheme(request);
    const port = match[2] === undefined ? DEFAULT_PORT[scheme] : Number(match[2]);
    if (port < 1 || port > 65535) return null;
    const name = match[1]!.toLowerCase();
    return port === DEFAULT_PORT[scheme] ? `${scheme}://${name}` : `${scheme}://${name}:${port}`;
  }

  /** `https` over TLS, or when a proxy that `trustProxy` trusts says so in `X-Forwarded-Proto`. */
  #scheme(request: HttpRequest): 'http' | 'https' {
    if (this.#trustsPeer(request.remoteAddress)) {
      const forwarded = forwardedProto(request.headers);
      if (forwarded !== null) return forwarded;
    }
    return request.encrypted === true ? 'https' : 'http';
  }
}

/**
 * The JSON response for an error sessionkeeper knows: a {@link SessionkeeperError} (`SessionError`,
 * `HttpError`, `LabError`, yours) whose code is registered, and a framework's refusal of a request
 * body (express.json()'s http-errors, Fastify's `FST_ERR_CTP_*`). `null` for anything else, which is
 * the application's to handle.
 *
 * The status of a {@link SessionkeeperError} comes from the error-code registry
 * (`registeredErrorCodes()`): any module that registers its codes is answered correctly. A code of
 * status 500 or more without a registered `response` (`INVALID_CONFIG`, `STORE_CONTRACT`: bugs) is
 * `null`, the application's to handle; an unavailable store is 503 `STORE_UNAVAILABLE` with a fixed
 * message.
 *
 * @example
 * const response = knownErrorResponse(new SessionError('SESSION_LIMIT', 'Sign out a device first'));
 * // { status: 429, headers: { 'cache-control': 'no-store' }, body: { error: { code: 'SESSION_LIMIT', message: 'Sign out a device first' } } }
 */
export function knownErrorResponse(error: unknown): HttpResponse | null {
  if (error instanceof HttpError) return json(error.status, error.code, error.message);
  if (error instanceof SessionkeeperError) {
    // The registry, not a table here: a feature module's codes are answered without this file knowing them.
    const info = errorCodeInfo(error.code);
    if (info === undefined) return null;
    if (info.response !== undefined) return json(info.status, info.response.code ?? error.code, info.response.message ?? error.message);
    return info.status >= 500 ? null : json(info.status, error.code, error.message);
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
export function json(status: number, code: string, message: string): HttpResponse {
  return { status, headers: NO_STORE, body: { error: { code, message } } };
}


function bearerToken(headers: RequestHeaders): string | undefined {
  const value = headerValue(headers, 'authorization');
  if (value === undefined || value.length > MAX_AUTHORIZATION_HEADER) return undefined;
  return BEARER.exec(value)?.[1];
}

/**
 * Every value the Cookie header gives `name`, in order (empty ones included), and at most
 * MAX_SESSION_COOKIES + 1 of them: enough to tell "too many". The `cookie` package keeps only the
 * first, which is the one an attacker who plants a cookie on a longer path gets sent first.
 */
function cookieValues(headers: RequestHeaders, name: string): string[] {
  const header = headerValue(headers, 'cookie');
  if (header === undefined || header.length > MAX_COOKIE_HEADER) return [];
  const values: string[] = [];
  for (let start = 0; start < header.length && values.length <= MAX_SESSION_COOKIES; ) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    let i = start;
    while (i < end && (header.charCodeAt(i) === 0x20 || header.charCodeAt(i) === 0x09)) i++;
    if (header.startsWith(name, i)) {
      i += name.length;
      while (i < end && (header.charCodeAt(i) === 0x20 || header.charCodeAt(i) === 0x09)) i++;
      if (header.charCodeAt(i) === 0x3d /* = */) values.push(header.slice(i + 1, end).trim());
    }
    start = end + 1;
  }
  return values;
}

function anonymous(ip: string | null, clearCookie: boolean): Authentication {
  return { session: null, token: null, via: null, clearCookie, ip };
}

function forbiddenOrigin(): HttpError {
  return new HttpError(403, 'FORBIDDEN_ORIGIN', FORBIDDEN_ORIGIN_MESSAGE);
}

/** The scheme a trusted proxy names: the left-most entry (the client's side of the chain), `http` or `https` only. */
function forwardedProto(headers: RequestHeaders): 'http' | 'https' | null {
  const value = headerValue(headers, 'x-forwarded-proto');
  if (value === undefined) return null;
  const comma = value.indexOf(',');
  const proto = (comma === -1 ? value : value.slice(0, comma)).trim().toLowerCase();
  return proto === 'https' || proto === 'http' ? proto : null;
}

/** An Origin header as `URL` serialises it, or `null` when it is not a bare `scheme://host[:port]`. */
function normalizeOrigin(origin: string): string | null {
  try {
    const url = new URL(origin);
    return url.origin !== 'null' && url.href === `${url.origin}/` ? url.origin : null;
  } catch {
    return null;
  }
}

function resolveCookie(options: SessionCookieOptions | false | undefined): ResolvedCookie | null {
  if (options === false) return null;
  const o = options ?? {};
  if (o === null || typeof o !== 'object') invalidConfig('cookie', 'must be an options object or false');
  const secure = o.secure ?? true;
  const sameSite = o.sameSite ?? 'lax';
  const path = o.path ?? '/';
  if (typeof secure !== 'boolean') invalidConfig('cookie.secure', 'must be a boolean');
  const name = o.name ?? defaultCookieName(secure, path, o.domain);
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) invalidConfig('cookie.name', 'must be a cookie name token of 1 to 64 characters');
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

/**
 * A `__Host-` cookie can be set only by this very host over https, on `/`: no other site on the
 * domain and no plain-http page can plant one beside it. `__Secure-` keeps the https part when a
 * path or domain rules `__Host-` out; plain `sid` is for development over http.
 */
function defaultCookieName(secure: boolean, path: unknown, domain: unknown): string {
  if (!secure) return 'sid';
  return path === '/' && domain === undefined ? '__Host-sid' : '__Secure-sid';
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
