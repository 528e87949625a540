import ipaddr from 'ipaddr.js';
import { invalidConfig, invalidConfigError, SessionError } from '../errors.js';
import { formatIp, parseIp, type ParsedIp } from './ip-address.js';

/**
 * Request headers: a plain object such as Node's `IncomingHttpHeaders` (keys are matched without
 * regard to case; Node already lowercases them), or a Fetch API `Headers` object.
 */
export type HeadersLike =
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | { get(name: string): string | null };

/** The two facts about a request that decide its client address. */
export interface ClientIpRequest {
  /** The peer of the TCP connection: `req.socket.remoteAddress` in Node. */
  remoteAddress?: string | null | undefined;
  /** Only read when `trustProxy` trusts at least one proxy. */
  headers?: HeadersLike | null | undefined;
}

/**
 * Which peers may tell us who the client is.
 *
 * - `false` (default): nobody. The client is `remoteAddress`; forwarding headers are ignored.
 * - `true`: everybody. The client is the left-most valid address of the forwarding chain. Only
 *   correct when the app cannot be reached except through proxies that overwrite the header.
 * - a number N (0–32): the N proxies closest to the app. The client is the address N entries from
 *   the right of `[...forwardedChain, remoteAddress]` (the left-most one when the chain is shorter).
 * - addresses, CIDR ranges and the aliases `'loopback'` (127.0.0.1/8, ::1/128), `'linklocal'`
 *   (169.254.0.0/16, fe80::/10) and `'uniquelocal'` (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16,
 *   fc00::/7), as an array or one comma-separated string: the chain is walked from the right,
 *   skipping trusted proxies, and the first untrusted address is the client.
 */
export type TrustProxy = boolean | number | string | readonly string[];

/** Which header carries the forwarding chain. */
export type ProxyHeader = 'x-forwarded-for' | 'forwarded';

/** Options of {@link createClientIpResolver} and {@link clientIp}. */
export interface ClientIpOptions {
  /** Default `false`: only `remoteAddress` counts. */
  trustProxy?: TrustProxy;
  /**
   * Default `'x-forwarded-for'`. Exactly one header is read and the other is ignored, because a
   * proxy overwrites or appends to the header it writes and passes the other one through untouched,
   * as the client sent it. Set `'forwarded'` (RFC 7239) when your proxies write that one instead.
   */
  proxyHeader?: ProxyHeader;
}

/** Resolves a request's client address; `null` when it cannot be known. Never throws. */
export type ClientIpResolver = (request: ClientIpRequest) => string | null;

/**
 * Compiles `trustProxy` once and returns a function that finds a request's client address, in the
 * canonical form of {@link normalizeIp} (IPv4-mapped IPv6 as IPv4, no zone id, no port).
 *
 * The result is `null`, never a guess, when the address that the trusted proxies vouch for is
 * missing or is not an address: garbage, `unknown` or an obfuscated identifier (`_hidden`) in
 * `Forwarded`. At most the right-most 8 KB of the header and 32 of its entries are examined.
 *
 * @throws SessionError `INVALID_CONFIG` for a bad `trustProxy` (unknown alias, malformed CIDR, hop
 *   count outside 0–32) or `proxyHeader`.
 * @example
 * const resolveIp = createClientIpResolver({ trustProxy: ['loopback', '10.0.0.0/8'] });
 * http.createServer((req, res) => {
 *   const ip = resolveIp({ remoteAddress: req.socket.remoteAddress, headers: req.headers });
 * });
 */
