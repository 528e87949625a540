import { describe, expect, it } from 'vitest';
import { SessionError } from '../../src/errors.js';
import { cleanText, isFieldValue, isStorableText, MAX_ID_LENGTH, optionalText, requireText } from '../../src/internal/text.js';

function invalid(action: () => unknown): SessionError {
  try {
    action();
  } catch (err) {
    expect(err).toBeInstanceOf(SessionError);
    expect((err as SessionError).code).toBe('INVALID_ARGUMENT');
    return err as SessionError;
  }
  throw new Error('expected INVALID_ARGUMENT, nothing was thrown');
}

describe('the one text rule', () => {
  it('isStorableText refuses NUL and lone surrogates, and accepts every other character', () => {
    expect(isStorableText('a\0b')).toBe(false);
    expect(isStorableText('\ud800')).toBe(false);
    expect(isStorableText('x\udc00y')).toBe(false);
    expect(isStorableText('tab\there, newline\n, emoji 😀, ü, \u0001')).toBe(true);
    expect(isStorableText('')).toBe(true);
  });

  it('requireText returns the value, or INVALID_ARGUMENT naming the field for empty, oversized, NUL, lone surrogates and non-strings', () => {
    expect(requireText('u1', 'userId')).toBe('u1');
    expect(requireText('x'.repeat(MAX_ID_LENGTH), 'userId')).toHaveLength(MAX_ID_LENGTH);
    for (const bad of ['', 'x'.repeat(MAX_ID_LENGTH + 1), 'a\0b', '\ud83d', 42, null, undefined, {}]) {
      expect(invalid(() => requireText(bad, 'userId')).message).toMatch(/^userId must be a non-empty string of at most 255 characters/);
    }
    expect(invalid(() => requireText('abcd', 'note', 3)).message).toContain('at most 3 characters');
  });

  it('optionalText maps undefined and null to null and holds the rest to the same rule', () => {
    expect(optionalText(undefined, 'tenantId')).toBeNull();
    expect(optionalText(null, 'tenantId')).toBeNull();
    expect(optionalText('', 'tenantId')).toBe('');
    expect(optionalText('t1', 'tenantId')).toBe('t1');
    for (const bad of ['t\0', '\udfff', 7, 'x'.repeat(256)]) invalid(() => optionalText(bad, 'tenantId'));
  });

  it('cleanText makes client text storable instead of refusing it', () => {
    expect(cleanText('GET')).toBe('GET');
    expect(cleanText('/a\0b')).toBe('/ab');
    expect(cleanText('x\ud800y')).toBe('x\ufffdy');
    expect(isStorableText(cleanText('\0\ud800\0'))).toBe(true);
  });

  it('isFieldValue accepts what a socket carries in a header and refuses control characters', () => {
    expect(isFieldValue('"Pixel 8"')).toBe(true);
    expect(isFieldValue('a\tb ~')).toBe(true);
    expect(isFieldValue('caf\u00e9')).toBe(true); // obs-text
    for (const bad of ['a\0b', 'line\nbreak', 'cr\r', '\u0001', '\u007f', '\u0100', '😀']) expect(isFieldValue(bad), JSON.stringify(bad)).toBe(false);
  });
});
