import { describe, expect, it } from 'vitest';
import { isGreaseBrand, parseBrandList, parseClientHints, readHintValues } from '../../src/device/client-hints.js';

describe('Sec-CH-UA brand lists', () => {
  it('parses a well-formed list', () => {
    expect(parseBrandList('"Chromium";v="131", "Google Chrome";v="131"')).toEqual([
      { brand: 'Chromium', version: '131' },
      { brand: 'Google Chrome', version: '131' },
    ]);
  });

  it.each(['Not A(Brand', ' Not A;Brand', 'Not.A/Brand', 'Not:A-Brand', 'Not-A.Brand', 'Not=A?Brand', 'Not_A Brand', 'Not)A;Brand', 'Not/A)Brand'])(
    'drops the GREASE brand %j',
    (grease) => {
      expect(isGreaseBrand(grease)).toBe(true);
      expect(parseBrandList(`"${grease}";v="99", "Chromium";v="131"`)).toEqual([{ brand: 'Chromium', version: '131' }]);
    },
  );

  it('keeps real brands that merely contain "Not" or "Brand"', () => {
    expect(isGreaseBrand('Notion')).toBe(false);
    expect(isGreaseBrand('BrandX Browser')).toBe(false);
  });

  it('accepts escapes, tokens, extra parameters and odd spacing', () => {
    expect(parseBrandList('"A \\"quoted\\" brand";v="1.2";x=y ,Token;v=3,  "B" ;v="4"')).toEqual([
      { brand: 'A "quoted" brand', version: '1.2' },
      { brand: 'Token', version: '3' },
      { brand: 'B', version: '4' },
    ]);
  });

  it('tolerates malformed input without throwing', () => {
    expect(parseBrandList('"unterminated;v="1')).toEqual([{ brand: 'unterminated;v=', version: null }]);
    expect(parseBrandList(';;;,,,')).toEqual([]);
    expect(parseBrandList('"A";v=""')).toEqual([{ brand: 'A', version: null }]);
    expect(parseBrandList('"A";v="1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17"')).toEqual([{ brand: 'A', version: null }]);
  });

  it('reads at most 16 brands', () => {
    expect(parseBrandList('"A";v="1", '.repeat(100))).toHaveLength(16);
  });
});

describe('hint headers', () => {
  it('are absent (null) when no hint header is sent, so the cache key stays the UA', () => {
    expect(readHintValues({ 'user-agent': 'x', accept: '*/*' })).toBeNull();
    expect(readHintValues(undefined)).toBeNull();
    expect(readHintValues('sec-ch-ua')).toBeNull();
  });

  it('bounds every value to 512 characters', () => {
    const values = readHintValues({ 'sec-ch-ua-model': 'x'.repeat(100_000) });
    expect(values?.every((value) => value.length <= 512)).toBe(true);
  });

  it('parses booleans, strings and versions', () => {
    const hints = parseClientHints(
      readHintValues({
        'sec-ch-ua-mobile': '?1',
        'sec-ch-ua-platform': 'Android',
        'sec-ch-ua-platform-version': '"14.0.0"',
        'sec-ch-ua-model': '"Pixel 8"',
        'sec-ch-ua-form-factors': '"Mobile", "XR"',
      })!,
    );
    expect(hints).toMatchObject({ mobile: true, platform: 'Android', platformVersion: '14.0.0', model: 'Pixel 8', formFactors: ['mobile', 'xr'] });
    expect(parseClientHints(readHintValues({ 'sec-ch-ua-mobile': '?0', 'sec-ch-ua-platform-version': 'garbage' })!)).toMatchObject({
      mobile: false,
      platformVersion: null,
    });
  });
});
