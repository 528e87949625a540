import fc from 'fast-check';
import { ERROR_CODES, SessionError, type SessionErrorCode } from '../../src/index.js';
import { LabError } from '../../src/labs/index.js';

/**
 * Shared pieces of the hostile-input suites (test/fuzz): run budgets, seeds, arbitraries biased
 * toward the edges where parsers break, and the "documented SessionError or nothing" check.
 *
 * Every property runs with a fixed seed derived from its name, so CI is reproducible. Environment:
 * - `FUZZ_SEED=<n>`: run every property with this seed instead (fast-check prints the seed and the
 *   path of a failure; pass the seed back here to replay it).
 * - `FUZZ_RUNS=<factor>`: multiply every property's number of runs (e.g. `10` for a long local run).
 */
export function fuzzParams(name: string, runs: number): { seed: number; numRuns: number } {
  const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : fnv1a(name);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer; got ${process.env.FUZZ_SEED}`);
  return { seed, numRuns: scaledRuns(runs) };
}

/** `runs` scaled by `FUZZ_RUNS` (at least 1). */
export function scaledRuns(runs: number): number {
  const factor = process.env.FUZZ_RUNS === undefined ? 1 : Number(process.env.FUZZ_RUNS);
  if (!(factor > 0)) throw new Error(`FUZZ_RUNS must be a positive number; got ${process.env.FUZZ_RUNS}`);
  return Math.max(1, Math.round(runs * factor));
}

/** A timeout for a test running `runs` cases at about `perCaseMs` each, with room for a loaded machine. */
export function fuzzTimeout(runs: number, perCaseMs: number): number {
  return Math.max(30_000, Math.ceil(scaledRuns(runs) * perCaseMs * 4));
}

/**
 * Rethrows anything but a `SessionError` whose code is one of `allowed` (all of them must be codes
 * of ERROR_CODES). A TypeError, a RangeError or a driver's own error is a bug at the boundary.
 */
export function expectDocumented(error: unknown, allowed: readonly SessionErrorCode[], what: string): SessionError {
  if (!(error instanceof SessionError)) {
    throw new Error(`${what} threw ${describeError(error)}; only a SessionError (${allowed.join(', ')}) is documented`, { cause: error });
  }
  if (!Object.values(ERROR_CODES).includes(error.code) || !allowed.includes(error.code)) {
    throw new Error(`${what} threw SessionError ${error.code} (${error.message}); documented: ${allowed.join(', ')}`, { cause: error });
  }
  return error;
}

/** Like {@link expectDocumented} for calls that may also throw a `LabError` with one of `labCodes`. */
export function expectDocumentedOrLab(error: unknown, allowed: readonly SessionErrorCode[], labCodes: readonly string[], what: string): void {
  if (error instanceof LabError) {
    if (!labCodes.includes(error.code)) throw new Error(`${what} threw LabError ${error.code} (${error.message}); documented: ${labCodes.join(', ')}`);
    return;
  }
  expectDocumented(error, allowed, what);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`;
  return `a non-Error ${typeof error}: ${String(error)}`;
}

/** Stable JSON of a value (object keys sorted), for "nothing changed" comparisons of snapshots. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return typeof v === 'number' && Object.is(v, -0) ? '-0' : v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  });
}

/** Throws when something wrote onto Object.prototype (a prototype-pollution bug). */
export function assertNoPrototypePollution(): void {
  const probe: Record<string, unknown> = {};
  for (const key of ['polluted', 'isAdmin', 'by', 'userId', 'x', 'a']) {
    if (key in probe) throw new Error(`Object.prototype.${key} was set: prototype pollution`);
  }
  if (Object.keys(Object.prototype).length > 0) throw new Error(`Object.prototype has enumerable keys ${Object.keys(Object.prototype).join(', ')}`);
}

// --- arbitraries ---

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

/** Characters that break naive parsers: NUL and other controls, separators, quotes, lone surrogates, BOM, RTL override. */
export const EDGE_CHARS = ['\0', '\t', '\n', '\r', '\x1b', '\x7f', ' ', '"', "'", '\\', ';', ',', '=', ':', '%', '/', '?', '#', '&', '<', '>', '{', '}', '[', ']', '\ud800', '\udfff', '\ufeff', '\u202e', '\u00e9', '\u0130', '\uffff', '😀'];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const edgeChar = fc.constantFrom(...EDGE_CHARS);
const tokenChar = fc.constantFrom(...TOKEN_ALPHABET);

