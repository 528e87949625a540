/**
 * User-Agent Client Hints (https://wicg.github.io/ua-client-hints/): the request headers with which
 * Chromium browsers report what their reduced User-Agent string no longer says (the real Windows and
 * Android versions, the phone model, the full browser version).
 *
 * Values are Structured Fields (RFC 8941) in theory and hand-written strings in practice, so the
 * parsers below are tolerant: anything malformed is skipped rather than rejected, and every loop is
 * linear in the (already bounded) input.
 */

import { isFieldValue } from '../internal/text.js';

/** Lower-case names of the hint headers that can change a parse result, in cache-key order. */
export const HINT_HEADERS = [
  'sec-ch-ua',
  'sec-ch-ua-full-version-list',
  'sec-ch-ua-full-version',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
  'sec-ch-ua-platform-version',
  'sec-ch-ua-model',
  'sec-ch-ua-form-factors',
] as const;

const UA = 0;
const FULL_VERSION_LIST = 1;
const FULL_VERSION = 2;
const MOBILE = 3;
const PLATFORM = 4;
const PLATFORM_VERSION = 5;
const MODEL = 6;
const FORM_FACTORS = 7;

/** Longest hint value read; a real one is under 300 characters. Longer values are cut, never scanned. */
export const MAX_HINT_LENGTH = 512;
/** At most this many brands are read from a list; browsers send three or four. */
const MAX_BRANDS = 16;

export interface Brand {
  readonly brand: string;
  readonly version: string | null;
}

/** What the hint headers say, each field null when its header is absent or unusable. */
export interface ClientHints {
  /** Brands without GREASE entries, from the full version list when sent, else from `Sec-CH-UA`. */
  readonly brands: readonly Brand[];
  /** `Sec-CH-UA-Full-Version` (deprecated, still sent by some browsers). */
  readonly fullVersion: string | null;
  readonly mobile: boolean | null;
  readonly platform: string | null;
  readonly platformVersion: string | null;
  readonly model: string | null;
  /** `Sec-CH-UA-Form-Factors`, lower-cased: `desktop`, `mobile`, `tablet`, `xr`, `eink`, `watch`, `automotive`. */
  readonly formFactors: readonly string[];
}

/**
 * Reads the hint headers out of any header record (Node's `IncomingHttpHeaders`, a plain object with
 * keys in any case, or a WHATWG `Headers`). Returns one bounded string per {@link HINT_HEADERS} entry
 * (`''` when absent), or null when none is present, which is the common case and keeps the cache key
 * of a hint-less request equal to its user agent.
 */
export function readHintValues(headers: unknown): string[] | null {
  if (headers === null || typeof headers !== 'object') return null;
  let values: string[] | null = null;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function' && !Array.isArray(headers)) {
    // WHATWG Headers (and Map-like objects): names are case-insensitive there already.
    for (let i = 0; i < HINT_HEADERS.length; i++) {
      let raw: unknown;
      try {
        raw = get.call(headers, HINT_HEADERS[i]);
      } catch {
        return null;
      }
      const value = headerText(raw);
      if (value !== '') (values ??= emptyValues())[i] = value;
    }
    return values;
  }
  const record = headers as Record<string, unknown>;
  // for-in rather than Object.keys: no array per request. Every hint name is "sec-ch-ua…", 9 to 27
  // characters, so most header names are rejected on their first character or their length.
  for (const key in record) {
    if (key.length < 9 || key.length > 27 || (key.charCodeAt(0) | 32) !== 115 || key.charCodeAt(3) !== 45) continue;
    const index = hintIndex(key);
    if (index === -1 || !Object.hasOwn(record, key)) continue;
    const value = headerText(record[key]);
    if (value !== '') (values ??= emptyValues())[index] = value;
  }
  return values;
}

/** Parses the values returned by {@link readHintValues}. */
export function parseClientHints(values: readonly string[]): ClientHints {
  const list = values[FULL_VERSION_LIST] || values[UA] || '';
  return {
    brands: parseBrandList(list),
    fullVersion: cleanVersion(parseSfString(values[FULL_VERSION] ?? '')),
    mobile: parseSfBoolean(values[MOBILE] ?? ''),
    platform: parseSfString(values[PLATFORM] ?? ''),
    platformVersion: cleanVersion(parseSfString(values[PLATFORM_VERSION] ?? '')),
    model: parseSfString(values[MODEL] ?? ''),
    formFactors: parseBrandList(values[FORM_FACTORS] ?? '').map((item) => item.brand.toLowerCase()),
  };
}

/**
 * True for the made-up brands Chromium adds to `Sec-CH-UA` so that servers do not hard-code the list
 * ("GREASE"): `"Not A(Brand"`, `" Not;A Brand"`, `"Not/A)Brand"`, ... The punctuation varies by
 * release, so match the shape rather than any one spelling.
 */
export function isGreaseBrand(brand: string): boolean {
  return GREASE.test(brand);
}

