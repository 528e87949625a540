import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import {
  clientIp,
  createClientIpResolver,
  createDeviceParser,
  createIpProtector,
  createSessionManager,
  normalizeIp,
  parseDevice,
  parseDuration,
  SessionError,
  type ClientIpOptions,
  type SessionManager,
} from '../../src/index.js';
import { createSessionHttp, errorResponse, HttpError, knownErrorResponse, type HttpRequest } from '../../src/http/index.js';
import { manualClock } from '../../src/testing/index.js';
import {
  assertNoPrototypePollution,
  canonical,
  chainEntry,
  clientHintHeaders,
  edgeNumber,
  expectDocumented,
  forwardedForHeader,
  forwardedHeader,
  fuzzParams,
  fuzzTimeout,
  hostileObject,
  hostileString,
  hostileValue,
  nearToken,
  pick,
  userAgent,
} from '../support/fuzz.js';

// The pure boundary functions and the HTTP core's request handling, in process (no server), at
// volume: each property feeds hostile values and checks that the function answers as documented.
// Budget of this file: 40,800 cases (see RUNS).

const RUNS = {
  parseDuration: 6000,
  normalizeIp: 4000,
  clientIp: 8000,
  clientIpOptions: 1000,
  parseDevice: 5000,
  deviceParserOptions: 300,
  ipProtector: 3000,
  ipProtectorOptions: 500,
  managerOptions: 2500,
  httpOptions: 1500,
  authenticate: 7000,
  errorResponse: 2000,
};

const DEVICE_CLASSES = ['desktop', 'mobile', 'tablet', 'tv', 'console', 'wearable', 'embedded', 'bot', 'unknown'];

describe('parseDuration', () => {
  it(
    'returns a non-negative safe integer of milliseconds, or throws SessionError with the code it was asked for',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            hostileValue(),
            fc.tuple(fc.stringMatching(/^\d{1,10}$/), fc.constantFrom('ms', 's', 'm', 'h', 'd', 'D', 'w', '', ' ms')).map(([n, u]) => n + u),
            fc.tuple(fc.constantFrom(' ', '\t', '\n', '\u00a0', '\ufeff', '+', '-', '0'), fc.constantFrom('30m', '1h', '7d')).map(([p, d]) => p + d),
          ),
          fc.constantFrom('INVALID_CONFIG' as const, 'INVALID_ARGUMENT' as const),
          (value, code) => {
            let ms: number;
            try {
              ms = parseDuration(value, 'field', code);
            } catch (error) {
              expectDocumented(error, [code], `parseDuration(${fc.stringify(value)})`);
              return;
            }
            expect(Number.isSafeInteger(ms) && ms >= 0, `parseDuration(${fc.stringify(value)}) = ${ms}`).toBe(true);
          },
        ),
        fuzzParams('parseDuration', RUNS.parseDuration),
      );
    },
    fuzzTimeout(RUNS.parseDuration, 0.2),
  );
});

describe('normalizeIp', () => {
  it(
    'never throws, and its result is an address in canonical form (normalising it again changes nothing)',
    () => {
      fc.assert(
        fc.property(fc.oneof(chainEntry(), hostileValue(), fc.ipV6().map((ip) => ip.toUpperCase())), (value) => {
          const ip = normalizeIp(value);
          if (ip === null) return;
          expect(typeof ip).toBe('string');
          expect(normalizeIp(ip)).toBe(ip);
          expect(ip).not.toMatch(/[%\[\]\s]/);
        }),
        fuzzParams('normalizeIp', RUNS.normalizeIp),
      );
    },
    fuzzTimeout(RUNS.normalizeIp, 0.2),
  );
});

