import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, type SessionManager } from '../../src/index.js';
import type { SessionHttpOptions } from '../../src/http/index.js';
import { manualClock } from '../../src/testing/index.js';
import { frameworks, SESSIONS_PREFIX, type Framework, type TestServer } from '../http/servers.js';
import {
  brokenJsonText,
  clientHintHeaders,
  forwardedForHeader,
  forwardedHeader,
  fuzzParams,
  fuzzTimeout,
  hostileJsonText,
  hostileString,
  nearToken,
  tokenBody,
  userAgent,
} from '../support/fuzz.js';
import { expectSafeResponse, HostileClient, pct, type HostileResponse } from '../support/hostile-http.js';

// The test app of test/http/servers.ts on Express, Koa and Fastify, over real HTTP on 127.0.0.1,
// each in two set-ups (a `sid` cookie and no proxy; a `__Host-sid` cookie behind trusted loopback
// proxies, with tracking), fed hostile requests: cookies (many, duplicate, quoted, encoded, huge,
// near-valid tokens), Authorization, forwarding headers, user agents and client hints, Origin and
// Sec-Fetch-Site, and JSON bodies and query parameters of every self-service route and the login.
// Properties: never a 5xx or a stack trace; the server keeps serving; a signed-in victim's sessions
// never change (no request carries its token); a refused request changes nothing of the attacker's.
// Budget of this file: 6 set-ups x (2,500 + 200 raw) = 16,200 cases.

const RUNS = { requests: 2500, raw: 200 };
const VICTIM = 'victim-7f3a9c';
const ATTACKER = 'mallory';

interface Setup {
  label: string;
  cookie: string;
  middleware: SessionHttpOptions;
}

const setups = (framework: Framework): Setup[] => [
  { label: 'sid, no proxy', cookie: 'sid', middleware: { cookie: { name: 'sid' } } },
  {
    label: '__Host-sid, trusted loopback proxy, tracking',
    cookie: '__Host-sid',
    middleware: { cookie: { name: '__Host-sid' }, trustProxy: 'loopback', proxyHeader: framework.name === 'koa' ? 'forwarded' : 'x-forwarded-for', track: true, allowedOrigins: ['https://app.example'] },
  },
];

const cases = frameworks.flatMap((framework) => setups(framework).map((setup) => ({ framework, setup, name: `${framework.name} (${setup.label})` })));

// --- what a request is made of; tokens are resolved when it is sent ---

type TokenSpec =
  | { kind: 'attacker'; encoding: 'plain' | 'quoted' | 'percent' | 'padded' }
  | { kind: 'victim-near'; index: number; char: string }
  | { kind: 'literal'; value: string };

const tokenSpec: fc.Arbitrary<TokenSpec> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('attacker' as const), encoding: fc.constantFrom('plain' as const, 'quoted' as const, 'percent' as const, 'padded' as const) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('victim-near' as const), index: fc.integer({ min: 4, max: 35 }), char: tokenBody(1) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('literal' as const), value: fc.oneof(nearToken(), hostileString({ maxLength: 50, maxHuge: 10_000 })) }), weight: 3 },
);

const cookieName = fc.constantFrom('sid', '__Host-sid', 'SID', '__host-sid', 'sid ', ' sid', 'sid2', '__Secure-sid', '__proto__', 'constructor', '');
const cookieHeader = fc.oneof(
  { arbitrary: fc.array(fc.tuple(cookieName, tokenSpec, fc.constantFrom('=', ' = ', '==')), { minLength: 1, maxLength: 5 }), weight: 6 },
  { arbitrary: fc.tuple(fc.integer({ min: 50, max: 400 }), tokenSpec).map(([n, spec]) => [...Array.from({ length: n }, (_, i) => [`c${i}`, { kind: 'literal', value: 'x' }, '='] as const), ['sid', spec, '='] as const]), weight: 1 },
  { arbitrary: hostileString({ maxLength: 60, maxHuge: 20_000 }), weight: 2 },
);
const authorization = fc.oneof(
  fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Bearer\t', 'Bearer  ', 'Basic', 'Token', 'Bearer,', ''), tokenSpec, fc.constantFrom('', ' ', '\t', ',', ', Bearer x', ' extra')),
  hostileString({ maxLength: 60, maxHuge: 4000 }),
);

const sessionIdSpec = fc.oneof(
  fc.constantFrom('attacker', 'victim'),
  tokenBody(24).map((b) => `ses_${b.toLowerCase().replace(/[_-]/g, 'a')}`),
  hostileString({ maxLength: 40, maxHuge: 3000 }),
);
const query = fc.dictionary(fc.constantFrom('limit', 'cursor', 'category', 'status', 'severity', 'limit[]', '__proto__'), fc.oneof(hostileString({ maxLength: 30, maxHuge: 500 }), fc.constantFrom('1', '20', '100', '101', '0', '-1', '1e2', 'auth', 'open', '')), { maxKeys: 3 });
const body = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: hostileJsonText(), weight: 5 },
  { arbitrary: brokenJsonText(), weight: 3 },
  { arbitrary: fc.constantFrom('{"userId":"mallory"}', '{"userId":"victim-7f3a9c2"}', '{"by":"30m"}', '{"by":"1h"}', '{"by":3600001}', '{"by":"0ms"}'), weight: 2 },
);