/** Strings of characters from the token alphabet, of exactly `length`. */
export function tokenBody(length: number): fc.Arbitrary<string> {
  return fc.string({ unit: tokenChar, minLength: length, maxLength: length });
}

/** A string that is (or is nearly) `skt_` + 32 token characters: lengths 31 to 33, one bad character, wrong prefix, padding. */
export function nearToken(): fc.Arbitrary<string> {
  return fc.oneof(
    tokenBody(32).map((b) => `skt_${b}`), // well-formed, unknown
    tokenBody(31).map((b) => `skt_${b}`),
    tokenBody(33).map((b) => `skt_${b}`),
    fc.tuple(tokenBody(32), fc.nat({ max: 31 }), edgeChar).map(([b, i, c]) => `skt_${b.slice(0, i)}${c}${b.slice(i + 1)}`),
    fc.tuple(fc.constantFrom('SKT_', 'skt-', 'skt', 'sk_', 'skt_skt_', ' skt_', 'skt_ '), tokenBody(32)).map(([p, b]) => p + b),
    fc.tuple(tokenBody(32), fc.constantFrom(' ', '\t', '\n', '=', '==', '%20', '\0', ';')).map(([b, pad]) => `skt_${b}${pad}`),
    tokenBody(32).map((b) => encodeURIComponent(`skt_${b}`).replace(/_/g, '%5F')),
    fc.nat({ max: 2000 }).map((n) => `skt_${'A'.repeat(n)}`),
  );
}

/**
 * Strings biased to the edges: empty, NUL, controls, lone surrogates, unicode, huge, numeric-looking,
 * prototype keys, near-valid tokens and ids. `maxHuge` bounds the length of the huge ones.
 */
export function hostileString(options: { maxLength?: number; maxHuge?: number } = {}): fc.Arbitrary<string> {
  const maxLength = options.maxLength ?? 40;
  const maxHuge = options.maxHuge ?? 70_000;
  const minHuge = Math.min(256, maxHuge);
  return fc.oneof(
    { arbitrary: fc.string({ unit: 'binary-ascii', maxLength }), weight: 3 },
    { arbitrary: fc.string({ unit: 'grapheme', maxLength }), weight: 2 },
    { arbitrary: fc.string({ unit: fc.oneof(edgeChar, loneSurrogate, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength }), weight: 3 },
    {
      arbitrary: fc.constantFrom(
        '', ' ', '\0', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '\ud800', '\udc00', '\ud83d',
        'null', 'undefined', 'NaN', 'Infinity', '-0', '1e309', '0x10', '%00', '%zz', '%E0%A4%A', '\r\n', '..', '../../etc/passwd',
        '<script>alert(1)</script>', "'; drop table sessions; --", '${jndi:ldap://x}', '\u202egnp.exe', 'a'.repeat(255), 'a'.repeat(256),
      ),
      weight: 3,
    },
    { arbitrary: nearToken(), weight: 2 },
    { arbitrary: fc.tuple(fc.constantFrom('ses_', 'alr_', 'act_', 'lab_'), fc.string({ unit: tokenChar, maxLength: 30 })).map(([p, s]) => p + s), weight: 2 },
    { arbitrary: fc.tuple(fc.integer({ min: minHuge, max: maxHuge }), edgeChar).map(([n, c]) => c.repeat(n)), weight: 1 },
    { arbitrary: fc.integer({ min: minHuge, max: maxHuge }).map((n) => 'x'.repeat(n)), weight: 1 },
  );
}

/** Numbers at the edges: -0, NaN, ±Infinity, 1e309 (Infinity), unsafe and fractional integers, huge exponents. */
export function edgeNumber(): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constantFrom(0, -0, 1, -1, 0.5, -0.5, 1e-7, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.MIN_SAFE_INTEGER, Number.MAX_VALUE, Number.MIN_VALUE, 1e15, 8.64e15, 8.64e15 + 1, 2 ** 53, 2 ** 63, 1e300, -1e300, 4294967296, 2147483648),
    fc.integer(),
    fc.double(),
  );
}

