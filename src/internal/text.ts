import { invalidArgument } from '../errors.js';

/**
 * The one rule for text that reaches a store: ids, user ids, reasons, notes, alert text. Every
 * store must round-trip it exactly: Postgres refuses NUL in a text parameter (which would surface
 * as STORE_UNAVAILABLE, or fail an activity batch on every retry), and a lone surrogate has no UTF-8
 * form, so SQL stores would read back U+FFFD where the memory store returns the half character.
 */

/** The longest id (session, user, tenant, alert) and short text field any store accepts. */
export const MAX_ID_LENGTH = 255;

/** True when every store can hold `value` as it is: no NUL, no unpaired surrogate. */
export function isStorableText(value: string): boolean {
  return !value.includes('\0') && value.isWellFormed();
}

/**
 * `value` when it is a non-empty storable string of at most `maxLength` characters; otherwise
 * `INVALID_ARGUMENT` naming `field` (a caller's mistake, never a store failure).
 *
 * @example
 * const id = requireText(input, 'sessionId');
 */
export function requireText(value: unknown, field: string, maxLength = MAX_ID_LENGTH): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || !isStorableText(value)) {
    throw invalidArgument(`${field} must be a non-empty string of at most ${maxLength} characters, without NUL or unpaired surrogates`);
  }
  return value;
}

/** Like {@link requireText}, but `undefined` and `null` are `null`, and the empty string is allowed. */
export function optionalText(value: unknown, field: string, maxLength = MAX_ID_LENGTH): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > maxLength || !isStorableText(value)) {
    throw invalidArgument(`${field} must be a string of at most ${maxLength} characters, without NUL or unpaired surrogates`);
  }
  return value;
}

/**
 * What a client sent (a user agent, a request path), made storable rather than refused: NUL
 * removed, lone surrogates replaced by U+FFFD.
 */
export function cleanText(value: string): string {
  return isStorableText(value) ? value : value.replaceAll('\0', '').toWellFormed();
}

/**
 * True when `value` could be an HTTP field value as it arrives (RFC 9110 §5.5: visible ASCII,
 * space, tab and obs-text 0x80-0xFF): no NUL or other control character, nothing a socket could
 * not have carried. What a caller passes as headers by hand is held to the same rule.
 */
export function isFieldValue(value: string): boolean {
  return FIELD_VALUE.test(value);
}

// --- internal ---

const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
