import type { Session } from '../contracts.js';
import type { ProxyHeader, TrustProxy } from '../net/index.js';

/** Request headers as Node, Express, Koa and Fastify give them: lower-case names. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What the HTTP core needs of a request; each framework wrapper fills it from its own request. */
export interface HttpRequest {
  readonly method: string;
  /** The path, without the query string. */
  readonly path: string;
  readonly headers: RequestHeaders;
  /** `req.socket.remoteAddress`: the TCP peer. */
  readonly remoteAddress: string | null | undefined;
  /**
   * `req.socket.encrypted`: the connection is TLS, so the request's own origin is `https://`.
   * Absent means plain http (behind a proxy, `X-Forwarded-Proto` from a trusted peer decides).
   */
  readonly encrypted?: boolean;
}

/** A response the wrapper writes as it is: status, headers and a JSON body (or none). */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** Serialised as JSON; `undefined` for no body. */
  readonly body?: unknown;
}

/** The session cookie. Defaults are the safe ones; loosen them deliberately. */
export interface SessionCookieOptions {
  /**
   * Default `'__Host-sid'`: a name the browser accepts only from this host over https, on `/` and
   * without `domain`, so no other site on the domain and no plain-http page can plant a cookie of
   * that name (cookie tossing). `'__Secure-sid'` when `path` or `domain` is set, `'sid'` with
   * `secure: false`. A `__Host-` name needs `secure`, `path: '/'` and no `domain` (checked).
   */
  name?: string;
  /** Default `true`. Set `false` only for local development over plain http. */
  secure?: boolean;
  /** Default `'lax'`. `'none'` needs `secure`. */
  sameSite?: 'lax' | 'strict' | 'none';
  /** Default: none (the cookie goes only to the host that set it). */
  domain?: string;
  /** Default `'/'`. */
  path?: string;
  /**
   * Default `true`: the cookie lives until the session's absolute deadline and survives a browser
   * restart. `false` makes it a browser-session cookie.
   */
  persistent?: boolean;
}

/** Options shared by the Express, Koa and Fastify middleware. */
export interface SessionHttpOptions {
  /** The session cookie, or `false` for bearer tokens only. Default: a cookie named `__Host-sid`. */
  cookie?: SessionCookieOptions | false;
  /** Accept `Authorization: Bearer <token>`. Default `true`. A bearer token wins over the cookie. */
  bearer?: boolean;
  /** Which proxies may name the client address (see `clientIp()`). Default `false`. */
  trustProxy?: TrustProxy;
  proxyHeader?: ProxyHeader;
  /** Record each request of a session in `sessions.activity` once the response is sent. Default `false`. */
  track?: boolean;
  /**
   * Origins (`https://app.example.com`) allowed, besides the request's own origin, to make
   * state-changing requests authenticated by the cookie and to sign in (`login()`). The own origin
   * is scheme, host and port: `https` when the connection is TLS or a proxy trusted by `trustProxy`
   * says `X-Forwarded-Proto: https`, else `http`; host and port from the `Host` header. List an
   * identity provider's origin here when it posts its sign-in response to you
   * (`response_mode=form_post`). Default: none.
   */
  allowedOrigins?: readonly string[];
  /**
   * Refuse (403 `FORBIDDEN_ORIGIN`) every state-changing request (POST, PUT, PATCH, DELETE)
   * authenticated by the cookie, and every state-changing sign-in through `login()`, that comes from
   * another origin. Default `true`. With `false` only the self-service routes check: your own routes,
   * sign-in included, are yours to protect another way.
   */
  csrf?: boolean;
}

/** How the request authenticated, as the middleware found it. */
export interface Authentication {
  /** The validated session, or `null`. */
  readonly session: Session | null;
  /** The token that validated (never log it); `null` without a session. */
  readonly token: string | null;
  /** Where the token came from; `null` when the request carried none that validated. */
  readonly via: 'cookie' | 'bearer' | null;
  /** The request's cookie held a token that did not validate: the response should clear it. */
  readonly clearCookie: boolean;
  /** The client address as resolved under `trustProxy`. */
  readonly ip: string | null;
}

/** Error codes of HTTP responses, in `{ error: { code, message } }`. Session error codes, and any other registered code, pass through. */
export type HttpErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN_ORIGIN'
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'INVALID_BODY'
  | 'STORE_UNAVAILABLE'
  | 'INTERNAL';