/** A key for hostile objects: prototype keys weighted up. */
export function hostileKey(): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'by', 'userId', 'template', 'polluted', 'isAdmin', ''), weight: 2 },
    { arbitrary: hostileString({ maxLength: 12, maxHuge: 2000 }), weight: 3 },
  );
}

/**
 * JSON text of a hostile document: the values JSON can carry at their edges, objects whose keys
 * are `__proto__` and `constructor` (which JSON.parse makes own properties), deep nesting, and
 * numbers such as `1e309`, `-0` and `1e-400` written as text.
 */
export function hostileJsonText(options: { deep?: boolean } = {}): fc.Arbitrary<string> {
  const { tree } = fc.letrec<{ tree: string; leaf: string }>((tie) => ({
    leaf: fc.oneof(
      hostileString({ maxLength: 20, maxHuge: 3000 }).map((s) => JSON.stringify(s)),
      fc.constantFrom('1e309', '-1e309', '-0', '1e-400', '0.1e1', '123456789012345678901234567890', '9007199254740993', '-1', '0', '1', 'true', 'false', 'null', '"30m"', '"1h"', '"0ms"', '"999999999d"', '"7d"', '" 30m "', '3600000', '1800000.5'),
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
    ),
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      tie('leaf'),
      fc.array(tie('tree'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
      fc.array(fc.tuple(hostileKey(), tie('tree')), { maxLength: 4 }).map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
    ),
  }));
  return fc.oneof(
    { arbitrary: tree, weight: 6 },
    { arbitrary: fc.tuple(fc.constantFrom('by', 'template', 'userId'), tree).map(([k, v]) => `{"${k}":${v}}`), weight: 6 },
    { arbitrary: fc.tuple(fc.integer({ min: 1, max: options.deep === false ? 40 : 5000 }), fc.constantFrom('[', '{"a":')).map(([n, open]) => deepJson(n, open)), weight: 1 },
    { arbitrary: fc.constantFrom('{"__proto__":{"polluted":true,"isAdmin":true},"by":"30m"}', '{"constructor":{"prototype":{"polluted":1}},"userId":"mallory"}', '{"by":"30m","by":"1ms"}', '{"userId":"mallory","userId":["x"]}'), weight: 2 },
  );
}

/** Text that is not JSON, or is JSON only to a lenient parser: truncated, BOM, comments, single quotes, NaN, trailing commas. */
export function brokenJsonText(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('', ' ', '{', '}', '{"by":', '{"by":"30m"', '\ufeff{"by":"30m"}', "{'by':'30m'}", '{"by":NaN}', '{"by":Infinity}', '[1,2,]', '{"by":"30m",}', '/* */{}', 'by=30m', 'null', 'undefined', '\0', '{"\0":1}', '"\ud800"', '{"by":"\\ud800"}', '{"by":"\\u0000"}'),
    hostileString({ maxLength: 60, maxHuge: 20_000 }),
    hostileJsonText().chain((text) => fc.nat({ max: Math.max(0, text.length - 1) }).map((cut) => text.slice(0, cut))),
  );
}

/**
 * JavaScript values a careless caller passes where an id, a duration or an options object goes:
 * hostile strings, edge numbers, and everything else typeof can say, including values JSON cannot carry.
 */
export function hostileValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: hostileString(), weight: 5 },
    { arbitrary: edgeNumber(), weight: 3 },
    {
      arbitrary: fc.constantFrom<unknown>(
        undefined, null, true, false, 0n, 10n ** 30n, Symbol('s'), () => 'fn', [], [1], {}, Object.create(null), new Date(Number.NaN), new Date(0),
        new Date(8.64e15), new Map([['a', 1]]), new Set([1]), /x/g, new Error('e'), new (class Thing {})(), Promise.resolve(1), new Uint8Array(2),
        new String('30m'), new Number(5), Object.freeze({}),
      ),
      weight: 3,
    },
    { arbitrary: hostileObject(), weight: 2 },
  );
}

/**
 * Objects built the way attackers build them: `__proto__` and `constructor` as own keys (as
 * JSON.parse makes them), null prototypes, deep nesting, cycles, and values JSON cannot carry.
 */
