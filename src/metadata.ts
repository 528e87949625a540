import type { SessionMetadata } from './contracts.js';
import { SessionError } from './errors.js';

const MAX_DEPTH = 32;

/**
 * Checks that `value` is a plain object of JSON values (no Dates, Maps, class instances, functions,
 * undefined, NaN/Infinity, BigInt or cycles) and that its JSON is at most `maxBytes` UTF-8 bytes.
 * Rejecting instead of coercing means what is read back is exactly what was written.
 *
 * @returns the JSON text, so callers serialise only once.
 * @throws SessionError `INVALID_METADATA`
 */
export function serializeMetadata(value: unknown, maxBytes: number, field = 'metadata'): string {
  if (!isPlainObject(value)) throw invalid(`${field} must be a plain object`);
  assertJsonValue(value, field, 0, new Set());
  const json = JSON.stringify(value);
  assertWithinLimit(json, maxBytes, field);
  return json;
}

/** Throws `INVALID_METADATA` when `json` is longer than `maxBytes` in UTF-8. */
export function assertWithinLimit(json: string, maxBytes: number, field = 'metadata'): void {
  // Each UTF-16 unit is at most 3 UTF-8 bytes, so short strings skip the exact count.
  if (json.length * 3 > maxBytes && Buffer.byteLength(json) > maxBytes) {
    throw invalid(`${field} is ${Buffer.byteLength(json)} bytes of JSON; the limit (maxMetadataBytes) is ${maxBytes}`);
  }
}

/** Deep-freezes a freshly parsed JSON value so that stored metadata cannot be changed by callers. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

export const EMPTY_METADATA: SessionMetadata = Object.freeze({});

// --- internal ---

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function assertJsonValue(value: unknown, path: string, depth: number, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(`${path} is ${value}, which JSON cannot represent`);
      return;
    case 'object': {
      if (value === null) return;
      if (depth >= MAX_DEPTH) throw invalid(`${path} is nested deeper than ${MAX_DEPTH} levels`);
      if (seen.has(value)) throw invalid(`${path} contains a circular reference`);
      if (!Array.isArray(value) && !isPlainObject(value)) {
        throw invalid(`${path} is a ${value.constructor?.name ?? 'non-plain object'}; only plain objects, arrays and JSON primitives are stored`);
      }
      seen.add(value);
      for (const [key, child] of Object.entries(value)) assertJsonValue(child, `${path}.${key}`, depth + 1, seen);
      seen.delete(value);
      return;
    }
    default:
      throw invalid(`${path} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, which JSON cannot represent`);
  }
}

function invalid(message: string): SessionError {
  return new SessionError('INVALID_METADATA', message);
}
