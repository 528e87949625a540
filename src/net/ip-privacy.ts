import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { invalidConfig, SessionError } from '../errors.js';
import { normalizeIp, parseIp } from './ip-address.js';

/**
 * What is stored in place of a client address.
 *
 * - `'hash'`: `h:` + a keyed hash (see {@link createIpProtector}). Equal addresses give equal
 *   values under one key, so "same network as last time" checks still work; the address cannot be
 *   recovered without the key.
 * - `'truncate'`: the network only, /24 for IPv4 (`203.0.113.0`), /48 for IPv6 (`2001:db8:85a3::`).
 * - `'raw'`: the whole address, normalised.
 */
export type IpPrivacyMode = 'raw' | 'hash' | 'truncate';

/** Options of {@link createIpProtector}; named as the session manager's options are. */
export interface IpProtectorOptions {
  /** Default: `'hash'` when `ipHashKey` is set, else `'truncate'`. A raw address is only kept on request. */
  ipPrivacy?: IpPrivacyMode;
  /**
   * The secret for `'hash'`: at least 16 bytes, or a string of at least 32 characters (used as its
   * UTF-8 bytes, so the output of `openssl rand -hex 32` can be pasted as is). Keep it out of the
   * database; rotating it makes new hashes unequal to stored ones.
   */
  ipHashKey?: string | Uint8Array;
}

/** Turns a client address into what may be stored; `null` for anything that is not an address. Never throws. */
export type IpProtector = (ip: string | null | undefined) => string | null;

/**
 * Validates the privacy options once and returns the function that applies them.
 *
 * Every mode normalises first (see {@link normalizeIp}), so `::ffff:203.0.113.7` and `203.0.113.7`
 * are stored, truncated and hashed alike.
 *
 * Why a keyed hash: there are only 2^32 IPv4 addresses, and a laptop computes SHA-256 of all of them
 * in minutes, so a plain hash of an address is a lookup table away from the address. 'hash' is
 * HMAC-SHA256 under `ipHashKey` instead, which nobody can compute without the key. The value is
 * `h:` + the first 16 bytes (128 bits) of the HMAC in base64url: always 24 characters. The input is
 * the normalised address's text and nothing else, so the same value can be computed elsewhere to
 * look sessions up by address: `HMAC-SHA256(key, '203.0.113.7')`.
 *
 * @throws SessionError `INVALID_CONFIG` naming `ipPrivacy` (not one of the modes) or `ipHashKey`
 *   (missing for `'hash'`, not a string or bytes, or too short).
 * @example
 * const protectIp = createIpProtector({ ipHashKey: process.env.IP_HASH_KEY });
 * protectIp('203.0.113.7')  // 'h:' + 22 characters
 * createIpProtector({ ipPrivacy: 'truncate' })('2001:db8:85a3::8a2e:370:7334') // '2001:db8:85a3::'
 */
export function createIpProtector(options: IpProtectorOptions = {}): IpProtector {
  if (options === null || typeof options !== 'object') {
    invalidConfig('IP privacy options', `must be an object; got ${typeof options}`);
  }
  const ipHashKey = options.ipHashKey ?? undefined; // null, as from a config file, means "not set"
  const mode: unknown = options.ipPrivacy ?? (ipHashKey === undefined ? 'truncate' : 'hash');
  if (mode !== 'raw' && mode !== 'hash' && mode !== 'truncate') {
    invalidConfig('ipPrivacy', `must be 'raw', 'hash' or 'truncate'; got ${typeof mode === 'string' ? JSON.stringify(mode.slice(0, 40)) : mode === null ? 'null' : typeof mode}`);
  }
  // A key given with another mode is still checked: a bad secret should fail at startup, not on
  // the day someone switches to 'hash'.
  const key = ipHashKey === undefined ? undefined : secretKey(ipHashKey);

  if (mode === 'raw') return (ip) => normalizeIp(ip);
  if (mode === 'truncate') {
    return (ip) => {
      const parsed = parseIp(ip);
      if (parsed === null) return null;
      if (parsed instanceof ipaddr.IPv4) return new ipaddr.IPv4([...parsed.octets.slice(0, 3), 0]).toString();
      return new ipaddr.IPv6([...parsed.parts.slice(0, 3), 0, 0, 0, 0, 0]).toRFC5952String();
    };
  }
  if (key === undefined) {
    invalidConfig('ipHashKey', "is required when ipPrivacy is 'hash': at least 16 random bytes, or 32 characters such as `openssl rand -hex 32`");
  }
  return (ip) => {
    const text = normalizeIp(ip);
    if (text === null) return null;
    return HASH_PREFIX + createHmac('sha256', key).update(text).digest().subarray(0, HASH_BYTES).toString('base64url');
  };
}

// --- internal ---

const HASH_PREFIX = 'h:';
// 128 bits: far beyond any collision among stored addresses, and half the width of a full HMAC.
const HASH_BYTES = 16;
const MIN_KEY_BYTES = 16;
const MIN_KEY_CHARACTERS = 32;

/** Created once: a KeyObject spares every HMAC from copying and re-validating the secret. */
function secretKey(value: unknown): KeyObject {
  if (typeof value === 'string') {
    if (value.length >= MIN_KEY_CHARACTERS) return createSecretKey(Buffer.from(value, 'utf8'));
    invalidConfig('ipHashKey', `must be at least ${MIN_KEY_CHARACTERS} characters as a string (e.g. \`openssl rand -hex 32\`); got ${value.length}`);
  }
  if (value instanceof Uint8Array) {
    // createSecretKey copies, so later changes to the caller's buffer do not change the key.
    if (value.byteLength >= MIN_KEY_BYTES) return createSecretKey(value);
    invalidConfig('ipHashKey', `must be at least ${MIN_KEY_BYTES} bytes; got ${value.byteLength}`);
  }
  invalidConfig('ipHashKey', `must be a string or a Buffer/Uint8Array; got ${value === null ? 'null' : typeof value}`);
}
