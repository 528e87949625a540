import type { Session } from '../contracts.js';
import type { HelperTarget } from './request-helpers.js';
import type { HttpResponse } from './types.js';

/**
 * A framework's response as the core writes to it: each wrapper fills these five members from its
 * own (`res`, `ctx`, `reply`) and {@link sendResponse} does the rest the same way everywhere.
 */
export interface ResponseSink {
  /** The headers are out already: nothing more can be written. */
  readonly headersSent: boolean;
  setStatus(status: number): void;
  /** Replaces the header. */
  setHeader(name: string, value: string | readonly string[]): void;
  /** Adds to the header (`Set-Cookie`: a cookie set or cleared earlier in the request stays). */
  appendHeader(name: string, value: string | readonly string[]): void;
  /** Ends the response with this JSON text (its Content-Type already set), or with no body. */
  end(json: string | undefined): void;
}

/** The Content-Type of every JSON answer of the core. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Writes a core response: nothing when the headers are out already; the status; its headers
 * (`Set-Cookie` added to, the others replaced); the body as JSON, or none.
 *
 * @example
 * sendResponse(expressSink(res), http.unauthenticated());
 */
export function sendResponse(sink: ResponseSink, response: HttpResponse): void {
  if (sink.headersSent) return;
  sink.setStatus(response.status);
  for (const [name, value] of Object.entries(response.headers)) {
    if (name.toLowerCase() === 'set-cookie') sink.appendHeader(name, value);
    else sink.setHeader(name, value);
  }
  if (response.body === undefined) return sink.end(undefined);
  sink.setHeader('content-type', JSON_CONTENT_TYPE);
  sink.end(JSON.stringify(response.body));
}

/**
 * Adds a `Set-Cookie` value (one from `http.clearCookie()`, `login()`, ...) to the response; `null`
 * (no cookies configured) adds nothing.
 *
 * @example
 * if (auth.clearCookie) appendSetCookie(sink, http.clearCookie());
 */
export function appendSetCookie(sink: Pick<ResponseSink, 'appendHeader'>, setCookie: string | null): void {
  if (setCookie !== null) sink.appendHeader('set-cookie', setCookie);
}

/**
 * What `requestHelpers()` needs, over a sink: the cookie appended, `Cache-Control: no-store` set,
 * and `setSession` to show the new session on the framework's request (`req.session = session`).
 *
 * @example
 * req.sessionkeeper = requestHelpers(http, request, state, helperTarget(sink, (session) => void (req.session = session)));
 */
export function helperTarget(sink: Pick<ResponseSink, 'appendHeader' | 'setHeader'>, setSession: (session: Session | null) => void): HelperTarget {
  return {
    setSession,
    appendCookie: (setCookie) => sink.appendHeader('set-cookie', setCookie),
    noStore: () => sink.setHeader('cache-control', 'no-store'),
  };
}