export function hostileObject(): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    { arbitrary: hostileJsonText({ deep: false }).map(parseOrEmpty), weight: 4 },
    { arbitrary: fc.dictionary(hostileKey(), jsValue(), { maxKeys: 5 }), weight: 3 },
    { arbitrary: fc.integer({ min: 1, max: 60 }).map((n) => JSON.parse(deepJson(n, '{"a":')) as Record<string, unknown>), weight: 1 },
    {
      arbitrary: fc.constantFrom<() => Record<string, unknown>>(
        () => {
          const cyclic: Record<string, unknown> = { a: 1 };
          cyclic.self = cyclic;
          return cyclic;
        },
        () => ({ a: undefined }),
        () => ({ a: Number.NaN }),
        () => ({ a: 1n }),
        () => ({ a: new Date(0) }),
        () => ({ a: () => 1 }),
        () => ({ a: Symbol('x') }),
        () => ({ [Symbol('k')]: 1 }),
        () => Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 }),
        () => Object.create({ inherited: 1 }) as Record<string, unknown>,
        () => ({ a: 'x'.repeat(40_000) }),
        () => ({ a: '\0', b: '\ud800', c: '\udfff\ud800' }),
      ).map((make) => make()),
      weight: 2,
    },
  );
}

/** A JSON-ish JavaScript value, sometimes with what JSON cannot carry. */
function jsValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: hostileString({ maxLength: 20, maxHuge: 3000 }), weight: 4 },
    { arbitrary: edgeNumber(), weight: 2 },
    { arbitrary: fc.constantFrom<unknown>(true, false, null, undefined, 1n, Symbol('v')), weight: 1 },
    { arbitrary: hostileJsonText({ deep: false }).map(parseOrEmpty), weight: 2 },
  );
}

function parseOrEmpty(text: string): Record<string, unknown> {
  const value = JSON.parse(text) as unknown;
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
}

/** `open` repeated `depth` times, closed: `[[[1]]]` or `{"a":{"a":1}}`. */
export function deepJson(depth: number, open: string): string {
  const close = open === '[' ? ']' : '}';
  return `${open.repeat(depth)}1${close.repeat(depth)}`;
}

/** Picks an element of a list known only when the property runs (fixture ids, tokens, ...). */
export function pick<T>(items: readonly T[], index: number): T {
  return items[index % items.length]!;
}

// --- internal ---

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** One hop of a forwarding chain as proxies and attackers write it: addresses with ports, brackets and zones, legacy IPv4 forms, `unknown`, obfuscated ids, garbage. */
export function chainEntry(): fc.Arbitrary<string> {
  const v6 = fc.ipV6();
  return fc.oneof(
    { arbitrary: fc.ipV4(), weight: 4 },
    { arbitrary: v6, weight: 3 },
    { arbitrary: fc.tuple(fc.ipV4(), fc.oneof(fc.integer({ min: 0, max: 99999 }).map(String), fc.constant('_p1'), fc.constant(''))).map(([ip, port]) => `${ip}:${port}`), weight: 2 },
    { arbitrary: fc.tuple(v6, fc.option(fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constant('_hidden')))).map(([ip, port]) => (port === null ? `[${ip}]` : `[${ip}]:${port}`)), weight: 2 },
    { arbitrary: fc.ipV4Extended(), weight: 1 },
    {
      arbitrary: fc.constantFrom('unknown', '_hidden', '_SEVKISEK', '::ffff:203.0.113.7', 'fe80::1%eth0', 'fe80::1%', 'fe80::1%25eth0', '127.1', '0x7f.0.0.1', '010.0.0.1', '256.1.1.1', '1.2.3.4.5', '::', '::1', '[::1', '::1]', '[]', '[1.2.3.4]', '1.2.3.4:', '1.2.3.4:65536', ':::', '2001:db8::1::2', '  ', ''),
      weight: 2,
    },
    { arbitrary: hostileString({ maxLength: 30, maxHuge: 12_000 }), weight: 2 },
  );
}

/** An X-Forwarded-For value: up to 100 hops (past the 32 examined), odd separators and spacing, sometimes over 8 KB. */
export function forwardedForHeader(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(fc.array(chainEntry(), { maxLength: 8 }), fc.constantFrom(', ', ',', ' , ', ',,', '\t,')).map(([hops, sep]) => hops.join(sep)),
    fc.tuple(fc.array(fc.ipV4(), { minLength: 30, maxLength: 100 }), chainEntry()).map(([hops, first]) => [first, ...hops].join(', ')),
    fc.tuple(chainEntry(), fc.integer({ min: 8000, max: 12_000 })).map(([first, n]) => `${first}, ${'9.9.9.9, '.repeat(Math.ceil(n / 9))}10.0.0.1`),
  );
}

