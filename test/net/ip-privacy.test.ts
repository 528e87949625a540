import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SessionError } from '../../src/errors.js';
import { createIpProtector, type IpProtectorOptions } from '../../src/net/index.js';

// Test keys, never secrets: 32 hex characters is the shortest string key accepted.
const KEY = '00112233445566778899aabbccddeeff';
const OTHER_KEY = 'ffeeddccbbaa99887766554433221100';
const HASHED = /^h:[A-Za-z0-9_-]{22}$/;

function configError(options: IpProtectorOptions): SessionError {
  try {
    createIpProtector(options);
  } catch (err) {
    if (err instanceof SessionError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('defaults', () => {
  it("is 'truncate' without a key, so a raw address is never stored by accident", () => {
    expect(createIpProtector()('203.0.113.7')).toBe('203.0.113.0');
    expect(createIpProtector({ ipHashKey: undefined })('203.0.113.7')).toBe('203.0.113.0');
    // null, as a config file would have it, means "not set" for both options.
    const fromConfig = { ipPrivacy: null, ipHashKey: null } as unknown as IpProtectorOptions;
    expect(createIpProtector(fromConfig)('203.0.113.7')).toBe('203.0.113.0');
  });

  it("is 'hash' when a key is configured", () => {
    expect(createIpProtector({ ipHashKey: KEY })('203.0.113.7')).toMatch(HASHED);
  });
});

describe("'truncate'", () => {
  const protect = createIpProtector({ ipPrivacy: 'truncate' });

  it.each([
    ['203.0.113.7', '203.0.113.0'],
    ['198.51.100.255', '198.51.100.0'],
    ['::ffff:192.0.2.33', '192.0.2.0'],
    ['2001:db8:85a3::8a2e:370:7334', '2001:db8:85a3::'],
    ['2001:DB8:85A3:1234:5678:8A2E:370:7334', '2001:db8:85a3::'],
    ['2001:db8::1', '2001:db8::'],
    ['2001:db8:0:1::1', '2001:db8::'],
    ['fe80::1%eth0', 'fe80::'],
  ])('keeps the network of %s: %s', (input, expected) => {
    expect(protect(input)).toBe(expected);
  });
});

describe("'hash'", () => {
  const protect = createIpProtector({ ipPrivacy: 'hash', ipHashKey: KEY });

  it("is 'h:' + 22 base64url characters (128 bits of HMAC-SHA256), with no trace of the address", () => {
    for (const ip of ['203.0.113.7', '2001:db8::7']) {
      const value = protect(ip);
      expect(value).toMatch(HASHED);
      expect(value).toHaveLength(24);
      expect(value).not.toContain(ip);
      expect(value).not.toContain('203');
    }
  });

  it('is the HMAC-SHA256 of the normalised address under the key, truncated to 16 bytes', () => {
    const expected = `h:${createHmac('sha256', KEY).update('2001:db8::7').digest().subarray(0, 16).toString('base64url')}`;
    expect(protect('2001:DB8:0:0:0:0:0:7')).toBe(expected);
  });

  it('is stable for one key and differs across keys', () => {
    expect(protect('203.0.113.7')).toBe(protect('203.0.113.7'));
    expect(createIpProtector({ ipHashKey: KEY })('203.0.113.7')).toBe(protect('203.0.113.7'));
    expect(createIpProtector({ ipHashKey: OTHER_KEY })('203.0.113.7')).not.toBe(protect('203.0.113.7'));
  });

  it('differs between addresses, even neighbours', () => {
    const values = new Set(['203.0.113.7', '203.0.113.8', '198.51.100.7', '2001:db8::7', '2001:db8::8'].map(protect));
    expect(values.size).toBe(5);
  });

  it('hashes every spelling of one address alike', () => {
    expect(protect('::ffff:203.0.113.7')).toBe(protect('203.0.113.7'));
    expect(protect('2001:0DB8::0007')).toBe(protect('2001:db8::7'));
    expect(protect('fe80::1%eth0')).toBe(protect('fe80::1'));
  });

  it('takes the key as a string (its UTF-8 bytes) or as bytes', () => {
    const bytes = createIpProtector({ ipHashKey: Buffer.from(KEY, 'utf8') });
    const array = createIpProtector({ ipHashKey: new Uint8Array(Buffer.from(KEY, 'utf8')) });
    expect(bytes('203.0.113.7')).toBe(protect('203.0.113.7'));
    expect(array('203.0.113.7')).toBe(protect('203.0.113.7'));
  });

  it('copies the key: changing the caller buffer afterwards changes nothing', () => {
    const key = Buffer.alloc(16, 7);
    const protectWithBuffer = createIpProtector({ ipHashKey: key });
    const before = protectWithBuffer('203.0.113.7');
    key.fill(0);
    expect(protectWithBuffer('203.0.113.7')).toBe(before);
  });

  it('accepts the minimum key sizes: 16 bytes, 32 characters', () => {
    expect(createIpProtector({ ipHashKey: Buffer.alloc(16, 1) })('203.0.113.7')).toMatch(HASHED);
    expect(createIpProtector({ ipHashKey: 'k'.repeat(32) })('203.0.113.7')).toMatch(HASHED);
  });
});

describe("'raw'", () => {
  const protect = createIpProtector({ ipPrivacy: 'raw' });

  it('keeps the whole address, normalised', () => {
    expect(protect('203.0.113.7')).toBe('203.0.113.7');
    expect(protect('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(protect('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(protect('fe80::1%eth0')).toBe('fe80::1');
  });

  it('ignores a configured key', () => {
    expect(createIpProtector({ ipPrivacy: 'raw', ipHashKey: KEY })('203.0.113.7')).toBe('203.0.113.7');
  });
});

describe('input that is not an address', () => {
  const protectors = {
    raw: createIpProtector({ ipPrivacy: 'raw' }),
    truncate: createIpProtector({ ipPrivacy: 'truncate' }),
    hash: createIpProtector({ ipPrivacy: 'hash', ipHashKey: KEY }),
  };

  it.each(Object.entries(protectors))('is null in %s mode, never an exception', (_, protect) => {
    for (const value of ['', 'unknown', '203.0.113', '127.1', '203.0.113.7:80', '[2001:db8::1]', 'x'.repeat(100_000)]) {
      expect(protect(value)).toBeNull();
    }
    expect(protect(null)).toBeNull();
    expect(protect(undefined)).toBeNull();
    for (const value of [42, {}, ['203.0.113.7']]) expect(protect(value as unknown as string)).toBeNull();
  });
});

describe('configuration', () => {
  it.each<[string, unknown, string]>([
    ['an unknown mode', { ipPrivacy: 'sha256' }, 'ipPrivacy'],
    ['a mode that is not a string', { ipPrivacy: 1 }, 'ipPrivacy'],
    ["'hash' without a key", { ipPrivacy: 'hash' }, 'ipHashKey'],
    ['a 31-character key', { ipHashKey: KEY.slice(1) }, 'ipHashKey'],
    ['an empty key (an unset environment variable read as "")', { ipHashKey: '' }, 'ipHashKey'],
    ['a 15-byte key', { ipHashKey: Buffer.alloc(15, 1) }, 'ipHashKey'],
    ['a key that is a number', { ipHashKey: 1234567890 }, 'ipHashKey'],
    ['a key that is an array', { ipHashKey: [...Buffer.alloc(32, 1)] }, 'ipHashKey'],
    ['a bad key with another mode', { ipPrivacy: 'truncate', ipHashKey: 'short' }, 'ipHashKey'],
  ])('rejects %s with INVALID_CONFIG naming the field', (_, options, field) => {
    const err = configError(options as IpProtectorOptions);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain(field);
  });

  it('never puts the key in an error message', () => {
    expect(configError({ ipHashKey: 'secret-but-short' }).message).not.toContain('secret');
  });
});