/**
 * Parses a Structured Fields list of strings with parameters, e.g.
 * `"Chromium";v="131", "Not_A Brand";v="24"`, dropping GREASE brands. Items that are not strings or
 * tokens are skipped; unterminated strings end at the end of the value.
 */
export function parseBrandList(value: string): Brand[] {
  const brands: Brand[] = [];
  const n = value.length;
  let i = 0;
  while (i < n && brands.length < MAX_BRANDS) {
    while (i < n && (value[i] === ' ' || value[i] === '\t' || value[i] === ',')) i++;
    if (i >= n) break;
    let brand: string;
    if (value[i] === '"') {
      const read = readQuoted(value, i);
      brand = read.text;
      i = read.end;
    } else {
      const start = i;
      while (i < n && value[i] !== ';' && value[i] !== ',') i++;
      brand = value.slice(start, i);
    }
    let version: string | null = null;
    // Parameters (`;v="131"`); anything else up to the next comma is ignored.
    while (i < n && value[i] !== ',') {
      if (value[i] !== ';') {
        if (value[i] === '"') i = readQuoted(value, i).end;
        else i++;
        continue;
      }
      i++;
      while (i < n && value[i] === ' ') i++;
      const keyStart = i;
      while (i < n && value[i] !== '=' && value[i] !== ';' && value[i] !== ',') i++;
      const key = value.slice(keyStart, i).trim();
      if (value[i] !== '=') continue;
      i++;
      let paramValue: string;
      if (value[i] === '"') {
        const read = readQuoted(value, i);
        paramValue = read.text;
        i = read.end;
      } else {
        const start = i;
        while (i < n && value[i] !== ';' && value[i] !== ',') i++;
        paramValue = value.slice(start, i);
      }
      if (key === 'v') version = cleanVersion(paramValue);
    }
    brand = brand.trim();
    if (brand !== '' && !isGreaseBrand(brand)) brands.push({ brand, version });
  }
  return brands;
}

// --- internal ---

/** Position of a header name in {@link HINT_HEADERS}, in any letter case; -1 when it is not one. */
function hintIndex(name: string, lowered = false): number {
  switch (name) {
    case 'sec-ch-ua':
      return UA;
    case 'sec-ch-ua-full-version-list':
      return FULL_VERSION_LIST;
    case 'sec-ch-ua-full-version':
      return FULL_VERSION;
    case 'sec-ch-ua-mobile':
      return MOBILE;
    case 'sec-ch-ua-platform':
      return PLATFORM;
    case 'sec-ch-ua-platform-version':
      return PLATFORM_VERSION;
    case 'sec-ch-ua-model':
      return MODEL;
    case 'sec-ch-ua-form-factors':
      return FORM_FACTORS;
    default: {
      // Node lower-cases header names, so the common case never gets here.
      if (lowered) return -1;
      const lower = name.toLowerCase();
      return lower === name ? -1 : hintIndex(lower, true);
    }
  }
}

const GREASE = /^[\W_]*not[\W_]*a[\W_]*brand[\W_]*$/i;
const VERSION_LIKE = /^\d+(?:\.\d+)*$/;

function emptyValues(): string[] {
  return HINT_HEADERS.map(() => '');
}

/** A header value as one bounded string; repeated headers are joined as HTTP joins list fields. */
function headerText(raw: unknown): string {
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (Array.isArray(raw)) text = raw.filter((part): part is string => typeof part === 'string').join(', ');
  else return '';
  // A control character (NUL, ...) cannot arrive in a header: a value with one is no hint, and it
  // must not reach a device name that stores and alerts keep.
  if (!isFieldValue(text)) return '';
  return text.length > MAX_HINT_LENGTH ? text.slice(0, MAX_HINT_LENGTH) : text;
}

/** Reads a quoted string starting at `start` (a `"`); backslash escapes the next character. */
function readQuoted(value: string, start: number): { text: string; end: number } {
  let text = '';
  let i = start + 1;
  while (i < value.length) {
    const ch = value[i]!;
    if (ch === '\\' && i + 1 < value.length) {
      text += value[i + 1];
      i += 2;
    } else if (ch === '"') {
      return { text, end: i + 1 };
    } else {
      text += ch;
      i++;
    }
  }
  return { text, end: i };
}

/** A single sf-string (`"Windows"`); bare tokens are accepted too. Empty → null. */
function parseSfString(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed === '') return null;
  const text = (trimmed[0] === '"' ? readQuoted(trimmed, 0).text : trimmed).trim();
  return text === '' ? null : text;
}

/** An sf-boolean (`?1` / `?0`); also the bare `1` / `0` some proxies forward. */
function parseSfBoolean(value: string): boolean | null {
  const trimmed = value.trim();
  if (trimmed === '?1' || trimmed === '1') return true;
  if (trimmed === '?0' || trimmed === '0') return false;
  return null;
}

function cleanVersion(version: string | null): string | null {
  if (version === null) return null;
  const trimmed = version.trim();
  return VERSION_LIKE.test(trimmed) && trimmed.length <= 32 ? trimmed : null;
}
