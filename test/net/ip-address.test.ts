import { describe, expect, it } from 'vitest';
import { normalizeIp } from '../../src/net/index.js';

describe('normalizeIp', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['0.0.0.0', '0.0.0.0'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '2001:db8:85a3::8a2e:370:7334'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // RFC 5952: the first of two equal zero runs
    ['::1', '::1'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:CB00:7107', '203.0.113.7'],
    ['fe80::1%eth0', 'fe80::1'],
    ['fe80::1%25en0', 'fe80::1'],
    ['2001:db8::192.0.2.1', '2001:db8::c000:201'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  it.each([
    '',
    ' 203.0.113.7',
    '203.0.113.7 ',
    '203.0.113',
    '203.0.113.256',
    '127.1', // inet_aton shorthand
    '0x7f.0.0.1',
    '010.0.0.1', // octal for 8.0.0.1 to some parsers
    '1',
    '203.0.113.7:80',
    '[2001:db8::1]',
    '2001:db8::1::1',
    '2001:db8::g',
    'fe80::1%',
    'fe80::1%eth 0',
    'unknown',
    '_hidden',
    `2001:db8::1%${'a'.repeat(200)}`,
    '1'.repeat(10_000),
  ])('rejects %j', (input) => {
    expect(normalizeIp(input)).toBeNull();
  });

  it('returns null for values that are not strings', () => {
    for (const value of [undefined, null, 42, {}, ['203.0.113.7'], Symbol('x')]) expect(normalizeIp(value)).toBeNull();
  });
});