describe('clientIp', () => {
  const trustOptions = fc.constantFrom<ClientIpOptions>(
    {},
    { trustProxy: false },
    { trustProxy: true },
    { trustProxy: 1 },
    { trustProxy: 3 },
    { trustProxy: 32 },
    { trustProxy: 'loopback' },
    { trustProxy: ['loopback', 'uniquelocal', '2001:db8::/32'] },
    { trustProxy: 'loopback, 10.0.0.0/8', proxyHeader: 'forwarded' },
    { trustProxy: true, proxyHeader: 'forwarded' },
    { trustProxy: 2, proxyHeader: 'forwarded' },
    { trustProxy: ['::ffff:10.0.0.0/104', '127.0.0.1'] },
  );
  const headerName = fc.constantFrom('x-forwarded-for', 'X-Forwarded-For', 'forwarded', 'Forwarded', 'FORWARDED', 'x-forwarded-for ');
  const headerValue = fc.oneof(
    forwardedForHeader(),
    forwardedHeader(),
    fc.array(fc.oneof(forwardedForHeader(), forwardedHeader()), { maxLength: 4 }),
    fc.array(fc.oneof(hostileValue(), forwardedForHeader()), { maxLength: 4 }),
    hostileValue(),
  );
  const headers = fc.oneof(
    fc.dictionary(headerName, headerValue, { maxKeys: 3 }),
    fc.tuple(fc.constantFrom('x-forwarded-for', 'forwarded'), fc.oneof(forwardedForHeader(), forwardedHeader())).map(([name, value]) => new Headers({ [name]: value.replace(/[^\t\x20-\x7e]/g, '?') })),
    fc.constantFrom<unknown>({ get: () => 42 }, { get: () => null }, { get: 'x' }, Object.create(null), [], 'x-forwarded-for: 1.2.3.4'),
    hostileValue(),
  );
  const remote = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('127.0.0.1', '::1', '::ffff:127.0.0.1', '10.0.0.2', 'fe80::1%lo0'), chainEntry(), hostileValue());

  it(
    'never throws for any request and returns null or a canonical address; without trustProxy it is the socket peer',
    () => {
      fc.assert(
        fc.property(trustOptions, remote, headers, (options, remoteAddress, hdrs) => {
          const request = { remoteAddress, headers: hdrs } as Parameters<typeof clientIp>[0];
          const ip = createClientIpResolver(options)(request);
          if (ip !== null) expect(normalizeIp(ip)).toBe(ip);
          if (options.trustProxy === undefined || options.trustProxy === false) expect(ip).toBe(normalizeIp(remoteAddress));
          // The one-shot form agrees with the compiled resolver.
          expect(clientIp(request, options)).toBe(ip);
        }),
        fuzzParams('clientIp', RUNS.clientIp),
      );
    },
    fuzzTimeout(RUNS.clientIp, 0.5),
  );

  it('rejects any trustProxy or proxyHeader it cannot compile with INVALID_CONFIG only', () => {
    fc.assert(
      fc.property(fc.oneof(hostileValue(), fc.array(fc.oneof(hostileString(), chainEntry()), { maxLength: 4 }), chainEntry()), hostileValue(), (trustProxy, proxyHeader) => {
        try {
          createClientIpResolver({ trustProxy, proxyHeader } as ClientIpOptions);
        } catch (error) {
          expectDocumented(error, ['INVALID_CONFIG'], `createClientIpResolver(${fc.stringify({ trustProxy, proxyHeader })})`);
        }
      }),
      fuzzParams('clientIp options', RUNS.clientIpOptions),
    );
  });
});

describe('parseDevice', () => {
  it(
    'never throws; answers a frozen DeviceInfo of a known class with a 16-character fingerprint, the same for the same input',
    () => {
      const uncached = createDeviceParser({ cacheSize: 0 });
      fc.assert(
        fc.property(
          fc.oneof(userAgent(), hostileValue()),
          fc.oneof(clientHintHeaders(), hostileValue(), clientHintHeaders().map((h) => new Headers(Object.entries(h).map(([k, v]) => [k, v.replace(/[^\t\x20-\x7e]/g, '?')])))),
          (ua, headers) => {
            const input = { userAgent: ua, headers } as Parameters<typeof parseDevice>[0];
            const device = parseDevice(input);
            expect(Object.isFrozen(device)).toBe(true);
            expect(DEVICE_CLASSES).toContain(device.class);
            expect(device.fingerprint).toMatch(/^[A-Za-z0-9_-]{16}$/);
            expect(typeof device.label).toBe('string');
            expect(device.label.length).toBeLessThanOrEqual(600);
            expect(canonical(uncached.parse(input))).toBe(canonical(device));
          },
        ),
        fuzzParams('parseDevice', RUNS.parseDevice),
      );
    },
    fuzzTimeout(RUNS.parseDevice, 2),
  );

  it('createDeviceParser rejects any other cacheSize with INVALID_CONFIG only', () => {
    fc.assert(
      fc.property(hostileValue(), (cacheSize) => {
        try {
          createDeviceParser({ cacheSize } as { cacheSize: number });
        } catch (error) {
          expectDocumented(error, ['INVALID_CONFIG'], `createDeviceParser(${fc.stringify(cacheSize)})`);
        }
      }),
      fuzzParams('createDeviceParser', RUNS.deviceParserOptions),
    );
  });
});

