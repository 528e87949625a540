import type { Session } from '../contracts.js';
import type { LoginExtra, SessionHttp } from './http-core.js';
import type { Authentication, HttpRequest } from './types.js';

/** What `req.sessionkeeper` (Express, Fastify) and `ctx.state.sessionkeeper` (Koa) offer a route handler. */
export interface SessionHelpers {
  /** Starts a session for `userId` with this request's address and device, and sets the cookie. */
  login(userId: string, extra?: LoginExtra): Promise<{ session: Session; token: string }>;
  /** Revokes the current session (reason `'logout'`), clears the cookie, sends `Cache-Control: no-store`. */
  logout(): Promise<void>;
  /** Replaces the current token (cookie updated). */
  rotate(): Promise<{ session: Session; token: string }>;
}

/** How a wrapper applies what the helpers decide to its framework's request and response. */
export interface HelperTarget {
  setSession(session: Session | null): void;
  appendCookie(setCookie: string): void;
  noStore(): void;
}

/**
 * The helpers of one request. `state.auth` follows the request's session through login, rotate and
 * logout, so that later steps (tracking, the self-service routes) see the current one.
 */
export function requestHelpers(http: SessionHttp, request: HttpRequest, state: { auth: Authentication }, target: HelperTarget): SessionHelpers {
  const apply = (session: Session | null, setCookie: string | null) => {
    target.setSession(session);
    if (setCookie !== null) target.appendCookie(setCookie);
    target.noStore();
  };
  return {
    async login(userId, extra) {
      const { session, token, setCookie } = await http.login(request, state.auth, userId, extra);
      state.auth = { ...state.auth, session, token, via: setCookie === null ? 'bearer' : 'cookie', clearCookie: false };
      apply(session, setCookie);
      return { session, token };
    },
    async logout() {
      const { setCookie } = await http.logout(state.auth);
      state.auth = { ...state.auth, session: null, token: null, via: null };
      apply(null, setCookie);
    },
    async rotate() {
      const { session, token, setCookie } = await http.rotate(state.auth);
      state.auth = { ...state.auth, session, token };
      apply(session, setCookie);
      return { session, token };
    },
  };
}