export function createClientIpResolver(options: ClientIpOptions = {}): ClientIpResolver {
  if (options === null || typeof options !== 'object') {
    invalidConfig('client IP options', `must be an object; got ${describe(options)}`);
  }
  const trust = compileTrust(options.trustProxy);
  const header = options.proxyHeader ?? 'x-forwarded-for';
  if (header !== 'x-forwarded-for' && header !== 'forwarded') {
    invalidConfig('proxyHeader', `must be 'x-forwarded-for' or 'forwarded'; got ${describe(options.proxyHeader)}`);
  }

  if (trust.kind === 'none') return (request) => formatOrNull(parseIp(request?.remoteAddress));

  if (trust.kind === 'all') {
    return (request) => {
      const chain = readChain(request?.headers, header);
      for (const entry of chain.entries) {
        const ip = parseNode(entry);
        if (ip !== null) return formatIp(ip);
      }
      return formatOrNull(parseIp(request?.remoteAddress));
    };
  }

  if (trust.kind === 'hops') {
    const { hops } = trust;
    return (request) => {
      const { entries } = readChain(request?.headers, header);
      // Position 0 is the socket peer; each trusted hop vouches for the entry to its left. Every
      // entry on the way must be an address: past an unidentifiable hop, the count means nothing.
      let ip = parseIp(request?.remoteAddress);
      for (let i = 1; ip !== null && i <= hops && i <= entries.length; i++) {
        ip = parseNode(entries[entries.length - i]);
      }
      return formatOrNull(ip);
    };
  }

  const { isTrusted } = trust;
  return (request) => {
    let ip = parseIp(request?.remoteAddress);
    // A peer we do not trust is the client, whatever its headers say; they are not even read.
    if (ip === null || !isTrusted(ip)) return formatOrNull(ip);
    const { entries, truncated } = readChain(request?.headers, header);
    for (let i = entries.length - 1; i >= 0; i--) {
      ip = parseNode(entries[i]);
      if (ip === null || !isTrusted(ip)) return formatOrNull(ip);
    }
    // Every hop is trusted: the left-most is the client (a request from inside your network),
    // unless entries were cut off, when the real client was among them.
    return truncated ? null : formatIp(ip);
  };
}

/**
 * One-shot form of {@link createClientIpResolver}: validates `options` on every call, so build a
 * resolver once for request handling.
 *
 * @example
 * clientIp({ remoteAddress: '10.0.0.2', headers: { 'x-forwarded-for': '203.0.113.7' } }, { trustProxy: 1 })
 * // '203.0.113.7'
 */
export function clientIp(request: ClientIpRequest, options: ClientIpOptions = {}): string | null {
  return createClientIpResolver(options)(request);
}

/**
 * The first step of {@link createClientIpResolver}'s decision on its own: whether `trustProxy`
 * trusts a request's TCP peer as a proxy, so that what it says about the client (the forwarding
 * chain, `X-Forwarded-Proto`) counts. A hop count trusts every peer; a list, the peers in it.
 *
 * @throws SessionError `INVALID_CONFIG` for a bad `trustProxy`, as {@link createClientIpResolver}.
 * @example
 * const trustsPeer = createPeerTrust('loopback');
 * trustsPeer('127.0.0.1'); // true
 * trustsPeer('203.0.113.7'); // false
 */
export function createPeerTrust(trustProxy?: TrustProxy): (remoteAddress: string | null | undefined) => boolean {
  const trust = compileTrust(trustProxy);
  switch (trust.kind) {
    case 'none':
      return () => false;
    case 'all':
    case 'hops':
      return () => true;
    case 'list': {
      const { isTrusted } = trust;
      return (remoteAddress) => {
        const ip = parseIp(remoteAddress);
        return ip !== null && isTrusted(ip);
      };
    }
  }
}

// --- internal ---

const MAX_HEADER_LENGTH = 8192;
const MAX_HOPS = 32;

