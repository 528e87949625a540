/**
 * The PII filter of the activity log. Activity is kept for months and read by support staff, so
 * it must not become a second copy of credentials or personal data: query strings are dropped
 * unless allow-listed, values under secret-sounding keys are dropped, and anything in a path or in
 * `details` that looks like a credential, an email address, a card number, a phone number or a US
 * social security number is replaced by a marker saying what was removed. Percent-encoded text is
 * decoded before it is matched.
 *
 * Every pattern is linear in the length of its input (runs are matched from their start only, and
 * no quantifier is nested in another), because this runs for every row the logger writes.
 */

import { LruCache } from '../internal/lru-cache.js';

export const REDACTED = '[redacted]';

/**
 * Cleans a request path for storage: drops the query string except allow-listed parameters and
 * redacts secret-looking segments (e.g. `/reset-password/<token>`, `/u/alice%40example.com`).
 */
export function sanitizePath(raw: string, allowedQueryParams: ReadonlySet<string>): string {
  const bounded = raw.length > 2048 ? raw.slice(0, 2048) : raw;
  const queryStart = bounded.indexOf('?');
  const pathname = queryStart === -1 ? bounded : bounded.slice(0, queryStart);
  let query = '';
  if (queryStart !== -1 && allowedQueryParams.size > 0) {
    const kept = new URLSearchParams();
    // URLSearchParams has decoded '+' and percent-escapes of the values already.
    for (const [key, value] of new URLSearchParams(bounded.slice(queryStart + 1))) {
      if (allowedQueryParams.has(key)) kept.append(key, isSecretKey(key) ? REDACTED : redactString(value));
    }
    const text = kept.toString();
    if (text !== '') query = `?${text}`;
  }
  return redactPathname(cap(pathname)) + query;
}

/**
 * Deep-copies `details` with secrets redacted: values under secret-sounding keys (`password`,
 * `otpCode`, `pin`, `apiKey`, `phone`, ...), and strings that look like credentials or personal
 * data. Strings are cut to 1,024 characters and nesting to 8 levels, so one event cannot bloat the log.
 */
export function redactDetails(details: unknown): Record<string, unknown> | null {
  if (details === null || details === undefined || typeof details !== 'object' || Array.isArray(details)) return null;
  return redactValue(details, 0, false) as Record<string, unknown>;
}

/** Replaces credential-, email-, card-, phone- and SSN-like runs in a string, cut to 1,024 characters. */
export function redactString(value: string): string {
  return redactText(cap(value), false);
}

// --- internal ---

const MAX_DEPTH = 8;
const MAX_STRING = 1024;

const EMAIL_MARK = '[redacted:email]';
const TOKEN_MARK = '[redacted:token]';
const CARD_MARK = '[redacted:card]';
const PHONE_MARK = '[redacted:phone]';
const SSN_MARK = '[redacted:ssn]';

function cap(value: string): string {
  return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
}

/**
 * Redacts `text`, matching its percent-decoded form. When the decoded form holds nothing to redact
 * the text is kept as it was, escapes included; otherwise the decoded, redacted form is returned.
 * `digest` says the text is labelled as a digest (its key is `sha256`, `commit`, ...).
 */
function redactText(text: string, digest: boolean): string {
  if (text.includes('%')) {
    const decoded = decodePercent(text);
    if (decoded !== text) {
      const redacted = redactPlain(decoded, false, digest);
      return redacted === decoded ? text : redacted;
    }
  }
  return redactPlain(text, false, digest);
}

/**
 * A path is matched segment by segment where it is percent-encoded (an encoded '/' decodes inside
 * its segment), and as a whole otherwise, with '/' separating runs rather than being part of them.
 */
function redactPathname(pathname: string): string {
  const decoded = pathname.includes('%') ? pathname.split('/').map(redactEncodedSegment).join('/') : pathname;
  return redactPlain(decoded, true, false);
}

function redactEncodedSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  const decoded = decodePercent(segment);
  if (decoded === segment) return segment;
  const redacted = redactPlain(decoded, false, false);
  // Re-escape only what would change the path's shape.
  return redacted === decoded ? segment : redacted.replace(PATH_UNSAFE, encodeURIComponent);
}

