import { afterEach, describe, expect, it } from 'vitest';
import { sessionMiddleware, sessionRoutes } from '../../adapters/http/express/index.js';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, SessionError, type SessionManager } from '../../src/index.js';
import { createSessionHttp, HttpError, type SelfServiceOptions, type SessionHttpOptions } from '../../src/http/index.js';
import type { TrustProxy } from '../../src/net/index.js';
import { LAB_ERROR_CODES, LabError, type LabErrorCode } from '../../src/labs/index.js';

// Options are checked once, when the middleware is built: a mistake fails at startup, naming the field.

const managers: SessionManager[] = [];
afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.close();
});

function manager(): SessionManager {
  const created = createSessionManager({ store: memoryStore(), alerts: false });
  managers.push(created);
  return created;
}

/** What `sessionMiddleware()` throws for these options, or null. */
function middlewareError(options: unknown): SessionError | null {
  try {
    sessionMiddleware(manager(), options as SessionHttpOptions);
    return null;
  } catch (error) {
    if (error instanceof SessionError) return error;
    throw error;
  }
}

function routesError(options: unknown): SessionError | null {
  try {
    sessionRoutes(manager(), options as SelfServiceOptions);
    return null;
  } catch (error) {
    if (error instanceof SessionError) return error;
    throw error;
  }
}

describe('sessionMiddleware() options: INVALID_CONFIG naming the field', () => {
  it.each([
    ['a __Host- cookie without secure', { cookie: { name: '__Host-sid', secure: false } }, /^cookie\.name .*__Host-/],
    ['a __Host- cookie with a domain', { cookie: { name: '__Host-sid', domain: 'example.com' } }, /^cookie\.name .*__Host-/],
    ['a __Host- cookie on a path other than /', { cookie: { name: '__Host-sid', path: '/app' } }, /^cookie\.name .*__Host-/],
    ['a __Secure- cookie without secure', { cookie: { name: '__Secure-sid', secure: false } }, /^cookie\.name .*__Secure-/],
    ["sameSite 'none' without secure", { cookie: { sameSite: 'none', secure: false } }, /^cookie\.sameSite .*secure/],
    ['an unknown sameSite', { cookie: { sameSite: 'None' } }, /^cookie\.sameSite /],
    ['cookie and bearer both off', { cookie: false, bearer: false }, /^cookie and bearer cannot both be off/],
    ['an allowedOrigins entry with a path', { allowedOrigins: ['https://a.example/path'] }, /^allowedOrigins .*https:\/\/a\.example\/path.*https:\/\/a\.example /],
    ['an allowedOrigins entry with a trailing slash', { allowedOrigins: ['https://a.example/'] }, /^allowedOrigins /],
    ['an allowedOrigins entry without a scheme', { allowedOrigins: ['a.example'] }, /^allowedOrigins /],
    ['an allowedOrigins entry that is not a string', { allowedOrigins: [42] }, /^allowedOrigins /],
    ['a cookie name with a space', { cookie: { name: 's id' } }, /^cookie\.name /],
    ['an empty cookie name', { cookie: { name: '' } }, /^cookie\.name /],
    ['a cookie path without a leading slash', { cookie: { path: 'app' } }, /^cookie\.path /],
    ['a cookie path with a semicolon', { cookie: { path: '/a;b' } }, /^cookie\.path /],
    ['a cookie domain that is not a host name', { cookie: { domain: 'exa mple.com' } }, /^cookie\.domain /],
    ['secure that is not a boolean', { cookie: { secure: 'yes' } }, /^cookie\.secure /],
    ['persistent that is not a boolean', { cookie: { persistent: 1 } }, /^cookie\.persistent /],
    ['cookie that is not an object', { cookie: 'sid' }, /^cookie /],
    ['bearer that is not a boolean', { bearer: 'yes' }, /^bearer /],
    ['track that is not a boolean', { track: 1 }, /^track /],
    ['csrf that is not a boolean', { csrf: 'yes' }, /^csrf /],
    ['a trustProxy hop count out of range', { trustProxy: 99 }, /trustProxy/],
    ['options that are not an object', null, /options must be an object/],
  ])('%s', (_, options, message) => {
    const error = middlewareError(options);
    expect(error?.code).toBe('INVALID_CONFIG');
    expect(error?.message).toMatch(message);
  });

  it('a first argument that is not a session manager', () => {
    expect(() => sessionMiddleware({} as SessionManager)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(/session manager/) }));
  });

  it.each([
    ['the defaults', {}],
    ['a __Host- cookie with the defaults', { cookie: { name: '__Host-sid' } }],
    ["sameSite 'none' with secure", { cookie: { sameSite: 'none' } }],
    ['bearer only', { cookie: false }],
    ['cookie only', { bearer: false }],
    ['development over http', { cookie: { secure: false, sameSite: 'strict', path: '/app', domain: '.example.com', persistent: false } }],
    ['bare origins, with ports and IPv6', { allowedOrigins: ['https://app.example', 'http://localhost:3000', 'http://[::1]:8080'] }],
    ['trustProxy and track', { trustProxy: 1, track: true }],
    ['csrf off', { csrf: false }],
  ])('accepts %s', (_, options) => {
    expect(middlewareError(options)).toBeNull();
  });
});