// The names Express (proxy-addr) uses, so that a value copied from an Express app means the same.
const ALIASES = new Map<string, readonly string[]>([
  ['loopback', ['127.0.0.1/8', '::1/128']],
  ['linklocal', ['169.254.0.0/16', 'fe80::/10']],
  ['uniquelocal', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']],
]);

type Trust =
  | { kind: 'none' }
  | { kind: 'all' }
  | { kind: 'hops'; hops: number }
  | { kind: 'list'; isTrusted: (ip: ParsedIp) => boolean };

function compileTrust(value: unknown): Trust {
  if (value === undefined || value === false || value === 0) return { kind: 'none' };
  if (value === true) return { kind: 'all' };
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value > 0 && value <= MAX_HOPS) return { kind: 'hops', hops: value };
    invalidConfig('trustProxy', `as a hop count must be an integer from 0 to ${MAX_HOPS}; got ${describe(value)}`);
  }
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : null;
  if (items === null) {
    invalidConfig('trustProxy', `must be true, false, a hop count, or a list of addresses, CIDR ranges and 'loopback' | 'linklocal' | 'uniquelocal'; got ${describe(value)}`);
  }
  const v4: Array<[ipaddr.IPv4, number]> = [];
  const v6: Array<[ipaddr.IPv6, number]> = [];
  for (const item of items as readonly unknown[]) {
    const text = typeof item === 'string' ? item.trim() : item;
    const ranges = typeof text === 'string' ? (ALIASES.get(text.toLowerCase()) ?? [text]) : [text];
    for (const range of ranges) {
      const [ip, bits] = parseRange(range);
      if (ip instanceof ipaddr.IPv4) v4.push([ip, bits]);
      else v6.push([ip, bits]);
    }
  }
  if (v4.length === 0 && v6.length === 0) return { kind: 'none' };
  return {
    kind: 'list',
    isTrusted: (ip) => {
      if (ip instanceof ipaddr.IPv4) {
        for (const [range, bits] of v4) if (ip.match(range, bits)) return true;
      } else {
        for (const [range, bits] of v6) if (ip.match(range, bits)) return true;
      }
      return false;
    },
  };
}

function parseRange(value: unknown): [ParsedIp, number] {
  const invalid = () =>
    invalidConfigError('trustProxy entries', `must be IP addresses, CIDR ranges such as '10.0.0.0/8' or '2001:db8::/32', or 'loopback' | 'linklocal' | 'uniquelocal'; got ${describe(value)}`);
  if (typeof value !== 'string') throw invalid();
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const ip = parseIp(address);
  if (ip === null || address.includes('%')) throw invalid();
  const isV6Text = address.includes(':');
  const maxBits = isV6Text ? 128 : 32;
  let bits = maxBits;
  if (slash !== -1) {
    const text = value.slice(slash + 1);
    if (!/^\d{1,3}$/.test(text)) throw invalid();
    bits = Number(text);
    if (bits > maxBits) throw invalid();
  }
  if (ip instanceof ipaddr.IPv4 && isV6Text) {
    // An IPv4-mapped range (::ffff:10.0.0.0/104): clients are matched after unwrapping to IPv4.
    if (bits < 96) throw invalid();
    bits -= 96;
  }
  return [ip, bits];
}

interface Chain {
  /** Node strings, nearest hop last; `null` for a `Forwarded` element without a usable `for`. */
  entries: Array<string | null>;
  /** True when entries further left were not examined (header over 8 KB or over 32 entries). */
  truncated: boolean;
}

const EMPTY_CHAIN: Chain = { entries: [], truncated: false };

function readChain(headers: unknown, header: ProxyHeader): Chain {
  const raw = headerValue(headers, header);
  if (raw === null) return EMPTY_CHAIN;
  let text = raw.text;
  let truncated = raw.truncated;
  if (text.length > MAX_HEADER_LENGTH) {
    // Keep the right end, where your own proxies append, and drop the element that the cut split.
    text = text.slice(-MAX_HEADER_LENGTH);
    const comma = text.indexOf(',');
    text = comma === -1 ? '' : text.slice(comma + 1);
    truncated = true;
  }
  // Forwarded elements are split at every comma, quoted or not: the standard parameters never
  // contain one, and splitting first means that a malformed element sent by a client (an
  // unterminated quote, say) cannot swallow the elements that your proxies append after it.
  let parts = text.split(',');
  if (parts.length > MAX_HOPS) {
    parts = parts.slice(-MAX_HOPS);
    truncated = true;
  }
  const entries = header === 'forwarded' ? parts.map(forwardedFor) : parts;
  return { entries, truncated };
}