const PATH_UNSAFE = /[%/?#\s]/g;

function redactPlain(text: string, inPath: boolean, digest: boolean): string {
  // Nothing redactable is shorter than an email address such as a@b.cc (resource ids often are).
  if (text.length < 6) return text;
  let result = text;
  if (result.includes('@')) result = result.replace(EMAIL, EMAIL_MARK);
  if (result.includes('eyJ')) result = result.replace(JWT, TOKEN_MARK);
  if (result.includes('Bearer') || result.includes('Basic')) result = result.replace(AUTH_SCHEME, (match, credential: string) => (/[\d=]/.test(credential) ? `${match.slice(0, match.length - credential.length)}${TOKEN_MARK}` : match));
  result = result.replace(inPath ? PATH_RUN : RUN, (run: string, offset: number, whole: string) => redactRun(run, whole.slice(Math.max(0, offset - LABEL_LOOKBACK), offset), digest));
  if (countDigits(result) >= 8) result = redactNumbers(result);
  return result;
}

// --- internal: credentials ---

/** Starts only where a run of local-part characters starts, so each run is scanned once. */
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
/** An Authorization header value: the credential must hold a digit or '=' (not "Basic plan"). */
const AUTH_SCHEME = /\b(?:Bearer|Basic)\s+([A-Za-z0-9._~+/-]{8,}={0,2})(?![A-Za-z0-9._~+/=-])/g;
/**
 * Runs of token and base64 characters (with their '=' padding) of at least 20 characters (an AWS
 * access key id), classified by {@link redactRun}. In a path '/' separates runs.
 */
const RUN = /(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{20,}={0,2}(?![A-Za-z0-9+/_=-])/g;
const PATH_RUN = /(?<![A-Za-z0-9+_=-])[A-Za-z0-9+_-]{20,}={0,2}(?![A-Za-z0-9+_=-])/g;
const AWS_KEY_ID = /^(?:AKIA|ASIA)[A-Z0-9]{16}$/;
/** Subresource-integrity hashes (`sha384-...`): public by design. */
const INTEGRITY = /^sha(?:256|384|512)-/;
const HEX = /^(?:[0-9a-f]+|[0-9A-F]+)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DIGEST_LENGTHS = new Set([32, 40, 56, 64, 96, 128]);
/** Text right before a hex run that names it a digest: `sha256:`, `/commits/`, `"etag": "`. */
const DIGEST_LABEL = /(?:sha(?:1|224|256|384|512)?|md5|commits?|blobs?|objects?|digests?|hash(?:es)?|checksums?|etags?|rev(?:ision)?s?|trees?)["']?\s*[:=/@-]?\s*["']?$/i;
const LABEL_LOOKBACK = 24;

/**
 * A run holding '/' (a URL path in a detail) is redacted piece by piece, and whole only when no
 * piece is a credential (base64 with '/' in it); any other run whole or not at all.
 */
function redactRun(run: string, before: string, digest: boolean): string {
  if (INTEGRITY.test(run)) return run;
  if (!run.includes('/')) return isCredential(run, before, digest) ? TOKEN_MARK : run;
  let changed = false;
  const pieces = run.split('/');
  let offset = 0;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (piece.length >= 20 && isCredential(piece, (before + run.slice(0, offset)).slice(-LABEL_LOOKBACK), digest)) {
      pieces[i] = TOKEN_MARK;
      changed = true;
    }
    offset += piece.length + 1;
  }
  if (changed) return pieces.join('/');
  return isCredential(run, before, digest) ? TOKEN_MARK : run;
}

/**
 * Whether a run of token/base64 characters is a credential: a sessionkeeper token, an AWS access
 * key id, base64 of random bytes (with '+', '/' or '=': mixed case, digits, frequent changes
 * between upper case, lower case and digits, unlike words and paths), or a long token-like run
 * (letters and digits that change often, unlike a slug such as `winter-sale-2024`; not a UUID; a
 * hex digest only when nothing labels it as one).
 */
function isCredential(run: string, before: string, digest: boolean): boolean {
  let end = run.length;
  while (end > 0 && run.charCodeAt(end - 1) === 61 /* = */) end--;
  const core = end === run.length ? run : run.slice(0, end);
  if (core.startsWith('skt_')) return core.length >= 12;
  if (core.length === 20) return AWS_KEY_ID.test(core);
  let upper = 0;
  let lower = 0;
  let digits = 0;
  let symbols = 0;
  let pairs = 0;
  let changes = 0;
  let previous = -1;
  for (let i = 0; i < core.length; i++) {
    const c = core.charCodeAt(i);
    const kind = c >= 65 && c <= 90 ? 0 : c >= 97 && c <= 122 ? 1 : c >= 48 && c <= 57 ? 2 : -1;
    if (kind === 0) upper++;
    else if (kind === 1) lower++;
    else if (kind === 2) digits++;
    else if (c === 43 /* + */ || c === 47 /* / */) symbols++;
    if (kind >= 0 && previous >= 0) {
      pairs++;
      if (kind !== previous) changes++;
    }
    previous = kind;
  }
  if (symbols > 0 || end < run.length) {
    if (INTEGRITY.test(core)) return false;
    // Random base64 changes class at 62% of its character pairs; below a quarter (one random
    // 24-character secret in 2,500 does) it reads like words or a path.
    return core.length >= 24 && upper >= 2 && lower >= 2 && digits + symbols >= 2 && changes >= pairs * 0.25;
  }
  // Random hex and base36 tokens change class at 47% and 40% of their pairs; a slug with a number, hardly ever.
  if (core.length < 32 || digits === 0 || upper + lower === 0 || changes < pairs * 0.1) return false;
  if (HEX.test(core) && DIGEST_LENGTHS.has(core.length) && (digest || DIGEST_LABEL.test(before))) return false;
  return !UUID.test(core);
}

// --- internal: numbers ---

/**
 * A digit sequence with at most one separator between digits, 13 to 23 digits long, not glued to
 * letters or further digits: card candidates, in which {@link redactCards} looks for a card number.
 */
const CARD_RUN = /(?<![A-Za-z0-9]|\d[ .\-_])\d(?:[ .\-_]?\d){12,22}(?![A-Za-z0-9]|[ .\-_]\d)/g;
const SSN = /(?<![\w.-])(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-]|\.\d)/g;
/** E.164: '+', then digits with spaces, dots, dashes or parentheses; checked by {@link isInternationalPhone}. */
const PHONE_INTERNATIONAL = /(?<![\w+])\+[1-9][\d .()-]{6,24}\d/g;
/** North American: (415) 555-0123, 415-555-0123, 415.555.0123, 1 415 555 0123. */
const PHONE_NANP = /(?<![\w.+-])(?:1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}(?![\w]|[.-]\d)/g;
/** With a trunk prefix: 020 7946 0958, 07700 900123, 01 23 45 67 89, 030 12345678, 03-1234-5678. */
const PHONE_TRUNK = /(?<![\w.+-])0\d{1,4}(?:[ .-]\d{2,8}){1,4}(?![\w]|[.-]\d)/g;

function countDigits(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) count++;
  }
  return count;
}

