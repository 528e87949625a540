/**
 * The client side of the HTTP adapter conformance suite: a fetch client without a cookie jar, a
 * browser that keeps one, and the assertions every case uses. Exported for adapters' own tests.
 */
import { request as httpsRequest } from 'node:https';
import { expect } from 'vitest';
import type { AdapterServer } from './conformance-types.js';

/** A desktop Chrome user agent. */
export const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
/** An iPhone Safari user agent. */
export const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

/** The instant every case starts at (a manual clock). */
export const T0 = '2030-01-01T00:00:00.000Z';
/** T0 + the default absoluteTimeout (7 days), as a cookie's Expires attribute. */
export const ABSOLUTE_DEADLINE_HTTP = 'Tue, 08 Jan 2030 00:00:00 GMT';
/** A foreign origin. */
export const EVIL = 'https://evil.example';
/** The session cookie's default name (with the default `secure: true`). */
export const SID = '__Host-sid';
/** Where the app under test serves the self-service routes. */
export const SELF = '/api/v1/me/sessions';

/** The JSON error shape every error response has. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** A Set-Cookie header, parsed. */
export interface SetCookie {
  name: string;
  value: string;
  /** Attribute names in lower case; flags are `true`. */
  attributes: Record<string, string | true>;
}

/** A response as the test client read it. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
  cookies: SetCookie[];
}

/** What {@link HttpTestClient.send} may add to a request. */
export interface RequestOptions {
  cookie?: string | null;
  bearer?: string;
  ua?: string;
  origin?: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, with Content-Type: application/json. */
  rawBody?: string;
}

/**
 * A fetch client for one server under test; it keeps no state between requests. Every 4xx or 5xx it
 * reads is checked for stack frames, file paths and HTML error pages.
 *
 * @example
 * const app = new HttpTestClient(server);
 * const { cookie } = await app.login('alice', CHROME_WINDOWS);
 * expect((await app.get('/protected', { cookie })).status).toBe(200);
 */
export class HttpTestClient {
  constructor(private readonly server: AdapterServer) {}

  get(path: string, options?: RequestOptions): Promise<Reply> {
    return this.send('GET', path, options);
  }
  post(path: string, options?: RequestOptions): Promise<Reply> {
    return this.send('POST', path, options);
  }
  delete(path: string, options?: RequestOptions): Promise<Reply> {
    return this.send('DELETE', path, options);
  }

  /** Logs `userId` in from a device; returns the session id, the token and the Cookie header that carries it. */
  async login(userId: string, ua: string): Promise<{ id: string; token: string; cookie: string }> {
    const reply = await this.post('/login', { ua, body: { userId } });
    expect(reply.status).toBe(200);
    const { id, token } = reply.body as { id: string; token: string };
    const set = reply.cookies.find((c) => c.value === token);
    expect(set, 'the session cookie').toBeDefined();
    return { id, token, cookie: `${set!.name}=${token}` };
  }

  async send(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { 'user-agent': options.ua ?? CHROME_WINDOWS, ...options.headers };
    if (options.cookie) headers.cookie = options.cookie;
    if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
    if (options.origin !== undefined) headers.origin = options.origin;
    let body: string | undefined;
    if (options.body !== undefined || options.rawBody !== undefined) {
      body = options.rawBody ?? JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(this.server.url + path, { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text !== '' && (response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    const reply: Reply = { status: response.status, headers: response.headers, text, body: parsed, cookies: response.headers.getSetCookie().map(parseSetCookie) };
    if (reply.status >= 400) expectNoStackTrace(reply);
    return reply;
  }
}

/**
 * A browser on one site, as far as the session is concerned: it keeps what Set-Cookie stores, drops
 * what it clears, and sends its cookies with the Origin and Sec-Fetch-Site of a same-origin page.
 */
export class Browser {
  readonly #jar = new Map<string, string>();
  constructor(
    private readonly app: HttpTestClient,
    private readonly origin: string,
    private readonly ua: string,
  ) {}

  /** The Cookie header it would send, or `null` when it holds no cookie. */
  get cookieHeader(): string | null {
    return this.#jar.size === 0 ? null : [...this.#jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async send(method: string, path: string, options: Pick<RequestOptions, 'body' | 'headers'> = {}): Promise<Reply> {
    const reply = await this.app.send(method, path, { ...options, ua: this.ua, cookie: this.cookieHeader, origin: this.origin, headers: { 'sec-fetch-site': 'same-origin', ...options.headers } });
    for (const cookie of reply.cookies) {
      if (cookie.value === '' || cookie.attributes['max-age'] === '0') this.#jar.delete(cookie.name);
      else this.#jar.set(cookie.name, cookie.value);
    }
    return reply;
  }
}

/** One HTTPS request to a test server with a self-signed certificate (fetch() cannot be given one). */
export function tlsRequest(url: string, ca: string, method: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; setCookie: string[]; body: unknown }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method, ca, headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        const setCookie = response.headers['set-cookie'] ?? [];
        resolve({ status: response.statusCode ?? 0, setCookie, body: text === '' ? undefined : JSON.parse(text) });
      });
    });
    request.on('error', reject);
    request.end(payload);
  });
}

/** The JSON error shape, with no-store, and no stack trace (checked for every 4xx/5xx already). */
export function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, body: reply.body }).toEqual({ status, body: { error: { code, message: expect.any(String) } } });
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(reply.headers.get('cache-control')).toBe('no-store');
}

/** The response deletes the named cookie: empty value, Max-Age=0, an Expires in the past. */
export function expectCleared(reply: Reply, name: string): void {
  const cleared = reply.cookies.find((c) => c.name === name);
  expect(cleared, `Set-Cookie clearing ${name}`).toBeDefined();
  expect(cleared!.value).toBe('');
  expect(cleared!.attributes['max-age']).toBe('0');
  expect(Date.parse(cleared!.attributes.expires as string)).toBe(0);
  expect(cleared!.attributes).toMatchObject({ path: '/', httponly: true });
}

// --- internal ---

/** Used on every error response of the suite: no stack frames, file paths or HTML error pages. */
function expectNoStackTrace(reply: Reply): void {
  const text = reply.text;
  expect(text, 'stack frame').not.toMatch(/\bat\s+\S+\s+\(|\bat\s+(?:file:|node:|\/)/);
  expect(text, 'file path').not.toMatch(/\.(?:[cm]?[jt]s):\d+|node_modules|\/work\/|file:\/\//);
  expect(text, 'HTML page').not.toMatch(/<html|<!doctype|<pre>/i);
  expect(text, 'error class').not.toMatch(/\b(?:TypeError|ReferenceError|SyntaxError|SqliteError|RangeError)\b/);
}

function parseSetCookie(header: string): SetCookie {
  const [pair = '', ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attributes: Record<string, string | true> = {};
  for (const part of rest) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const i = trimmed.indexOf('=');
    if (i === -1) attributes[trimmed.toLowerCase()] = true;
    else attributes[trimmed.slice(0, i).toLowerCase()] = trimmed.slice(i + 1);
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}