describe('sessionRoutes() options', () => {
  it.each([
    ['maxExtend that is not a duration', { maxExtend: 'soon' }],
    ['a negative maxExtend', { maxExtend: -1 }],
    ['options that are not an object', null],
  ])('%s is INVALID_CONFIG', (_, options) => {
    const error = routesError(options);
    expect(error?.code).toBe('INVALID_CONFIG');
    if (options !== null) expect(error?.message).toMatch(/maxExtend/);
  });

  it.each([['2h'], [90 * 60_000], [undefined]])('accepts maxExtend %s', (maxExtend) => {
    expect(routesError(maxExtend === undefined ? {} : { maxExtend })).toBeNull();
  });
});

describe('errorResponse(): a JSON error, never internals', () => {
  const http = () => createSessionHttp(manager());

  it('maps a storage failure to 503 STORE_UNAVAILABLE without the driver message', () => {
    const cause = new Error('SQLITE_CANTOPEN at /var/lib/app/sessions.db');
    const response = http().errorResponse(new SessionError('STORE_UNAVAILABLE', `The sqlite store failed during validate: ${cause.message}`, { cause }));
    expect(response).toEqual({
      status: 503,
      headers: { 'cache-control': 'no-store' },
      body: { error: { code: 'STORE_UNAVAILABLE', message: 'Session storage is unavailable; try again shortly' } },
    });
    expect(JSON.stringify(response)).not.toMatch(/SQLITE|\/var\//);
  });

  it.each([
    ['STORE_NOT_MIGRATED', 503, 'STORE_UNAVAILABLE'],
    ['CLOSED', 503, 'STORE_UNAVAILABLE'],
    ['INVALID_ARGUMENT', 400, 'INVALID_ARGUMENT'],
    ['INVALID_TOKEN', 400, 'INVALID_TOKEN'],
    ['SESSION_NOT_FOUND', 404, 'SESSION_NOT_FOUND'],
    ['SESSION_INACTIVE', 409, 'SESSION_INACTIVE'],
    ['SESSION_LIMIT', 429, 'SESSION_LIMIT'],
    ['INVALID_CONFIG', 500, 'INTERNAL'],
  ] as const)('SessionError %s is %i %s', (code, status, answered) => {
    const response = http().errorResponse(new SessionError(code, 'detail'));
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ error: { code: answered, message: expect.any(String) } });
    expect(response.headers).toEqual({ 'cache-control': 'no-store' });
  });

  const labStatuses: Record<LabErrorCode, number> = {
    LAB_NOT_FOUND: 404,
    TEMPLATE_UNKNOWN: 400,
    LAB_LIMIT: 409,
    EXTENSION_LIMIT: 409,
    LAB_NOT_ACTIVE: 409,
    POOL_EXHAUSTED: 503,
    SUBNET_OVERLAP: 503,
    DOCKER_UNAVAILABLE: 503,
    IMAGE_MISSING: 500,
    DOCKER_ERROR: 502,
  };
  it.each(Object.values(LAB_ERROR_CODES))('LabError %s keeps its code with its status; a 5xx gets a fixed message', (code) => {
    const detail = 'connect ENOENT /var/run/docker.sock (image registry.internal/secret:1)';
    const response = http().errorResponse(new LabError(code, detail, { statusCode: 500 }));
    expect(response.status).toBe(labStatuses[code]);
    expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
    expect(response.headers).toEqual({ 'cache-control': 'no-store' });
    if (response.status >= 500) expect(JSON.stringify(response)).not.toMatch(/ENOENT|\/var\/|registry/);
    else expect(response.body).toEqual({ error: { code, message: detail } });
  });

  it('an HttpError keeps its status and code; anything else is 500 INTERNAL with a fixed message', () => {
    expect(http().errorResponse(new HttpError(413, 'INVALID_BODY', 'too large'))).toMatchObject({ status: 413, body: { error: { code: 'INVALID_BODY', message: 'too large' } } });
    for (const thrown of [new TypeError("Cannot read properties of undefined (reading 'x') at /app/src/x.ts:3:4"), 'a string', null]) {
      expect(http().errorResponse(thrown)).toEqual({
        status: 500,
        headers: { 'cache-control': 'no-store' },
        body: { error: { code: 'INTERNAL', message: 'Internal error' } },
      });
    }
  });
});

