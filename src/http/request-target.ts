import { invalidConfig } from '../errors.js';
import type { HttpRequest, RequestHeaders } from './types.js';

/**
 * The parts of Node's `IncomingMessage` the core reads, structurally (no `node:http` types needed):
 * Express's `req`, Koa's `ctx.req`, Fastify's `request.raw` and a plain `node:http` request all fit.
 */
export interface NodeRequestLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: RequestHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/**
 * The core's view of a Node request: method, the path of `req.url` (see {@link splitRequestTarget}),
 * the headers as Node gives them (lower-case names), the TCP peer and whether the socket is TLS.
 *
 * @example
 * const request = fromNodeRequest(req);
 * const auth = await http.authenticate(request);
 */
export function fromNodeRequest(req: NodeRequestLike): HttpRequest {
  const socket = req.socket as { remoteAddress?: string; encrypted?: unknown };
  return {
    method: req.method ?? 'GET',
    path: splitRequestTarget(req.url ?? '/').path,
    headers: req.headers,
    remoteAddress: socket.remoteAddress,
    encrypted: socket.encrypted === true,
  };
}

/**
 * A request target (`req.url`) as path and query, both as sent: nothing decoded, no `.` or `..`
 * resolved. The absolute form (`http://host/path?q`, which HTTP/1.1 allows) gives its path; a
 * fragment (`#…`, which clients do not send) is dropped.
 *
 * @example
 * splitRequestTarget('/api/me/sessions/current?x=1'); // { path: '/api/me/sessions/current', search: 'x=1' }
 */
export function splitRequestTarget(url: string): { path: string; search: string } {
  const absolute = ABSOLUTE_FORM.exec(url);
  const target = absolute === null ? url : url.slice(absolute[0].length);
  const hash = target.indexOf('#');
  const noHash = hash === -1 ? target : target.slice(0, hash);
  const query = noHash.indexOf('?');
  const path = query === -1 ? noHash : noHash.slice(0, query);
  return { path: path === '' && absolute !== null ? '/' : path, search: query === -1 ? '' : noHash.slice(query + 1) };
}

/**
 * Request headers from any source (a Fetch API `Headers`, a plain object, `[name, value]` pairs) as
 * the core reads them: lower-case names, a repeated header as a list. For wrappers over frameworks
 * that do not hand over Node's `req.headers` (Hono, Deno, Bun); Node's own need no conversion.
 *
 * @example
 * const headers = normalizeHeaders(c.req.raw.headers);
 */
export function normalizeHeaders(source: Iterable<readonly [string, string]> | Readonly<Record<string, string | readonly string[] | undefined>>): RequestHeaders {
  const headers: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  const entries = Symbol.iterator in source ? (source as Iterable<readonly [string, string]>) : Object.entries(source as Record<string, string | readonly string[] | undefined>);
  for (const [rawName, value] of entries) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    const values = typeof value === 'string' ? [value] : [...value];
    const previous = headers[name];
    if (previous === undefined) headers[name] = values.length === 1 ? values[0]! : values;
    else headers[name] = [...(typeof previous === 'string' ? [previous] : previous), ...values];
  }
  return headers;
}

/**
 * The path below `prefix` (one {@link checkPrefix} returned), or `null` when `path` is not under
 * it: `/api/me` is not a prefix of `/api/meow`. As sent: case-sensitive, `%xx` not decoded.
 *
 * @example
 * pathBelow('/api/me', '/api/me/current'); // '/current'
 * pathBelow('/api/me', '/api/me');         // '/'
 * pathBelow('/api/me', '/api/meow');       // null
 */
export function pathBelow(prefix: string, path: string): string | null {
  if (prefix === '') return path.startsWith('/') ? path : null;
  if (path === prefix) return '/';
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : null;
}

/**
 * A mount prefix checked once (a string starting with `/`, no `?`, `#` or white space) and written
 * one way: without trailing slashes, so `'/api/me/'` is `'/api/me'` and `'/'` is `''` (the root).
 * `INVALID_CONFIG` names `field` otherwise.
 *
 * @example
 * const prefix = checkPrefix(options.prefix, 'prefix'); // '/api/v1/me/sessions'
 */
export function checkPrefix(prefix: unknown, field: string, example = '/api/v1/me/sessions'): string {
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || /[?#\s]/.test(prefix)) {
    invalidConfig(field, `must be a path starting with '/', such as '${example}'`);
  }
  return prefix.replace(/\/+$/, '');
}

// --- internal ---

/** `scheme://authority` at the start of an absolute-form request target. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;