/** The header's lines joined by commas, keeping only about MAX_HEADER_LENGTH from the right. */
function headerValue(headers: unknown, name: string): { text: string; truncated: boolean } | null {
  if (headers === null || typeof headers !== 'object') return null;
  let value: unknown;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    value = get.call(headers, name);
  } else {
    const record = headers as Record<string, unknown>;
    value = Object.hasOwn(record, name) ? record[name] : undefined;
    if (value === undefined) {
      for (const key of Object.keys(record)) {
        if (key.length === name.length && key.toLowerCase() === name) {
          value = record[key];
          break;
        }
      }
    }
  }
  // A blank header is treated as absent: there is no chain in it.
  if (typeof value === 'string') return value.trim() === '' ? null : { text: value, truncated: false };
  if (!Array.isArray(value)) return null;
  const lines: string[] = [];
  let length = 0;
  let truncated = false;
  for (let i = value.length - 1; i >= 0; i--) {
    if (length > MAX_HEADER_LENGTH) {
      truncated = true;
      break;
    }
    const line: unknown = value[i];
    // A non-string line is garbage, but it still occupies a place in the chain.
    const text = typeof line === 'string' ? line : '';
    lines.push(text);
    length += text.length + 1;
  }
  const text = lines.reverse().join(',');
  return text.trim() === '' ? null : { text, truncated };
}

/** The `for` value of one RFC 7239 element, or null when it has none or is malformed. */
function forwardedFor(element: string): string | null {
  let found: string | null = null;
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) {
      if (pair.trim() === '') continue; // tolerate a stray ';'
      return null;
    }
    const name = pair.slice(0, eq).trim();
    if (!TOKEN.test(name)) return null;
    const value = unquote(pair.slice(eq + 1).trim());
    if (value === null) return null;
    if (name.toLowerCase() === 'for') {
      if (found !== null) return null; // RFC 7239 §4: a parameter occurs at most once per element
      found = value;
    }
  }
  return found;
}

function unquote(value: string): string | null {
  if (!value.startsWith('"')) return UNQUOTED.test(value) ? value : null;
  if (value.length < 2 || !value.endsWith('"')) return null;
  const inner = value.slice(1, -1);
  if (!QUOTED.test(inner)) return null;
  return inner.replace(/\\(.)/g, '$1');
}

/**
 * An address from one chain entry: `203.0.113.7`, `203.0.113.7:5678`, `2001:db8::1`,
 * `[2001:db8::1]`, `[2001:db8::1]:443` (ports may be RFC 7239 obfuscated, `:_p1`). `unknown`,
 * obfuscated identifiers and anything else are null.
 */
function parseNode(node: string | null | undefined): ParsedIp | null {
  if (typeof node !== 'string') return null;
  const text = node.trim();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end === -1) return null;
    const inner = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (!inner.includes(':') || (rest !== '' && !PORT.test(rest))) return null;
    return parseIp(inner);
  }
  const colon = text.indexOf(':');
  if (colon !== -1 && colon === text.lastIndexOf(':')) {
    // Exactly one colon: IPv4 with a port (IPv6 has at least two).
    return PORT.test(text.slice(colon)) ? parseIp(text.slice(0, colon)) : null;
  }
  return parseIp(text);
}

function formatOrNull(ip: ParsedIp | null): string | null {
  return ip === null ? null : formatIp(ip);
}

// RFC 7230 token, for parameter names.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Unquoted values: RFC 7230 allows only tokens, but proxies in the wild also write `for=192.0.2.1:80`
// and unbracketed IPv6 unquoted; visible ASCII without quotes or backslashes covers both.
const UNQUOTED = /^[!#-[\]-~]+$/;
// Quoted-string content: qdtext or quoted-pair, so a bare '"' inside is malformed.
const QUOTED = /^(?:[\t !#-[\]-~]|\\[\t -~])*$/;
const PORT = /^:(?:\d{1,5}|_[0-9A-Za-z._-]+)$/;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'number' ? String(value) : typeof value;
}