describe('originAllowed()', () => {
  const cookieAuth = { session: null, token: 'skt_x', via: 'cookie', clearCookie: false, ip: null } as const;
  const request = (method: string, headers: Record<string, string>, more: { encrypted?: boolean; remoteAddress?: string } = {}) => ({
    method,
    path: '/',
    headers: { host: 'app.example', ...headers },
    remoteAddress: more.remoteAddress ?? '127.0.0.1',
    ...(more.encrypted === undefined ? {} : { encrypted: more.encrypted }),
  });
  const tls = { encrypted: true };

  it.each([
    ['GET from anywhere', 'GET', { origin: 'https://evil.example' }, {}, true],
    ['HEAD from anywhere', 'HEAD', { 'sec-fetch-site': 'cross-site' }, {}, true],
    ['POST from the own origin over TLS', 'POST', { origin: 'https://app.example' }, tls, true],
    ['POST from the own origin over plain http', 'POST', { origin: 'http://app.example' }, {}, true],
    ['POST from the http:// origin of a TLS site', 'POST', { origin: 'http://app.example' }, tls, false],
    ['POST from the https:// origin of a plain-http site', 'POST', { origin: 'https://app.example' }, {}, false],
    ['POST from another port of the host', 'POST', { origin: 'https://app.example:8443' }, tls, false],
    ['POST with the default port in Host (https)', 'POST', { origin: 'https://app.example', host: 'app.example:443' }, tls, true],
    ['POST with the default port in Origin (http)', 'POST', { origin: 'http://app.example:80' }, {}, true],
    ['POST with port 443 on plain http', 'POST', { origin: 'http://app.example', host: 'app.example:443' }, {}, false],
    ['POST with another port in both', 'POST', { origin: 'https://app.example:8443', host: 'app.example:8443' }, tls, true],
    ['POST with a Host in upper case', 'POST', { origin: 'https://app.example', host: 'APP.Example' }, tls, true],
    ['POST from an IPv6 literal', 'POST', { origin: 'http://[::1]:8080', host: '[::1]:8080' }, {}, true],
    ['POST from another IPv6 literal', 'POST', { origin: 'http://[::2]:8080', host: '[::1]:8080' }, {}, false],
    ['POST with a Host that carries a path', 'POST', { origin: 'https://app.example', host: 'app.example/evil' }, tls, false],
    ['POST with a Host that carries credentials', 'POST', { origin: 'https://app.example', host: 'evil.example@app.example' }, tls, false],
    ['POST with an unterminated IPv6 Host', 'POST', { origin: 'http://[::1]', host: '[::1' }, {}, false],
    ['POST with a Host port out of range', 'POST', { origin: 'https://app.example:99999', host: 'app.example:99999' }, tls, false],
    ['POST with a Host port 0', 'POST', { origin: 'https://app.example:0', host: 'app.example:0' }, tls, false],
    ['POST with an empty Host', 'POST', { origin: 'https://app.example', host: '' }, tls, false],
    ['POST with an Origin that carries a path', 'POST', { origin: 'https://app.example/x' }, tls, false],
    ['PUT from a foreign origin', 'PUT', { origin: 'https://evil.example' }, tls, false],
    ['PATCH with a malformed Origin', 'PATCH', { origin: 'not a url' }, tls, false],
    ['DELETE with Origin: null and no Sec-Fetch-Site', 'DELETE', { origin: 'null' }, tls, false],
    ['POST with Origin: null but Sec-Fetch-Site: same-origin', 'POST', { origin: 'null', 'sec-fetch-site': 'same-origin' }, tls, true],
    ['POST with Sec-Fetch-Site: none (typed into the address bar)', 'POST', { 'sec-fetch-site': 'none' }, tls, true],
    ['POST with Sec-Fetch-Site: same-site', 'POST', { 'sec-fetch-site': 'same-site' }, tls, false],
    ['POST with neither header', 'POST', {}, tls, true],
  ])('%s: %s', (_, method, headers, more, allowed) => {
    expect(createSessionHttp(manager()).originAllowed(request(method, headers, more), cookieAuth)).toBe(allowed);
  });

  it('without Host, the HTTP/2 :authority names the own origin', () => {
    const http = createSessionHttp(manager());
    const h2 = { method: 'POST', path: '/', headers: { ':authority': 'app.example', origin: 'https://app.example' }, remoteAddress: '127.0.0.1', encrypted: true };
    expect(http.originAllowed(h2, cookieAuth)).toBe(true);
    expect(http.originAllowed({ ...h2, headers: { origin: 'https://app.example' } }, cookieAuth)).toBe(false);
  });

  it('X-Forwarded-Proto counts only from a peer that trustProxy trusts, and only as http or https', () => {
    const behind = (trustProxy: TrustProxy, proto: string, remoteAddress = '10.0.0.1') =>
      createSessionHttp(manager(), { trustProxy }).originAllowed(request('POST', { origin: 'https://app.example', 'x-forwarded-proto': proto }, { remoteAddress }), cookieAuth);
    expect(behind('10.0.0.0/8', 'https')).toBe(true);
    expect(behind('10.0.0.0/8', 'HTTPS')).toBe(true);
    expect(behind(1, 'https')).toBe(true);
    // The client's side of an appending chain is the left-most entry.
    expect(behind('10.0.0.0/8', 'https, http')).toBe(true);
    expect(behind('10.0.0.0/8', 'http, https')).toBe(false);
    expect(behind('10.0.0.0/8', 'https', '203.0.113.7')).toBe(false);
    expect(behind(false, 'https')).toBe(false);
    expect(behind('10.0.0.0/8', 'wss')).toBe(false);
    // A trusted proxy saying http over a TLS hop: the proxy knows what the client used.
    const http = createSessionHttp(manager(), { trustProxy: 'loopback' });
    expect(http.originAllowed(request('POST', { origin: 'https://app.example', 'x-forwarded-proto': 'http' }, tls), cookieAuth)).toBe(false);
    expect(http.originAllowed(request('POST', { origin: 'https://app.example' }, tls), cookieAuth)).toBe(true);
  });

  it('allowedOrigins adds origins; the own origin still passes; bearer requests are exempt', () => {
    const http = createSessionHttp(manager(), { allowedOrigins: ['https://admin.example'] });
    expect(http.originAllowed(request('POST', { origin: 'https://admin.example' }), cookieAuth)).toBe(true);
    expect(http.originAllowed(request('POST', { origin: 'https://ADMIN.example:443' }), cookieAuth)).toBe(true);
    expect(http.originAllowed(request('POST', { origin: 'http://admin.example' }), cookieAuth)).toBe(false);
    expect(http.originAllowed(request('POST', { origin: 'https://app.example' }, tls), cookieAuth)).toBe(true);
    expect(http.originAllowed(request('POST', { origin: 'https://evil.example' }), cookieAuth)).toBe(false);
    expect(http.originAllowed(request('POST', { origin: 'https://evil.example' }), { ...cookieAuth, via: 'bearer' })).toBe(true);
  });
});