function redactNumbers(text: string): string {
  return text
    .replace(CARD_RUN, redactCards)
    .replace(SSN, SSN_MARK)
    .replace(PHONE_INTERNATIONAL, (run) => (isInternationalPhone(run) ? PHONE_MARK : run))
    .replace(PHONE_NANP, PHONE_MARK)
    .replace(PHONE_TRUNK, (run) => (isTrunkPhone(run) ? PHONE_MARK : run));
}

/**
 * Redacts the first card number in a candidate: consecutive groups of 13 to 19 digits that pass the
 * Luhn check and start as a card of that length does ({@link CARD_PREFIX}), which also leaves out
 * millisecond timestamps, ISBNs and most EAN barcodes.
 */
function redactCards(run: string): string {
  const groups = run.split(/[ .\-_]/);
  for (let i = 0; i < groups.length; i++) {
    let digits = '';
    for (let j = i; j < groups.length && digits.length + groups[j]!.length <= 19; j++) {
      digits += groups[j];
      if (digits.length >= 13 && CARD_PREFIX[digits.length]!.test(digits) && passesLuhn(digits)) {
        const start = groups.slice(0, i).join(' ').length + (i > 0 ? 1 : 0);
        const length = groups.slice(i, j + 1).join(' ').length;
        return run.slice(0, start) + CARD_MARK + run.slice(start + length);
      }
    }
  }
  return run;
}

/**
 * Issuer prefixes by length: 13 old Visa; 14 Diners; 15 Amex; 16 Visa, Mastercard (51-55, 22-27),
 * Discover, JCB, UnionPay; 17-19 Visa, Maestro, UnionPay, JCB.
 */
const CARD_PREFIX: Record<number, RegExp> = {
  13: /^4/,
  14: /^3[0689]/,
  15: /^3[47]/,
  16: /^(?:4|5[1-5]|2[2-7]|6|35)/,
  17: /^(?:4|5|6|35)/,
  18: /^(?:4|5|6|35)/,
  19: /^(?:4|5|6|35)/,
};