const route = fc.oneof(
  { arbitrary: fc.constantFrom(['GET', '/public'], ['GET', '/protected'], ['POST', '/logout'], ['POST', '/rotate'], ['POST', '/login'], ['POST', '/login'], ['POST', '/login']), weight: 5 },
  { arbitrary: fc.tuple(fc.constantFrom('', '/', '/current', '/statistics', '/activity', '/alerts', '/activity/', '//activity'), query).map(([sub, q]) => ['GET', `${SESSIONS_PREFIX}${sub}`, q] as const), weight: 4 },
  { arbitrary: sessionIdSpec.map((id) => ['DELETE', SESSIONS_PREFIX, id] as const), weight: 3 },
  { arbitrary: sessionIdSpec.map((id) => ['POST', SESSIONS_PREFIX, id, '/extend'] as const), weight: 4 },
  { arbitrary: fc.constantFrom(['POST', `${SESSIONS_PREFIX}/revoke-others`], ['POST', `${SESSIONS_PREFIX}/revoke-others/`], ['PUT', SESSIONS_PREFIX], ['PATCH', `${SESSIONS_PREFIX}/current`]), weight: 2 },
  // No HEAD: Fastify answers a HEAD it refuses before routing (431) with a body, which breaks keep-alive framing.
  { arbitrary: fc.tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS'), hostileString({ maxLength: 40, maxHuge: 6000 })).map(([m, p]) => [m, `/${pct(p)}`] as const), weight: 1 },
);

const request = fc.record(
  {
    route,
    cookie: cookieHeader,
    authorization,
    userAgent: fc.oneof(userAgent(), fc.array(userAgent(), { minLength: 2, maxLength: 2 })),
    hints: clientHintHeaders(),
    xForwardedFor: fc.oneof(forwardedForHeader(), fc.array(forwardedForHeader(), { minLength: 2, maxLength: 3 })),
    forwarded: forwardedHeader(),
    origin: fc.oneof(fc.constantFrom('https://evil.example', 'null', 'https://app.example', 'http://app.example', 'https://app.example.evil', ''), hostileString({ maxLength: 30, maxHuge: 2000 })),
    secFetchSite: fc.oneof(fc.constantFrom('same-origin', 'cross-site', 'same-site', 'none'), hostileString({ maxLength: 20, maxHuge: 200 })),
    contentType: fc.oneof(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'application/vnd.api+json', 'multipart/form-data; boundary=x', ''), hostileString({ maxLength: 30, maxHuge: 300 })),
    body,
  },
  { requiredKeys: ['route'] },
);
type HostileRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