describe('createIpProtector', () => {
  const protectors = {
    raw: createIpProtector({ ipPrivacy: 'raw' }),
    truncate: createIpProtector({ ipPrivacy: 'truncate' }),
    hash: createIpProtector({ ipHashKey: 'k'.repeat(32) }),
  };
  it(
    'never throws; stores null for what is not an address, a canonical address, network or 24-character hash otherwise',
    () => {
      fc.assert(
        fc.property(fc.oneof(chainEntry(), hostileValue()), (value) => {
          const ip = normalizeIp(value);
          const raw = protectors.raw(value as string);
          const truncated = protectors.truncate(value as string);
          const hashed = protectors.hash(value as string);
          expect(raw).toBe(ip);
          if (ip === null) {
            expect([truncated, hashed]).toEqual([null, null]);
            return;
          }
          expect(normalizeIp(truncated)).toBe(truncated);
          expect(hashed).toMatch(/^h:[A-Za-z0-9_-]{22}$/);
        }),
        fuzzParams('createIpProtector', RUNS.ipProtector),
      );
    },
    fuzzTimeout(RUNS.ipProtector, 0.3),
  );

  it('rejects any other options with INVALID_CONFIG only', () => {
    fc.assert(
      fc.property(hostileValue(), hostileValue(), (ipPrivacy, ipHashKey) => {
        try {
          createIpProtector({ ipPrivacy, ipHashKey } as Parameters<typeof createIpProtector>[0]);
        } catch (error) {
          expectDocumented(error, ['INVALID_CONFIG'], `createIpProtector(${fc.stringify({ ipPrivacy, ipHashKey })})`);
        }
      }),
      fuzzParams('createIpProtector options', RUNS.ipProtectorOptions),
    );
  });
});

describe('createSessionManager options', () => {
  const optionValue = fc.oneof(hostileValue(), fc.constantFrom<unknown>('30m', '1s', '1m', 0, 1, 10, 1000, 'evict-oldest', 'reject', 'raw', 'hash', false));
  const optionName = fc.constantFrom(
    'idleTimeout', 'absoluteTimeout', 'touchInterval', 'maxSessionsPerUser', 'onLimit', 'maxMetadataBytes', 'clock', 'onListenerError', 'activity', 'ipPrivacy', 'ipHashKey', 'alerts', '__proto__', 'constructor',
  );
  const nested = fc.oneof(
    hostileObject(),
    fc.record({ batchSize: optionValue, flushInterval: optionValue, maxQueue: optionValue, categories: optionValue, concurrency: optionValue, retryDelay: optionValue }, { requiredKeys: [] }),
    fc.record({ rules: fc.oneof(hostileObject(), fc.dictionary(fc.constantFrom('newDevice', 'sessionHijack', 'tokenBruteForce', 'x'), fc.oneof(optionValue, hostileObject()), { maxKeys: 3 })), custom: optionValue, maxPending: optionValue, onAlert: optionValue }, { requiredKeys: [] }),
  );

  it(
    'either builds a manager or throws INVALID_CONFIG, whatever the options',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.dictionary(optionName, fc.oneof(optionValue, nested), { maxKeys: 4 }), async (options) => {
          let manager: SessionManager;
          try {
            manager = createSessionManager({ store: memoryStore(), ...options } as Parameters<typeof createSessionManager>[0]);
          } catch (error) {
            expectDocumented(error, ['INVALID_CONFIG'], `createSessionManager(${fc.stringify(options)})`);
            return;
          }
          await manager.close();
        }),
        fuzzParams('createSessionManager options', RUNS.managerOptions),
      );
      assertNoPrototypePollution();
    },
    fuzzTimeout(RUNS.managerOptions, 1),
  );
});