function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** 8 to 15 digits (E.164); dots only as group separators (`+40.7128` is a coordinate); no doubled separators. */
function isInternationalPhone(run: string): boolean {
  const digits = countDigits(run);
  if (digits < 8 || digits > 15 || /[ .-]{2}/.test(run)) return false;
  const dots = run.split('.').length - 1;
  return dots === 0 || dots >= 2;
}

/** 10 or 11 digits, and not a date followed by a number (`01-02-2024 10`). */
function isTrunkPhone(run: string): boolean {
  const digits = countDigits(run);
  if (digits < 10 || digits > 11) return false;
  return !/^\d{2}[.-]\d{2}[.-]\d{4}/.test(run);
}

// --- internal: keys ---

/**
 * Whether values under `key` are secret whatever they look like. The key is split into words
 * (camelCase, snake_case, kebab-case, dotted), so `otpCode`, `otp_code` and `OTP` match while
 * `spinner`, `opinion` and `shipping` do not; single words and joined pairs or triples of words
 * are matched against {@link SECRET_WORD}. Results are cached: keys repeat from row to row.
 */
function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    secret = classifyKey(key);
    secretKeys.set(key, secret);
  }
  return secret;
}

const KEY_CACHE_SIZE = 1000;
const secretKeys = new LruCache<boolean>(KEY_CACHE_SIZE);

const SECRET_WORD =
  /^(?:otp|totp|hotp|pin|cvv2?|cvc2?|ssn|cookies?|secrets|credentials?|authorization|phone|telephone|msisdn|socialsecuritynumber|[a-z0-9]*(?:password|passwd|pwd|passphrase|passcode|secret|token|apikey|accesskey|privatekey|sessionid|sessid|phonenumber)|(?:otp|mfa|2fa|totp|sms|email|verification|verify|security|auth|recovery|backup|login|reset|onetime)codes?)$/;

function classifyKey(key: string): boolean {
  if (key.length > 128) return false;
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
  // `auth` names a credential as the last word (`x-auth`, `basicAuth`), not as the first (`authMethod`).
  if (words[words.length - 1] === 'auth') return true;
  for (let i = 0; i < words.length; i++) {
    if (SECRET_WORD.test(words[i]!)) return true;
    if (i + 1 < words.length && SECRET_WORD.test(words[i]! + words[i + 1]!)) return true;
    if (i + 2 < words.length && SECRET_WORD.test(words[i]! + words[i + 1]! + words[i + 2]!)) return true;
  }
  return false;
}

/**
 * Keys whose string value is a public digest or a tracing id, so a hex run under them is not a
 * secret: `sha256`, `commitSha`, `etag`, `traceId`, `x-request-id`, ...
 */
const DIGEST_KEY = /(?:^|[-_.]|(?<=[a-z]))(?:sha(?:1|224|256|384|512)?|md5|commit|digest|hash|checksum|etag|rev|revision|integrity|trace_?id|span_?id|request_?id|correlation_?id|Sha|Md5|Commit|Digest|Hash|Checksum|Etag|Rev|Revision|Integrity|TraceId|SpanId|RequestId|CorrelationId)$/i;

function redactValue(value: unknown, depth: number, digest: boolean): unknown {
  if (typeof value === 'string') return redactText(cap(value), digest);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (typeof value !== 'object' || depth >= MAX_DEPTH) return value === undefined ? null : REDACTED;
  if (Array.isArray(value)) return value.slice(0, 100).map((item) => redactValue(item, depth + 1, digest));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (typeof child === 'function' || typeof child === 'symbol' || child === undefined) continue;
    out[key] = isSecretKey(key) ? REDACTED : redactValue(child, depth + 1, DIGEST_KEY.test(key));
  }
  return out;
}

// --- internal: decoding ---

/**
 * Percent-decodes for matching, never throwing: up to three rounds (a value encoded twice by a
 * proxy decodes too); malformed escapes stay as they are, invalid UTF-8 becomes U+FFFD.
 */
function decodePercent(text: string): string {
  let current = text;
  for (let round = 0; round < 3 && current.includes('%'); round++) {
    const next = decodeOnce(current);
    if (next === current) break;
    current = next;
  }
  return current;
}

function decodeOnce(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(ESCAPES, decodeEscapes);
  }
}

const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g;
const utf8 = new TextDecoder();

function decodeEscapes(run: string): string {
  const bytes = new Uint8Array(run.length / 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
  return utf8.decode(bytes);
}