describe.each(cases)('hostile requests to $name', ({ framework, setup }) => {
  let manager: SessionManager;
  let server: TestServer;
  let client: HostileClient;
  const state = { token: '', sessionId: '', victimId: '', victimToken: '', victimSnapshot: '' };

  beforeAll(async () => {
    const clock = manualClock('2030-01-01T00:00:00Z');
    // The clock stands still, so validation never writes: any change to the victim is an attack that worked.
    manager = createSessionManager({ store: memoryStore(), clock: clock.now, maxSessionsPerUser: 20, alerts: { onError: () => {} } });
    server = await framework.start(manager, { middleware: setup.middleware });
    client = new HostileClient(server.url);
    const victim = await manager.create({ userId: VICTIM, ip: '198.51.100.7', userAgent: 'curl/8.4.0', metadata: { role: 'admin' } });
    state.victimId = victim.session.id;
    state.victimToken = victim.token;
    state.victimSnapshot = JSON.stringify(await manager.list(VICTIM, { includeInactive: true }));
    await signInAttacker();
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await manager.close();
  });

  async function signInAttacker(): Promise<void> {
    const { session, token } = await manager.create({ userId: ATTACKER });
    state.token = token;
    state.sessionId = session.id;
  }

  function token(spec: TokenSpec): string {
    switch (spec.kind) {
      case 'attacker':
        return spec.encoding === 'plain' ? state.token : spec.encoding === 'quoted' ? `"${state.token}"` : spec.encoding === 'percent' ? pct(state.token).replace(/_/g, '%5F') : ` ${state.token} `;
      case 'victim-near': {
        // One character of the victim's token changed: as near as a guess gets, never equal.
        const original = state.victimToken[spec.index]!;
        const char = spec.char === original ? (original === 'A' ? 'B' : 'A') : spec.char;
        return state.victimToken.slice(0, spec.index) + char + state.victimToken.slice(spec.index + 1);
      }
      case 'literal':
        return spec.value;
    }
  }

  function toHttp(r: HostileRequest): { method: string; path: string; headers: Record<string, string | string[] | undefined>; body?: string } {
    const [method, base, id, tail] = r.route as readonly [string, string, unknown?, string?];
    let path = base;
    if (typeof id === 'string') path = `${base}/${id === 'attacker' ? state.sessionId : id === 'victim' ? state.victimId : pct(id)}${tail ?? ''}`;
    else if (id !== undefined && id !== null) path = `${base}?${new URLSearchParams(id as Record<string, string>).toString()}`;
    const cookie = typeof r.cookie === 'string' ? r.cookie : r.cookie?.map(([name, spec, eq]) => `${name}${eq}${token(spec as TokenSpec)}`).join('; ');
    const auth = r.authorization === undefined ? undefined : typeof r.authorization === 'string' ? r.authorization : `${r.authorization[0]} ${token(r.authorization[1])}${r.authorization[2]}`;
    return {
      method,
      path,
      headers: {
        cookie,
        authorization: auth,
        'user-agent': r.userAgent,
        ...r.hints,
        'x-forwarded-for': r.xForwardedFor,
        forwarded: r.forwarded,
        origin: r.origin,
        'sec-fetch-site': r.secFetchSite,
        ...(r.body !== undefined ? { 'content-type': r.contentType ?? 'application/json' } : {}),
      },
      ...(r.body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body: r.body } : {}),
    };
  }

  async function attackerSnapshot(): Promise<string> {
    return JSON.stringify(await manager.list(ATTACKER, { includeInactive: true }));
  }

  it(
    'never answers 5xx or a stack trace, never changes the victim, and a refused request changes nothing of the attacker',
    async () => {
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const sent = toHttp(r);
          const before = await attackerSnapshot();
          let response: HostileResponse;
          try {
            response = await client.send(sent);
          } catch (error) {
            throw new Error(`${sent.method} ${sent.path.slice(0, 200)}: ${(error as Error).message}`, { cause: error });
          }
          const what = `${sent.method} ${sent.path.slice(0, 200)}`;
          expectSafeResponse(response, what);
          expect(JSON.stringify(await manager.list(VICTIM, { includeInactive: true })), `${what} changed the victim's sessions`).toBe(state.victimSnapshot);
          if (response.status >= 400) expect(await attackerSnapshot(), `${what} answered ${response.status} and changed the attacker's sessions`).toBe(before);
          if (response.status === 200 && sent.path === '/rotate') state.token = (JSON.parse(response.text) as { token: string }).token;
          if ((await manager.get(state.sessionId))?.status !== 'active') await signInAttacker();
        }),
        fuzzParams(`http ${framework.name} ${setup.label}`, RUNS.requests),
      );
      // Still serving, and the victim still signed in.
      expect((await client.send({ method: 'GET', path: '/protected', headers: { authorization: `Bearer ${state.victimToken}` } })).status).toBe(200);
    },
    fuzzTimeout(RUNS.requests, 4),
  );

  it(
    'raw requests with control characters, NUL, broken framing and odd header names never get a 5xx, and the server keeps serving',
    async () => {
      const ctl = fc.string({ unit: fc.constantFrom('\0', '\x01', '\x1b', '\x7f', '\r', '\n', '\x0b', '\x0c', 'a', ' ', ':', '\xff'), maxLength: 12 });
      const rawRequest = fc.record({
        method: fc.constantFrom('GET', 'POST', 'DELETE', 'G\0ET', 'get', 'PRI', 'CONNECT'),
        path: fc.constantFrom('/public', '/protected', `${SESSIONS_PREFIX}/current`, '/login', '*', 'http://evil.example/', '/\0', '/%00'),
        headers: fc.array(fc.tuple(fc.oneof(fc.constantFrom('Cookie', 'Authorization', 'User-Agent', 'X-Forwarded-For', 'Content-Length', 'Transfer-Encoding', 'Host', 'Sec-CH-UA'), ctl), fc.oneof(ctl, fc.constantFrom('sid=skt_\0', 'Bearer skt_\x7f', 'chunked', '5', '-1', '1e3', '0x10', '99999999999999999999'))), { maxLength: 6 }),
        body: fc.oneof(fc.constant(''), fc.constantFrom('{"userId":"mallory"}', '0\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n')),
      });
      await fc.assert(
        fc.asyncProperty(rawRequest, async (r) => {
          const framed = r.headers.some(([name]) => /^(?:content-length|transfer-encoding)$/i.test(name));
          // A body the headers do not frame would be a second, pipelined request (Koa logs each one).
          const length = r.body !== '' && !framed ? [`Content-Length: ${r.body.length}`] : [];
          const head = [`${r.method} ${r.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...length, ...r.headers.map(([name, value]) => `${name}: ${value}`)];
          const response = await client.raw(Buffer.from(`${head.join('\r\n')}\r\n\r\n${r.body}`, 'latin1'));
          if (response !== null) expectSafeResponse(response, `raw ${JSON.stringify(head)}`);
          expect(JSON.stringify(await manager.list(VICTIM, { includeInactive: true }))).toBe(state.victimSnapshot);
        }),
        fuzzParams(`http raw ${framework.name} ${setup.label}`, RUNS.raw),
      );
      expect((await client.send({ method: 'GET', path: '/public' })).status).toBe(200);
    },
    fuzzTimeout(RUNS.raw, 30),
  );
});