/** A `Forwarded` (RFC 7239) value: quoted and unquoted `for`, other parameters, duplicates, broken quoting. */
export function forwardedHeader(): fc.Arbitrary<string> {
  const value = fc.oneof(
    chainEntry(),
    chainEntry().map((v) => `"${v}"`),
    chainEntry().map((v) => `"${v}`),
    chainEntry().map((v) => `"${v.replace(/"/g, '\\"')}\\"`),
  );
  const element = fc.oneof(
    value.map((v) => `for=${v}`),
    fc.tuple(value, fc.constantFrom('by=10.0.0.1;', 'proto=https;', 'host=x;', ';', 'for=1.2.3.4;', 'FOR=1.2.3.4;', 'bad;', '=x;', 'a b=c;')).map(([v, p]) => `${p}for=${v}`),
    fc.tuple(value, fc.constantFrom(';proto=https', ';by=_hidden', ';for=9.9.9.9', ';', ';x="unterminated')).map(([v, s]) => `for=${v}${s}`),
    hostileString({ maxLength: 30, maxHuge: 9000 }),
  );
  return fc.oneof(
    fc.array(element, { maxLength: 6 }).map((els) => els.join(', ')),
    fc.array(fc.ipV4(), { minLength: 30, maxLength: 80 }).map((ips) => ips.map((ip) => `for=${ip}`).join(',')),
  );
}

/** User agents: real ones, real ones cut or padded, control characters, unicode, huge. */
export function userAgent(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...REAL_USER_AGENTS),
    fc.tuple(fc.constantFrom(...REAL_USER_AGENTS), fc.nat({ max: 200 })).map(([ua, cut]) => ua.slice(0, cut)),
    fc.tuple(fc.constantFrom(...REAL_USER_AGENTS), hostileString({ maxLength: 20, maxHuge: 5000 })).map(([ua, s]) => ua + s),
    fc.tuple(fc.constantFrom(...REAL_USER_AGENTS), fc.integer({ min: 500, max: 525 }), fc.constantFrom('😀', '\ud83d', 'é', 'x')).map(([ua, n, c]) => ua.padEnd(n, ' ') + c.repeat(3)),
    hostileString({ maxLength: 60, maxHuge: 20_000 }),
  );
}

/** Sec-CH-UA* headers as browsers send them, with broken lists, huge brand lists and garbage. */
export function clientHintHeaders(): fc.Arbitrary<Record<string, string>> {
  const brandList = fc.oneof(
    fc.constantFrom('"Chromium";v="131", "Google Chrome";v="131", "Not_A Brand";v="24"', '"Microsoft Edge";v="130", "Chromium";v="130"', '"Brave";v="1"', '"";v=""', '"a";v=', '"unterminated', ',,,', '"x";v="1";v="2"'),
    fc.array(fc.tuple(hostileString({ maxLength: 12, maxHuge: 600 }), fc.string({ maxLength: 8 })), { maxLength: 40 }).map((brands) => brands.map(([b, v]) => `"${b}";v="${v}"`).join(', ')),
    hostileString({ maxLength: 40, maxHuge: 5000 }),
  );
  const quoted = fc.oneof(fc.constantFrom('"Windows"', '"macOS"', '"Android"', '"iOS"', '"Linux"', '"Chrome OS"', '""', '"', 'Windows', '"15.0.0"', '"SM-S918B"', '"x86"', '"64"'), hostileString({ maxLength: 30, maxHuge: 2000 }));
  return fc.record(
    {
      'sec-ch-ua': brandList,
      'sec-ch-ua-full-version-list': brandList,
      'sec-ch-ua-platform': quoted,
      'sec-ch-ua-platform-version': quoted,
      'sec-ch-ua-mobile': fc.constantFrom('?0', '?1', '?2', '1', '', 'true'),
      'sec-ch-ua-model': quoted,
      'sec-ch-ua-arch': quoted,
      'sec-ch-ua-bitness': quoted,
      'sec-ch-ua-form-factors': quoted,
    },
    { requiredKeys: [] },
  );
}

export const REAL_USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'curl/8.4.0',
  'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/538.1 (KHTML, like Gecko) Version/6.0 TV Safari/538.1',
  'Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko)',
];
