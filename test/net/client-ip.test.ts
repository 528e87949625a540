import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { SessionError } from '../../src/errors.js';
import {
  clientIp,
  createClientIpResolver,
  createPeerTrust,
  type ClientIpOptions,
  type ClientIpRequest,
  type TrustProxy,
} from '../../src/net/index.js';

// Addresses: clients from RFC 5737 (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and RFC 3849
// (2001:db8::/32); proxies in private ranges. CLIENT is the real client, SPOOF what it claims.
const CLIENT = '203.0.113.7';
const SPOOF = '192.0.2.66';
const PROXY_1 = '10.0.0.1'; // closest to the app
const PROXY_2 = '10.0.0.2';

function xff(value: string | string[], remoteAddress: string | undefined = PROXY_1): ClientIpRequest {
  return { remoteAddress, headers: { 'x-forwarded-for': value } };
}
function fwd(value: string | string[], remoteAddress: string | undefined = PROXY_1): ClientIpRequest {
  return { remoteAddress, headers: { forwarded: value } };
}
function resolve(trustProxy: TrustProxy, request: ClientIpRequest, options: ClientIpOptions = {}) {
  return createClientIpResolver({ ...options, trustProxy })(request);
}
function configError(options: ClientIpOptions): SessionError {
  try {
    createClientIpResolver(options);
  } catch (err) {
    if (err instanceof SessionError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('trustProxy: false (default)', () => {
  const resolveIp = createClientIpResolver();

  it('is the socket peer', () => {
    expect(resolveIp({ remoteAddress: CLIENT })).toBe(CLIENT);
    expect(resolveIp({ remoteAddress: '2001:DB8::1' })).toBe('2001:db8::1');
  });

  it('unwraps the IPv4-mapped form a dual-stack socket reports', () => {
    expect(resolveIp({ remoteAddress: `::ffff:${CLIENT}` })).toBe(CLIENT);
  });

  it('ignores forwarding headers that any client can send', () => {
    const headers = { 'x-forwarded-for': SPOOF, forwarded: `for=${SPOOF}`, 'x-real-ip': SPOOF };
    expect(resolveIp({ remoteAddress: CLIENT, headers })).toBe(CLIENT);
    expect(clientIp({ remoteAddress: CLIENT, headers }, { trustProxy: false })).toBe(CLIENT);
    expect(resolve(0, { remoteAddress: CLIENT, headers })).toBe(CLIENT);
    expect(resolve([], { remoteAddress: CLIENT, headers })).toBe(CLIENT);
  });

  it('is null when the peer is unknown or not an address', () => {
    expect(resolveIp({})).toBeNull();
    expect(resolveIp({ remoteAddress: null, headers: { 'x-forwarded-for': SPOOF } })).toBeNull();
    expect(resolveIp({ remoteAddress: 'garbage' })).toBeNull();
  });
});

describe('trustProxy: true', () => {
  it('is the left-most valid address of the chain', () => {
    expect(resolve(true, xff(`${CLIENT}, ${PROXY_2}`))).toBe(CLIENT);
    expect(resolve(true, xff(`garbage, unknown, ${CLIENT}, ${PROXY_2}`))).toBe(CLIENT);
  });

  it('falls back to the socket peer without a usable header', () => {
    expect(resolve(true, { remoteAddress: PROXY_1 })).toBe(PROXY_1);
    expect(resolve(true, xff('garbage, nonsense'))).toBe(PROXY_1);
    expect(resolve(true, { remoteAddress: undefined, headers: { 'x-forwarded-for': CLIENT } })).toBe(CLIENT);
    expect(resolve(true, { remoteAddress: undefined, headers: {} })).toBeNull();
  });

  it('believes whatever the client sent, which is why it is only for apps reachable solely through proxies', () => {
    expect(resolve(true, xff(`${SPOOF}, ${CLIENT}`))).toBe(SPOOF);
  });
});

describe('trustProxy: a hop count', () => {
  it('trusts exactly N proxies: a spoofed entry left of them is ignored', () => {
    expect(resolve(1, xff(`${SPOOF}, ${CLIENT}`))).toBe(CLIENT);
    expect(resolve(2, xff(`${SPOOF}, ${CLIENT}, ${PROXY_2}`))).toBe(CLIENT);
    expect(resolve(3, xff(`${SPOOF}, ${CLIENT}, ${PROXY_2}`))).toBe(SPOOF); // one hop too many: the client decides
  });

  it('is the left-most entry when the chain is shorter than N', () => {
    expect(resolve(3, xff(CLIENT))).toBe(CLIENT);
    expect(resolve(2, { remoteAddress: CLIENT })).toBe(CLIENT);
  });

  it('is the socket peer when there is no header', () => {
    expect(resolve(1, { remoteAddress: PROXY_1, headers: {} })).toBe(PROXY_1);
    expect(resolve(1, xff('   '))).toBe(PROXY_1);
  });

  it('is null when an entry it would trust or return is not an address', () => {
    expect(resolve(1, xff(`${SPOOF}, garbage`))).toBeNull();
    expect(resolve(2, xff(`${CLIENT}, garbage`))).toBeNull();
    expect(resolve(1, xff(CLIENT, 'not-an-ip'))).toBeNull();
    expect(resolve(1, { headers: { 'x-forwarded-for': CLIENT } })).toBeNull();
  });

  it('does not look at entries beyond the trusted ones', () => {
    expect(resolve(1, xff(`garbage, ${SPOOF}, ${CLIENT}`))).toBe(CLIENT);
  });

  it('accepts 32 hops', () => {
    const chain = [CLIENT, ...Array.from({ length: 31 }, (_, i) => `10.0.1.${i}`)].join(', ');
    expect(resolve(32, xff(chain))).toBe(CLIENT);
  });
});

describe('trustProxy: addresses, ranges and aliases', () => {
  it('walks from the right past trusted proxies and returns the first untrusted address', () => {
    expect(resolve(['10.0.0.0/8'], xff(`${SPOOF}, ${CLIENT}, ${PROXY_2}`))).toBe(CLIENT);
    expect(resolve([PROXY_1, PROXY_2], xff(`${SPOOF}, ${CLIENT}, ${PROXY_2}`))).toBe(CLIENT);
  });

  it('ignores the header when the socket peer is not trusted (a client connecting directly)', () => {
    expect(resolve(['10.0.0.0/8'], xff(SPOOF, CLIENT))).toBe(CLIENT);
    expect(resolve([PROXY_2], xff(SPOOF, PROXY_1))).toBe(PROXY_1);
  });

  it('stops at an untrusted proxy even if trusted ones lie further left', () => {
    expect(resolve(['10.0.0.0/8'], xff(`${PROXY_2}, ${SPOOF}, ${PROXY_2}`))).toBe(SPOOF);
  });

  it('is the left-most address when every hop is trusted (a request from inside the network)', () => {
    expect(resolve(['10.0.0.0/8'], xff(`10.1.2.3, ${PROXY_2}`))).toBe('10.1.2.3');
    expect(resolve(['10.0.0.0/8'], { remoteAddress: PROXY_1 })).toBe(PROXY_1);
  });

  it('is null when the address to return is not one', () => {
    expect(resolve(['10.0.0.0/8'], xff(`${CLIENT}, garbage`))).toBeNull();
    expect(resolve(['10.0.0.0/8'], xff(`${CLIENT}, 203.0.113`))).toBeNull();
    expect(resolve(['10.0.0.0/8'], xff(CLIENT, 'garbage'))).toBeNull();
  });

  it('understands the loopback, linklocal and uniquelocal aliases', () => {
    expect(resolve(['loopback'], xff(CLIENT, '127.0.0.1'))).toBe(CLIENT);
    expect(resolve(['loopback'], xff(CLIENT, '::1'))).toBe(CLIENT);
    expect(resolve(['loopback'], xff(CLIENT, '::ffff:127.0.0.1'))).toBe(CLIENT);
    expect(resolve(['linklocal'], xff(CLIENT, '169.254.10.1'))).toBe(CLIENT);
    expect(resolve(['linklocal'], xff(CLIENT, 'fe80::1%eth0'))).toBe(CLIENT);
    for (const proxy of ['10.9.8.7', '172.16.0.1', '172.31.255.255', '192.168.1.1', 'fd12:3456:789a::1']) {
      expect(resolve(['uniquelocal'], xff(CLIENT, proxy))).toBe(CLIENT);
    }
    expect(resolve(['uniquelocal'], xff(SPOOF, '172.32.0.1'))).toBe('172.32.0.1');
    expect(resolve(['loopback'], xff(SPOOF, PROXY_1))).toBe(PROXY_1);
  });

  it('accepts one comma-separated string, as Express does', () => {
    const trustProxy = 'loopback, 10.0.0.0/8';
    expect(resolve(trustProxy, xff(`${SPOOF}, ${CLIENT}, 127.0.0.1`))).toBe(CLIENT);
  });

  it('matches IPv6 ranges and single IPv6 addresses', () => {
    const proxy = '2001:db8:ffff::10';
    expect(resolve(['2001:db8:ffff::/48'], xff(`${SPOOF}, 2001:db8:1::7`, proxy))).toBe('2001:db8:1::7');
    expect(resolve(['2001:DB8:FFFF::10'], xff(`${SPOOF}, ${CLIENT}`, proxy))).toBe(CLIENT);
    expect(resolve(['2001:db8:ffff::/48'], xff(SPOOF, '2001:db8:fffe::1'))).toBe('2001:db8:fffe::1');
  });

  it('matches IPv4 ranges against IPv4-mapped peers, and IPv4-mapped ranges against IPv4 peers', () => {
    expect(resolve(['10.0.0.0/8'], xff(CLIENT, `::ffff:${PROXY_1}`))).toBe(CLIENT);
    expect(resolve(['::ffff:10.0.0.0/104'], xff(CLIENT, PROXY_1))).toBe(CLIENT);
    expect(resolve(['::ffff:10.0.0.1'], xff(CLIENT, PROXY_1))).toBe(CLIENT);
  });

  it('never matches an IPv4 range against an IPv6 peer or the reverse', () => {
    expect(resolve(['0.0.0.0/0'], xff(SPOOF, '2001:db8::1'))).toBe('2001:db8::1');
    expect(resolve(['::/0'], xff(SPOOF, CLIENT))).toBe(CLIENT);
  });

  it('is null when every examined hop is trusted but entries were cut off', () => {
    const chain = [SPOOF, ...Array.from({ length: 40 }, () => PROXY_2)].join(',');
    expect(resolve(['10.0.0.0/8'], xff(chain))).toBeNull();
  });
});

describe('X-Forwarded-For parsing', () => {
  it.each([
    [`${CLIENT}:5678`, CLIENT],
    [`[2001:db8::7]:443`, '2001:db8::7'],
    ['[2001:db8::7]', '2001:db8::7'],
    ['2001:DB8:0:0:0:0:0:7', '2001:db8::7'],
    [`::ffff:${CLIENT}`, CLIENT],
    [`[::ffff:${CLIENT}]:80`, CLIENT],
    ['fe80::7%eth0', 'fe80::7'],
    [`\t ${CLIENT} \t`, CLIENT],
  ])('reads %j as %s', (entry, expected) => {
    expect(resolve(1, xff(`${SPOOF}, ${entry}`))).toBe(expected);
  });

  it.each([
    '203.0.113',
    '127.1',
    '0x7f.0.0.1',
    '010.0.0.1',
    `${CLIENT}:`,
    `${CLIENT}:port`,
    `${CLIENT}:123456`,
    `[${CLIENT}]:80`,
    '[2001:db8::7',
    '[2001:db8::7]443',
    '[2001:db8::7]:',
    '"203.0.113.7"',
    'unknown',
    '',
  ])('rejects %j', (entry) => {
    expect(resolve(1, xff(`${SPOOF}, ${entry}`))).toBeNull();
  });

  it('joins repeated header lines in order', () => {
    expect(resolve(1, xff([SPOOF, `${PROXY_2}, ${CLIENT}`]))).toBe(CLIENT);
    expect(resolve(2, xff([SPOOF, `${PROXY_2}, ${CLIENT}`]))).toBe(PROXY_2);
    expect(resolve(3, xff([SPOOF, `${PROXY_2}, ${CLIENT}`]))).toBe(SPOOF);
    expect(resolve(['10.0.0.0/8'], xff([SPOOF, CLIENT, PROXY_2]))).toBe(CLIENT);
  });

  it('finds the header whatever the case of its name, and in a Fetch Headers object', () => {
    expect(resolve(1, { remoteAddress: PROXY_1, headers: { 'X-Forwarded-For': CLIENT } })).toBe(CLIENT);
    expect(resolve(1, { remoteAddress: PROXY_1, headers: { 'x-FORWARDED-for': CLIENT } })).toBe(CLIENT);
    const headers = new Headers([['X-Forwarded-For', SPOOF], ['x-forwarded-for', CLIENT]]);
    expect(resolve(1, { remoteAddress: PROXY_1, headers })).toBe(CLIENT);
  });
});

describe('Forwarded (RFC 7239) parsing', () => {
  const forwarded = { proxyHeader: 'forwarded' } as const;

  it('reads for= among other pairs, with RFC 7239 examples', () => {
    expect(resolve(1, fwd('for=192.0.2.60;proto=http;by=203.0.113.43'), forwarded)).toBe('192.0.2.60');
    expect(resolve(1, fwd('For="[2001:db8:cafe::17]:4711"'), forwarded)).toBe('2001:db8:cafe::17');
    expect(resolve(1, fwd('for=192.0.2.43, for=198.51.100.17'), forwarded)).toBe('198.51.100.17');
    expect(resolve(2, fwd('for=192.0.2.43, for=198.51.100.17'), forwarded)).toBe('192.0.2.43');
    expect(resolve(1, fwd('proto=https; FOR=198.51.100.17 ;by=_proxy1'), forwarded)).toBe('198.51.100.17');
  });

  it('accepts quoted IPv4 with a port, unquoted ports, obfuscated ports and quoted-pairs', () => {
    expect(resolve(1, fwd('for="198.51.100.17:8080"'), forwarded)).toBe('198.51.100.17');
    expect(resolve(1, fwd('for=198.51.100.17:8080'), forwarded)).toBe('198.51.100.17');
    expect(resolve(1, fwd('for="[2001:db8::17]:_p1"'), forwarded)).toBe('2001:db8::17');
    expect(resolve(1, fwd('for="198.51.100.1\\7"'), forwarded)).toBe('198.51.100.17');
    expect(resolve(1, fwd('for="[2001:db8::17%eth0]"'), forwarded)).toBe('2001:db8::17');
    expect(resolve(1, fwd(`for="[::ffff:${CLIENT}]"`), forwarded)).toBe(CLIENT);
  });

  it('treats unknown and obfuscated identifiers as "not an address"', () => {
    expect(resolve(1, fwd('for=unknown'), forwarded)).toBeNull();
    expect(resolve(1, fwd('for=_hidden'), forwarded)).toBeNull();
    expect(resolve(1, fwd('for="_gazonk"'), forwarded)).toBeNull();
    expect(resolve(true, fwd(`for=${CLIENT}, for=_hidden`), forwarded)).toBe(CLIENT);
    expect(resolve(['10.0.0.0/8'], fwd(`for=${CLIENT}, for=unknown`), forwarded)).toBeNull();
  });

  it('treats malformed elements as "not an address"', () => {
    for (const element of [
      'proto=https', // no for
      `for=${CLIENT};for=${SPOOF}`, // a parameter twice
      `for="${CLIENT}`, // unterminated quote
      `for="${CLIENT}"x`,
      'for="[2001:db8::17]"4711"',
      `for ${CLIENT}`,
      `f(o)r=${CLIENT}`,
      'for=2001:db8::17]',
      'for=',
      '',
    ]) {
      expect(resolve(1, fwd(`for=${SPOOF}, ${element}`), forwarded), element).toBeNull();
    }
  });

  it('does not let a client element with an unbalanced quote swallow the element a proxy appends', () => {
    expect(resolve(1, fwd(`for="${SPOOF}, for=${CLIENT}`), forwarded)).toBe(CLIENT);
    expect(resolve(1, fwd(`for="x, for="[2001:db8::7]:443"`), forwarded)).toBe('2001:db8::7');
  });

  it('joins repeated header lines in order', () => {
    expect(resolve(1, fwd([`for=${SPOOF}`, `for=${CLIENT}`]), forwarded)).toBe(CLIENT);
    expect(resolve(['10.0.0.0/8'], fwd([`for=${SPOOF}`, `for=${CLIENT};proto=https`, `for=${PROXY_2}`]), forwarded)).toBe(
      CLIENT,
    );
  });
});

describe('which header is read', () => {
  // Both proxies here write X-Forwarded-For and pass Forwarded through as the client sent it.
  const request: ClientIpRequest = {
    remoteAddress: PROXY_1,
    headers: { 'x-forwarded-for': CLIENT, forwarded: `for=${SPOOF}` },
  };

  it('is X-Forwarded-For by default; a Forwarded header the client sent cannot override it', () => {
    expect(resolve(1, request)).toBe(CLIENT);
    expect(resolve(['10.0.0.0/8'], request)).toBe(CLIENT);
    expect(resolve(true, request)).toBe(CLIENT);
  });

  it("is Forwarded alone with proxyHeader: 'forwarded'", () => {
    const spoofedXff: ClientIpRequest = {
      remoteAddress: PROXY_1,
      headers: { 'x-forwarded-for': SPOOF, forwarded: `for=${CLIENT}` },
    };
    expect(resolve(1, spoofedXff, { proxyHeader: 'forwarded' })).toBe(CLIENT);
    expect(resolve(1, { remoteAddress: PROXY_1, headers: { 'x-forwarded-for': SPOOF } }, { proxyHeader: 'forwarded' })).toBe(
      PROXY_1,
    );
  });
});

describe('hostile and malformed input', () => {
  it('reads only the right end of an oversized header', () => {
    const padding = 'x'.repeat(1_000_000);
    expect(resolve(1, xff(`${padding}, ${CLIENT}`))).toBe(CLIENT);
    expect(resolve(['10.0.0.0/8'], xff(`${SPOOF}, ${padding}, ${CLIENT}, ${PROXY_2}`))).toBe(CLIENT);
    expect(resolve(1, fwd(`for="${padding}", for=${CLIENT}`), { proxyHeader: 'forwarded' })).toBe(CLIENT);
    // One entry longer than the window: nothing usable is left of it.
    expect(resolve(1, xff(padding))).toBeNull();
    expect(resolve(1, xff([SPOOF, padding, CLIENT]))).toBe(CLIENT);
  });

  it('examines at most 32 entries, and so is bounded by the header cap for true as well', () => {
    const many = Array.from({ length: 5_000 }, (_, i) => `198.51.100.${i % 250}`);
    const started = performance.now();
    expect(resolve(true, xff([SPOOF, many.join(', ')]))).toBe(many[many.length - 32]);
    expect(resolve(true, xff([SPOOF, ...many]))).toBe(many[many.length - 32]);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('never throws on request input', () => {
    const garbage: unknown[] = [
      undefined,
      null,
      42,
      {},
      [],
      [null, 7, {}],
      '\u0000\u0001',
      ',,,,',
      ';;;=;',
      '"""',
      '[[[]]]',
      '%%%',
      ':::::',
      'for="\\',
      '\\"',
      `${'['.repeat(10_000)}`,
      `${'"'.repeat(10_000)}`,
      `${'for=;'.repeat(10_000)}`,
      `${'1.'.repeat(10_000)}`,
      `${'::'.repeat(10_000)}`,
    ];
    const modes: TrustProxy[] = [false, true, 1, 5, ['loopback', '10.0.0.0/8', '2001:db8::/32']];
    for (const trustProxy of modes) {
      for (const proxyHeader of ['x-forwarded-for', 'forwarded'] as const) {
        const resolveIp = createClientIpResolver({ trustProxy, proxyHeader });
        for (const value of garbage) {
          for (const remoteAddress of [undefined, PROXY_1, value]) {
            const request = {
              remoteAddress,
              headers: { 'x-forwarded-for': value, forwarded: value },
            } as unknown as ClientIpRequest;
            const ip = resolveIp(request);
            expect(ip === null || typeof ip === 'string').toBe(true);
          }
          expect(() => resolveIp({ headers: value } as unknown as ClientIpRequest)).not.toThrow();
        }
        expect(resolveIp(undefined as unknown as ClientIpRequest)).toBeNull();
        expect(resolveIp(null as unknown as ClientIpRequest)).toBeNull();
      }
    }
  });

  it('does not consult inherited properties of a headers object', () => {
    const headers = Object.create({ 'x-forwarded-for': SPOOF }) as Record<string, string>;
    expect(resolve(1, { remoteAddress: PROXY_1, headers })).toBe(PROXY_1);
  });
});

describe('configuration', () => {
  it.each<[string, unknown]>([
    ['a negative hop count', -1],
    ['a fractional hop count', 1.5],
    ['more hops than are examined', 33],
    ['NaN', Number.NaN],
    ['an unknown alias', 'banana'],
    ['a prefix too long for IPv4', '10.0.0.0/33'],
    ['a prefix too long for IPv6', '2001:db8::/129'],
    ['a malformed prefix', '10.0.0.0/8x'],
    ['an empty prefix', '10.0.0.0/'],
    ['a bad address', '300.0.0.0/8'],
    ['shorthand IPv4', '10/8'],
    ['a bracketed address', '[2001:db8::1]'],
    ['a zone id', 'fe80::1%eth0'],
    ['an IPv4-mapped range wider than /96', '::ffff:0:0/95'],
    ['an empty string', ''],
    ['an empty list entry', ['10.0.0.0/8', '']],
    ['a list entry that is not a string', [10]],
    ['an object', { cidr: '10.0.0.0/8' }],
    ['null', null],
  ])('rejects %s with INVALID_CONFIG naming trustProxy', (_, trustProxy) => {
    const err = configError({ trustProxy } as ClientIpOptions);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain('trustProxy');
  });

  it('rejects an unknown proxyHeader with INVALID_CONFIG naming proxyHeader', () => {
    const err = configError({ trustProxy: 1, proxyHeader: 'x-real-ip' } as unknown as ClientIpOptions);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain('proxyHeader');
  });

  it('validates in clientIp too', () => {
    expect(() => clientIp({ remoteAddress: CLIENT }, { trustProxy: 'nope' })).toThrow(SessionError);
  });

  it('accepts aliases in any case and entries with spaces around them', () => {
    expect(resolve(['  LoopBack ', ' 10.0.0.0/8'], xff(CLIENT, '127.0.0.1'))).toBe(CLIENT);
  });

  it('accepts ranges whose host bits are set, matching on the prefix', () => {
    expect(resolve(['10.0.0.1/8'], xff(CLIENT, '10.200.0.1'))).toBe(CLIENT);
  });
});

describe('createPeerTrust(): whether the socket peer may speak for the client', () => {
  it.each([
    [false, PROXY_1, false],
    [undefined, '127.0.0.1', false],
    [0, PROXY_1, false],
    [true, CLIENT, true],
    [2, CLIENT, true],
    ['10.0.0.0/8', PROXY_1, true],
    ['10.0.0.0/8', CLIENT, false],
    [['loopback'], '::ffff:127.0.0.1', true],
    ['loopback', 'not an address', false],
    ['loopback', undefined, false],
  ] as const)('trustProxy %j, peer %s: %s', (trustProxy, peer, trusted) => {
    expect(createPeerTrust(trustProxy as TrustProxy | undefined)(peer)).toBe(trusted);
  });

  it('agrees with the resolver: the forwarding header counts exactly when the peer is trusted', () => {
    for (const trustProxy of ['10.0.0.0/8', '192.168.0.0/16', 1, false] as const) {
      const request = xff(CLIENT, PROXY_1);
      expect(resolve(trustProxy, request) === CLIENT, String(trustProxy)).toBe(createPeerTrust(trustProxy)(PROXY_1));
    }
  });

  it('refuses a bad trustProxy as the resolver does', () => {
    expect(() => createPeerTrust('nope')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('types', () => {
  it("accept Node's request headers and Fetch Headers as they are", () => {
    const resolveIp = createClientIpResolver({ trustProxy: 'loopback' });
    // Compiled, not run: the point is that no cast is needed.
    const fromNode = (req: IncomingMessage) => resolveIp({ remoteAddress: req.socket.remoteAddress, headers: req.headers });
    const fromFetch = (req: Request, remoteAddress: string) => resolveIp({ remoteAddress, headers: req.headers });
    expect(typeof fromNode).toBe('function');
    expect(fromFetch(new Request('http://127.0.0.1/', { headers: { 'x-forwarded-for': CLIENT } }), '127.0.0.1')).toBe(
      CLIENT,
    );
  });
});