describe('the session cookie name', () => {
  it.each([
    ['__Host-sid by default', {}, '__Host-sid'],
    ['__Secure-sid with a path', { path: '/app' }, '__Secure-sid'],
    ['__Secure-sid with a domain', { domain: 'example.com' }, '__Secure-sid'],
    ['sid with secure: false', { secure: false }, 'sid'],
    ['an explicit name', { name: 'app_session', secure: false }, 'app_session'],
  ])('%s', (_, cookie, name) => {
    expect(createSessionHttp(manager(), { cookie }).clearCookie()).toMatch(new RegExp(`^${name}=;`));
  });
});

describe('authenticate()', () => {
  it('a malformed cookie is no session, and cleared; beside a valid one it changes nothing', async () => {
    const sessions = manager();
    const { token } = await sessions.create({ userId: 'alice' });
    const http = createSessionHttp(sessions, { cookie: { secure: false } });
    const request = (cookie: string) => ({ method: 'GET', path: '/', headers: { host: 'app.example', cookie }, remoteAddress: '127.0.0.1' });
    expect(await http.authenticate(request('sid=garbage'))).toMatchObject({ session: null, via: null, clearCookie: true });
    expect(await http.authenticate(request(`sid=garbage; sid=${token}`))).toMatchObject({ session: { userId: 'alice' }, via: 'cookie', clearCookie: false });
    expect(await http.authenticate(request(`sid=${token}; sid=garbage`))).toMatchObject({ session: { userId: 'alice' }, via: 'cookie', clearCookie: false });
  });
});