describe('HTTP core', () => {
  const clock = manualClock('2030-01-01T00:00:00Z');
  const manager = createSessionManager({ store: memoryStore(), clock: clock.now });
  afterAll(() => manager.close());

  it(
    'createSessionHttp either builds the core or throws INVALID_CONFIG',
    () => {
      const optionName = fc.constantFrom('cookie', 'bearer', 'trustProxy', 'proxyHeader', 'track', 'allowedOrigins', 'csrf');
      const cookie = fc.record({ name: fc.oneof(hostileValue(), fc.constantFrom('sid', '__Host-sid', '__Secure-sid')), secure: hostileValue(), sameSite: fc.oneof(hostileValue(), fc.constantFrom('lax', 'none')), path: hostileValue(), domain: hostileValue(), persistent: hostileValue() }, { requiredKeys: [] });
      fc.assert(
        fc.property(fc.dictionary(optionName, fc.oneof(hostileValue(), cookie, fc.array(hostileString(), { maxLength: 3 })), { maxKeys: 4 }), (options) => {
          try {
            createSessionHttp(manager, options as Parameters<typeof createSessionHttp>[1]);
          } catch (error) {
            expectDocumented(error, ['INVALID_CONFIG'], `createSessionHttp(${fc.stringify(options)})`);
          }
        }),
        fuzzParams('createSessionHttp options', RUNS.httpOptions),
      );
    },
    fuzzTimeout(RUNS.httpOptions, 0.5),
  );

  it(
    'authenticate() never throws for a hostile request except FORBIDDEN_ORIGIN for a cross-site one that authenticated; a victim it was not given is never authenticated',
    async () => {
      const http = createSessionHttp(manager, { cookie: { name: 'sid' }, trustProxy: 'loopback' });
      const hostHttp = createSessionHttp(manager, { cookie: { name: '__Host-sid' }, proxyHeader: 'forwarded', trustProxy: true });
      const { token: mine } = await manager.create({ userId: 'mallory' });
      const { session: victim, token: victimToken } = await manager.create({ userId: 'victim' });
      // The victim's token, changed in one position: near-valid, never equal.
      const victimVariants = victimToken.split('').flatMap((c, i) => (i < 4 ? [] : [victimToken.slice(0, i) + (c === 'A' ? 'B' : 'A') + victimToken.slice(i + 1)]));
      const tokenLike = fc.oneof(nearToken(), fc.nat().map((i) => pick(victimVariants, i)), fc.constant(mine), hostileString({ maxLength: 50, maxHuge: 9000 }));
      const cookiePair = fc.tuple(fc.constantFrom('sid', '__Host-sid', 'SID', 'sid ', ' sid', '__host-sid', 'sid2', '__proto__', ''), tokenLike, fc.constantFrom('=', ' = ', '="', '=%22')).map(([name, value, eq]) => `${name}${eq}${value}${eq.endsWith('"') ? '"' : ''}`);
      const cookieHeader = fc.oneof(
        fc.array(cookiePair, { maxLength: 6 }).map((pairs) => pairs.join('; ')),
        fc.array(cookiePair, { minLength: 100, maxLength: 300 }).map((pairs) => pairs.join(';')),
        hostileString({ maxHuge: 12_000 }),
        fc.array(fc.string({ maxLength: 40 }), { maxLength: 3 }),
      );
      const authorization = fc.oneof(
        tokenLike.map((t) => `Bearer ${t}`),
        fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Token', 'Bearer\t', 'Bearer  ', 'Bearer,', ''), tokenLike, fc.constantFrom('', ' ', '\t', ',', ', Bearer x', ' x')).map(([s, t, tail]) => `${s} ${t}${tail}`),
        hostileString({ maxHuge: 3000 }),
        fc.array(fc.constant(`Bearer ${mine}`), { minLength: 2, maxLength: 2 }),
      );
      const headers = fc.record(
        {
          cookie: cookieHeader,
          authorization,
          'user-agent': fc.oneof(userAgent(), fc.array(userAgent(), { maxLength: 2 })),
          'x-forwarded-for': forwardedForHeader(),
          forwarded: forwardedHeader(),
          origin: fc.oneof(fc.constantFrom('https://evil.example', 'null', 'http://127.0.0.1', 'https://app.example', ''), hostileString()),
          'sec-fetch-site': fc.oneof(fc.constantFrom('same-origin', 'cross-site', 'none', 'same-site'), hostileString()),
          host: fc.oneof(fc.constant('127.0.0.1'), hostileString()),
        },
        { requiredKeys: [] },
      );
      const request = fc.record({
        method: fc.oneof(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'post'), hostileString({ maxLength: 10, maxHuge: 300 })),
        path: fc.oneof(fc.constant('/'), hostileString()),
        headers: fc.oneof(headers, fc.tuple(headers, clientHintHeaders()).map(([h, ch]) => ({ ...h, ...ch }))),
        remoteAddress: fc.oneof(fc.constantFrom('127.0.0.1', '::1', '::ffff:127.0.0.1', undefined, null), chainEntry()),
      });
      const before = canonical(await manager.list('victim', { includeInactive: true }));

      await fc.assert(
        fc.asyncProperty(request, fc.boolean(), async (req, hostCookie) => {
          const core = hostCookie ? hostHttp : http;
          let auth;
          try {
            auth = await core.authenticate(req as HttpRequest);
          } catch (error) {
            if (error instanceof HttpError && error.status === 403 && error.code === 'FORBIDDEN_ORIGIN') return;
            throw error;
          }
          if (auth.session !== null) {
            expect(auth.session.userId).toBe('mallory');
            expect(auth.token).toBe(mine);
          }
          if (auth.ip !== null) expect(normalizeIp(auth.ip)).toBe(auth.ip);
        }),
        fuzzParams('authenticate', RUNS.authenticate),
      );
      expect(canonical(await manager.list('victim', { includeInactive: true }))).toBe(before);
      expect((await manager.get(victim.id))?.status).toBe('active');
    },
    fuzzTimeout(RUNS.authenticate, 1),
  );

  it(
    'errorResponse() never throws and answers JSON { error: { code, message } }; SessionErrors of callers never become 500',
    () => {
      const codes = ['INVALID_ARGUMENT', 'INVALID_METADATA', 'INVALID_TOKEN', 'SESSION_NOT_FOUND', 'SESSION_INACTIVE', 'SESSION_LIMIT', 'ALERT_NOT_FOUND', 'STORE_UNAVAILABLE', 'STORE_NOT_MIGRATED', 'CLOSED', 'NOT_SUPPORTED'] as const;
      const thrown = fc.oneof(
        hostileValue(),
        fc.tuple(fc.constantFrom(...codes), hostileString()).map(([code, message]) => new SessionError(code, message)),
        fc.record({ status: edgeNumber(), statusCode: edgeNumber(), expose: fc.boolean(), code: fc.oneof(hostileString(), fc.constant('FST_ERR_CTP_INVALID_JSON')) }, { requiredKeys: [] }),
      );
      fc.assert(
        fc.property(thrown, (error) => {
          const known = knownErrorResponse(error);
          const response = errorResponse(error);
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(600);
          const body = response.body as { error: { code: unknown; message: unknown } };
          expect(typeof body.error.code).toBe('string');
          expect(typeof body.error.message).toBe('string');
          if (known === null) expect(response.status).toBe(500);
          if (error instanceof SessionError) expect(response.status).toBeLessThan(500 + (['STORE_UNAVAILABLE', 'STORE_NOT_MIGRATED', 'CLOSED'].includes(error.code) ? 4 : error.code === 'NOT_SUPPORTED' ? 2 : 0));
          if (response.status >= 500) expect(JSON.stringify(body)).not.toMatch(/ at |\.ts:|\.js:|node_modules/);
        }),
        fuzzParams('errorResponse', RUNS.errorResponse),
      );
    },
    fuzzTimeout(RUNS.errorResponse, 0.3),
  );
});
