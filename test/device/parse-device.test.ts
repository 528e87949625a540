import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { SessionError, type SessionDevice } from '../../src/index.js';
import { createDeviceParser, parseDevice, type DeviceHeaders, type DeviceInfo, type DeviceInput } from '../../src/device/index.js';
import { LruCache } from '../../src/internal/lru-cache.js';

const UA = {
  chromeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chromeMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chromeLinux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chromeOs: 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefoxWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  firefoxUbuntu: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  firefoxMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0',
  safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  edgeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86',
  safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  chromeIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
  safariIpad: 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  samsungPhone: 'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
  pixel: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
  samsungTablet: 'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  reducedPhone: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  reducedTablet: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
} as const;

const parse = (userAgent: unknown, headers?: unknown): DeviceInfo => parseDevice({ userAgent, headers } as DeviceInput);

describe('parseDevice: desktops', () => {
  it.each([
    [UA.chromeWindows, 'Chrome', 'Windows', 'Chrome 131 on Windows 10'],
    [UA.chromeMac, 'Chrome', 'macOS', 'Chrome 131 on macOS'],
    [UA.chromeLinux, 'Chrome', 'Linux', 'Chrome 131 on Linux'],
    [UA.chromeOs, 'Chrome', 'ChromeOS', 'Chrome 131 on ChromeOS'],
    [UA.firefoxWindows, 'Firefox', 'Windows', 'Firefox 133 on Windows 10'],
    [UA.firefoxUbuntu, 'Firefox', 'Ubuntu', 'Firefox 133 on Ubuntu'],
    [UA.firefoxMac, 'Firefox', 'macOS', 'Firefox 133 on macOS'],
    [UA.safariMac, 'Safari', 'macOS', 'Safari on macOS'],
    [UA.edgeWindows, 'Edge', 'Windows', 'Edge 131 on Windows 10'],
  ])('%s', (ua, browser, os, label) => {
    const device = parse(ua);
    expect(device).toMatchObject({ class: 'desktop', isBot: false, label, browser: { name: browser }, os: { name: os } });
  });

  it('reports engines and full versions', () => {
    expect(parse(UA.edgeWindows)).toMatchObject({ browser: { version: '131.0.2903.86' }, engine: { name: 'Blink' } });
    expect(parse(UA.firefoxWindows).engine.name).toBe('Gecko');
    expect(parse(UA.safariMac)).toMatchObject({ engine: { name: 'WebKit' }, os: { version: '10.15.7' } });
  });
});

describe('parseDevice: phones and tablets', () => {
  it('iPhone and iPad', () => {
    expect(parse(UA.safariIphone)).toMatchObject({ class: 'mobile', label: 'Safari on iPhone', os: { name: 'iOS', version: '18.1' }, vendor: 'Apple' });
    expect(parse(UA.chromeIphone)).toMatchObject({ class: 'mobile', label: 'Chrome 131 on iPhone' });
    // Apple calls iOS on iPads iPadOS from version 13.
    expect(parse(UA.safariIpad)).toMatchObject({ class: 'tablet', label: 'Safari on iPad', os: { name: 'iPadOS' } });
  });

  it('Android phones, with the model in the label', () => {
    expect(parse(UA.samsungPhone)).toMatchObject({
      class: 'mobile',
      label: 'Samsung Internet 25 on Android (SM-S918B)',
      vendor: 'Samsung',
      model: 'SM-S918B',
      os: { name: 'Android', version: '14' },
    });
    expect(parse(UA.pixel)).toMatchObject({ class: 'mobile', label: 'Chrome 131 on Android (Pixel 8)' });
  });

  it('Android tablets: by model family, and by the absence of "Mobile" (Chrome on tablets leaves it out)', () => {
    expect(parse(UA.samsungTablet).class).toBe('tablet');
    expect(parse(UA.reducedTablet).class).toBe('tablet');
    expect(parse(UA.reducedPhone).class).toBe('mobile');
    expect(parse('Mozilla/5.0 (Linux; Android 12; Lenovo TB-X606F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36').class).toBe('tablet');
    expect(parse('Mozilla/5.0 (Linux; Android 12; MatePad Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36').class).toBe('tablet');
  });

  it('Android 2.x "-update1" versions still expose the model slot', () => {
    expect(parse('Mozilla/5.0 (Linux; U; Android 2.1-update1; fr-fr; MID7099 Build/ECLAIR) AppleWebKit/530.17 (KHTML, like Gecko) Version/4.0 Mobile Safari/530.17')).toMatchObject({ class: 'tablet', model: 'MID7099' });
  });

  it('vendor tablet numbering holds even when the browser says "Mobile"', () => {
    const chromeMobile = (model: string) =>
      `Mozilla/5.0 (Linux; Android 14; ${model}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36`;
    for (const model of ['AGS6-L09', 'BAH5-AL00', 'DBY3-W09', 'KOB3-L09', 'LM-T700', 'LG-V960', 'YB2-X91F', 'HP Slate 12']) {
      expect(parse(chromeMobile(model)).class, model).toBe('tablet');
    }
    for (const model of ['TB399FU', '25011RP7AG', 'OPD2599', 'B1-799', 'BQ-7099G', 'iPA2599']) {
      expect(parse(chromeMobile(model)).class, model).toBe('tablet');
    }
    expect(parse('Mozilla/5.0(Linux; Android 7.0; ACME-L42 Build/ACME-L42)AppleWebKit/537.36(KHTML, like Gecko)Chrome/61.0.3163.98MobileSafari/537.36').class).toBe('mobile');
    // A model ua-parser-js takes for a tablet, in a browser that says "Mobile", is a phone.
    expect(parse(chromeMobile('Y85 Build/OPM1.171019.011')).class).toBe('mobile');
    // Huawei phones use the same XXX-AL00 shape with other prefixes.
    expect(parse(chromeMobile('ELE-L29')).class).toBe('mobile');
  });

  it('Fire TV, ViziOS and YouView platform tokens are TVs', () => {
    expect(parse('Amazon;AFTABC123;0123456789abcdef;;tpapi').class).toBe('tv');
    expect(parse('VIZIO V999-Z01 ViziOS/1.4.0 SomeApp/1.0').class).toBe('tv');
    expect(parse('YouViewHTML/1.0 AppleWebKit/538.1 (Acme; ZX1; 1; CDS/1.0; API/3.1.5; PS/3.5.20)').class).toBe('tv');
    expect(parse('Gibbon/2020.2.2.0: Netflix/2020.2.2.0 (DEVTYPE=NFANDROID2-PRV-FIRETVSTICK2030; CERTVER=0)').class).toBe('tv');
  });

  it('an Android TV build ID (T branch) or a 4K TV product name is a TV, "Mobile" or not', () => {
    expect(parse('Mozilla/5.0 (Linux; Android 12; Acme Box Build/STT9.240101.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36').class).toBe('tv');
    expect(parse('Dalvik/2.1.0 (Linux; U; Android 11; ACME Q1 Build/RTT5.230501.002)').class).toBe('tv');
    expect(parse('Mozilla/5.0 (Linux; Android 11; Acme 4K TV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36').class).toBe('tv');
    expect(parse('Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36').class).toBe('mobile');
  });

  it('a TV size code after a brand and series prefix is a TV only in a browser UA without "Mobile"', () => {
    const chrome = (model: string, mobile = '') =>
      `Mozilla/5.0 (Linux; Android 11; ${model}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 ${mobile}Safari/537.36`;
    expect(parse(chrome('ACME_K_43XY12TC-SM')).class).toBe('tv');
    expect(parse(chrome('55ABC_1234')).class).toBe('tv');
    expect(parse(chrome('AB43A4000', 'Mobile ')).class).toBe('mobile');
    expect(parse(chrome('Acmebox_X20')).class).toBe('tv');
    expect(parse(chrome('Acme ATV2000')).class).toBe('tv');
    expect(parse(chrome('Turbox_S9', 'Mobile ')).class).toBe('mobile');
    // Tablet makers write 7 to 9.7 inch screens as 70 to 97: not TV sizes here.
    expect(parse(chrome('T72HA3G')).class).toBe('tablet');
  });

  it('a phone brand that contains "bot" is not a bot', () => {
    const device = parse('Mozilla/5.0 (Linux; Android 13; CUBOT KINGKONG 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36');
    expect(device).toMatchObject({ class: 'mobile', isBot: false });
  });

  it('an app that uses okhttp underneath is the app, not a bot', () => {
    const device = parse('NRC Audio/2.0.0 (nl.nrc.audio; build:29; Android 12; Sdk:31; Manufacturer:samsung; Model: SM-G975F) OkHttp/4.9.3');
    expect(device.isBot).toBe(false);
  });
});

describe('parseDevice: TVs, consoles, wearables, embedded', () => {
  it.each([
    ['Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36'],
    ['Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager'],
    ['Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0.4430.225 Safari/537.36 CrKey/1.56.500000'],
    ['Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.102 Mobile Safari/537.36'],
    ['Roku/DVP-9.10 (519.10E04111A)'],
    ['Mozilla/5.0 (Linux; Android 9; BRAVIA 4K GB ATV3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'],
    ['Mozilla/5.0 (Linux; Android 11; 55UQ7500) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36'],
    ['Mozilla/5.0 (Linux; Android 9; X96 Max) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.0.0 Safari/537.36'],
    ['HbbTV/1.5.1 (+DRM; Vestel; MB130; 3.0; 1.0; ; ) CE-HTML/1.0'],
  ])('TV: %s', (ua) => {
    expect(parse(ua).class).toBe('tv');
  });

  it.each([
    ['Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15', 'Safari on PlayStation 5'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041', 'Edge 18 on Xbox One'],
    ['Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/609.4 (KHTML, like Gecko) NF/6.0.2.21.3 NintendoBrowser/5.1.0.22474', null],
  ])('console: %s', (ua, label) => {
    const device = parse(ua);
    expect(device.class).toBe('console');
    if (label !== null) expect(device.label).toBe(label);
  });

  it.each([
    ['Mozilla/5.0 (Linux; Android 11; Pixel Watch) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/110.0.0.0 Mobile Safari/537.36'],
    ['Mozilla/5.0 (Linux; Android 9; TicWatch Pro S) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/77.0.3865.92 Mobile Safari/537.36'],
    ['Darwin/24.5.0 (Watch7,8; watchOS 11.4) MyApp/1.0'],
    ['Mozilla/5.0 (X11; Linux x86_64; Quest 3) AppleWebKit/537.36 (KHTML, like Gecko) OculusBrowser/32.1.0.37 Chrome/122.0.6261.64 VR Safari/537.36'],
  ])('wearable: %s', (ua) => {
    expect(parse(ua).class).toBe('wearable');
  });

  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.127 Safari/537.36 Tesla/2022.20.8'],
    ['Mozilla/5.0 (Linux; Android 12; en-us; DiLink5.0 For BYD AUTO Build/SKQ1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.5414.86 Safari/537.36'],
    ['AppleCoreMedia/1.0.0.15F80 (HomePod; U; CPU OS 11_4 like Mac OS X; fr_fr)'],
    ['Mozilla/5.0 (Linux; Android 10; Raspberry Pi 4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0.4430.91 Safari/537.36'],
  ])('embedded: %s', (ua) => {
    expect(parse(ua).class).toBe('embedded');
  });

  it('Kindle e-readers and Fire tablets are tablets', () => {
    expect(parse('Mozilla/5.0 (X11; U; Linux armv7l like Android; en-us) AppleWebKit/531.2+ (KHTML, like Gecko) Version/5.0 Safari/531.2+ Kindle/3.0+').class).toBe('tablet');
    expect(parse('Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.4.1 like Chrome/120.0.6099.230 Safari/537.36').class).toBe('tablet');
  });
});

describe('parseDevice: bots and non-browser clients', () => {
  it.each([
    ['curl/8.4.0', 'curl'],
    ['Wget/1.21.4', 'Wget'],
    ['python-requests/2.31.0', 'python-requests'],
    ['Python-urllib/3.11', 'Python-urllib'],
    ['Go-http-client/2.0', 'Go-http-client'],
    ['okhttp/4.12.0', 'okhttp'],
    ['axios/1.6.2', 'axios'],
    ['Java/17.0.9', 'Java'],
    ['Apache-HttpClient/4.5.14 (Java/17.0.9)', 'Apache-HttpClient'],
    ['PostmanRuntime/7.36.0', 'PostmanRuntime'],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Googlebot'],
    [
      'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      'Googlebot',
    ],
    ['Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', 'bingbot'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36', 'HeadlessChrome'],
    ['Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1', 'PhantomJS'],
    ['facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', 'facebookexternalhit'],
    ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'Slackbot-LinkExpanding'],
    ['Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)', 'UptimeRobot'],
    ['Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)', 'Pingdom.com_bot_version_1.4'],
    ['Feedly/1.0 (+http://www.feedly.com/fetcher.html; 12 subscribers; like FeedFetcher-Google)', 'Feedly'],
    ['Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)', 'Slurp'],
    ['Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)', 'Baiduspider'],
    ['Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)', 'GPTBot'],
  ])('%s', (ua, name) => {
    const device = parse(ua);
    expect(device).toMatchObject({ class: 'bot', isBot: true, label: name, browser: { name } });
  });

  it('catches bots by convention, not by name: a bot that did not exist when this was written', () => {
    expect(parse('Mozilla/5.0 (compatible; Zwx2Crawler/0.1; +https://zwx2.example/about)').isBot).toBe(true);
    expect(parse('AcmeLinkChecker/3.2').isBot).toBe(true);
    expect(parse('Mozilla/5.0 (compatible; AcmeMetrics/1.0)').isBot).toBe(true);
    expect(parse('SomeTool/1.0 (contact: ops@example.org)').isBot).toBe(true);
    expect(parse('zwx2.example.com/v2.1').isBot).toBe(true);
    expect(parse('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36; Zwx/1.0; +zwx.ai').isBot).toBe(true);
    expect(parse('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko; compatible; Zwx/2.0) Chrome/120.0.0.0 Safari/537.36')).toMatchObject({ class: 'bot', browser: { name: 'Zwx', version: '2.0' } });
    // A full WebKit trail behind an unknown platform name is a browser (a set-top box's firmware).
    expect(parse('Mozilla/5.0 (Acme;ZX900;3.1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15').isBot).toBe(false);
    // A reverse-DNS app id and an app that names its platform are apps.
    expect(parse('de.example.android.app/10 (9.7)').isBot).toBe(false);
    expect(parse('radio.example.com/5.1 (Linux;Android 13) ExoPlayerLib/2.18.2').isBot).toBe(false);
  });

  it('Sec-CH-UA naming HeadlessChrome marks a bot even when the UA was rewritten', () => {
    const device = parse(UA.chromeLinux, { 'sec-ch-ua': '"HeadlessChrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"' });
    expect(device.isBot).toBe(true);
  });

  it('no ordinary browser is called a bot', () => {
    for (const ua of Object.values(UA)) expect(parse(ua).isBot, ua).toBe(false);
  });
});

describe('parseDevice: User-Agent Client Hints', () => {
  const chromeHints = {
    'sec-ch-ua': '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
    'sec-ch-ua-mobile': '?0',
    'sec-ch-ua-platform': '"Windows"',
  };

  it('a Windows platform version of 13 or more is Windows 11 (the UA says 10.0 either way)', () => {
    expect(parse(UA.chromeWindows, { ...chromeHints, 'sec-ch-ua-platform-version': '"15.0.0"' })).toMatchObject({
      os: { name: 'Windows', version: '11' },
      label: 'Chrome 131 on Windows 11',
    });
    expect(parse(UA.chromeWindows, { ...chromeHints, 'sec-ch-ua-platform-version': '"10.0.0"' }).os.version).toBe('10');
    expect(parse(UA.chromeWindows, { ...chromeHints, 'sec-ch-ua-platform-version': '"0.3.0"' }).os.version).toBe('8.1');
  });

  it('replaces the reduced Android model "K" with Sec-CH-UA-Model, and the frozen Android 10', () => {
    const device = parse(UA.reducedPhone, {
      'sec-ch-ua-model': '"SM-S918B"',
      'sec-ch-ua-platform': '"Android"',
      'sec-ch-ua-platform-version': '"14.0.0"',
      'sec-ch-ua-mobile': '?1',
    });
    expect(device).toMatchObject({ class: 'mobile', model: 'SM-S918B', vendor: 'Samsung', os: { name: 'Android', version: '14' } });
    expect(device.label).toBe('Chrome 131 on Android (SM-S918B)');
    expect(parse(UA.reducedPhone).model).toBeNull();
  });

  it('Sec-CH-UA-Mobile decides phone or tablet for a reduced Android UA', () => {
    expect(parse(UA.reducedTablet, { 'sec-ch-ua-mobile': '?1' }).class).toBe('mobile');
    expect(parse(UA.reducedPhone, { 'sec-ch-ua-mobile': '?0', 'sec-ch-ua-platform': '"Android"' }).class).toBe('tablet');
  });

  it('a hinted model goes through the same TV and tablet rules', () => {
    expect(parse(UA.reducedTablet, { 'sec-ch-ua-model': '"SM-X710"', 'sec-ch-ua-mobile': '?0' }).class).toBe('tablet');
    expect(parse(UA.reducedTablet, { 'sec-ch-ua-model': '"55UQ7500"', 'sec-ch-ua-mobile': '?0' }).class).toBe('tv');
  });

  it('takes the browser version from the full version list, skipping GREASE brands', () => {
    const device = parse(UA.chromeWindows, {
      ...chromeHints,
      'sec-ch-ua-full-version-list': '"Not A(Brand";v="99.0.0.0", "Google Chrome";v="131.0.6778.86", "Chromium";v="131.0.6778.86"',
    });
    expect(device.browser).toEqual({ name: 'Chrome', version: '131.0.6778.86' });
  });

  it('names the browser that the UA hides: Brave sends a plain Chrome UA', () => {
    const device = parse(UA.chromeWindows, { 'sec-ch-ua': '"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"' });
    expect(device.browser.name).toBe('Brave');
    expect(device.label).toBe('Brave 131 on Windows 10');
  });

  it('Sec-CH-UA-Form-Factors wins when sent', () => {
    expect(parse(UA.chromeLinux, { 'sec-ch-ua-form-factors': '"XR"' }).class).toBe('wearable');
    expect(parse(UA.reducedTablet, { 'sec-ch-ua-form-factors': '"Tablet"' }).class).toBe('tablet');
  });

  it('reads header names in any case, repeated headers, and WHATWG Headers', () => {
    const model = { 'Sec-CH-UA-Model': '"Pixel 8"', 'SEC-CH-UA-MOBILE': '?1' };
    expect(parse(UA.reducedTablet, model)).toMatchObject({ class: 'mobile', model: 'Pixel 8' });
    expect(parse(UA.reducedTablet, new Headers(model))).toMatchObject({ class: 'mobile', model: 'Pixel 8' });
    const split = { 'sec-ch-ua-full-version-list': ['"Google Chrome";v="131.0.6778.86"', '"Chromium";v="131.0.6778.86"'] };
    expect(parse(UA.chromeWindows, split).browser.version).toBe('131.0.6778.86');
  });

  it('survives malformed and oversized hints', () => {
    const cases: Array<Record<string, unknown>> = [
      { 'sec-ch-ua': '"unterminated;v="1' },
      { 'sec-ch-ua': ';;;,,,"";v=' },
      { 'sec-ch-ua-platform-version': '"not a version"' },
      { 'sec-ch-ua-mobile': 'maybe' },
      { 'sec-ch-ua-model': 42 },
      { 'sec-ch-ua-full-version-list': '"A";v="1", '.repeat(20_000) },
      { 'sec-ch-ua-model': '"'.repeat(100_000) },
    ];
    for (const headers of cases) {
      const device = parse(UA.chromeWindows, headers);
      expect(device.class).toBe('desktop');
    }
  });

  it('a request with hints but no User-Agent still gets what the hints say', () => {
    expect(parse(undefined, { 'sec-ch-ua-platform': '"macOS"', 'sec-ch-ua-mobile': '?0' })).toMatchObject({ class: 'desktop', os: { name: 'macOS' } });
  });
});

describe('parseDevice: cache, immutability, bounds', () => {
  it('returns the same frozen object for a repeated request', () => {
    const first = parse(UA.pixel);
    const second = parse(UA.pixel);
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.browser) && Object.isFrozen(first.engine) && Object.isFrozen(first.os)).toBe(true);
    expect(() => {
      (first as { class: string }).class = 'bot';
    }).toThrow(TypeError);
  });

  it('keys the cache by user agent and hints together', () => {
    const plain = parse(UA.reducedPhone);
    const hinted = parse(UA.reducedPhone, { 'sec-ch-ua-model': '"Pixel 8"' });
    expect(hinted).not.toBe(plain);
    expect(parse(UA.reducedPhone, { 'sec-ch-ua-model': '"Pixel 8"' })).toBe(hinted);
  });

  it('keeps recently used entries and drops the others (bounded)', () => {
    const parser = createDeviceParser({ cacheSize: 10 });
    const uas = Array.from({ length: 9 }, (_, i) => `Mozilla/5.0 (Linux; Android 14; Model ${i}) AppleWebKit/537.36 Chrome/131.0.0.0 Mobile Safari/537.36`);
    const first = uas.slice(0, 5).map((userAgent) => parser.parse({ userAgent }));
    expect(parser.parse({ userAgent: uas[0] })).toBe(first[0]); // used again
    for (const userAgent of uas.slice(5)) parser.parse({ userAgent });
    expect(parser.parse({ userAgent: uas[0] })).toBe(first[0]);
    expect(parser.parse({ userAgent: uas[1] })).not.toBe(first[1]);
  });

  it('never holds more than cacheSize entries', () => {
    const cache = new LruCache<number>(100);
    for (let i = 0; i < 10_000; i++) {
      cache.set(`k${i}`, i);
      if (i % 7 === 0) cache.get(`k${i >> 1}`);
      expect(cache.size).toBeLessThanOrEqual(100);
    }
  });

  it('cacheSize 0 disables the cache; a bad cacheSize is INVALID_CONFIG', () => {
    const parser = createDeviceParser({ cacheSize: 0 });
    const a = parser.parse({ userAgent: UA.pixel });
    const b = parser.parse({ userAgent: UA.pixel });
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
    for (const cacheSize of [-1, 1.5, Number.NaN, 2_000_000, '10' as unknown as number]) {
      expect(() => createDeviceParser({ cacheSize })).toThrow(SessionError);
      try {
        createDeviceParser({ cacheSize });
      } catch (err) {
        expect((err as SessionError).code).toBe('INVALID_CONFIG');
      }
    }
  });

  it('cuts user agents to 512 characters before parsing', () => {
    const padded = `${UA.chromeWindows}${' x'.repeat(300)}`;
    const cutAt512 = padded.slice(0, 512);
    expect(parse(padded)).toBe(parse(cutAt512));
    // Never between the halves of a surrogate pair, as the session manager stores it.
    const emojiAtTheCut = `${UA.chromeWindows.padEnd(511, ' ')}\u{1F600} tail`;
    expect(parse(emojiAtTheCut)).toBe(parse(emojiAtTheCut.slice(0, 511)));
  });

  it('a 100 KB hostile string parses quickly (safety net: 50 ms; the bench measures the real figure)', () => {
    const parser = createDeviceParser({ cacheSize: 0 });
    const fill = (unit: string) => unit.repeat(Math.ceil(100_000 / unit.length)).slice(0, 100_000);
    const hostile = [fill('a'), fill('Mozilla/5.0 ('), fill('Android 1; '), `Mozilla/5.0 (Linux; Android 10; ${fill('X')}`, fill('a.a@a'), fill('bot '), fill('http://'), fill(' ;')];
    for (const userAgent of hostile) {
      const started = performance.now();
      parser.parse({ userAgent, headers: { 'sec-ch-ua': userAgent, 'sec-ch-ua-model': userAgent } });
      expect(performance.now() - started).toBeLessThan(50);
    }
  });

  it('garbage input is class unknown, never an exception', () => {
    const inputs: unknown[] = [null, undefined, 42, 'a string', [], {}, { userAgent: null }, { userAgent: 42 }, { userAgent: '' }, { userAgent: {} }, { headers: 'x' }, { userAgent: ['a'] }];
    for (const input of inputs) {
      const device = parseDevice(input as DeviceInput);
      expect(device.class).toBe('unknown');
      expect(device.label).toBe('Unknown device');
    }
    const throwingHeaders = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('boom');
        },
      },
    );
    expect(parse(UA.pixel, throwingHeaders).class).toBe('unknown');
    expect(parse('\u0000\uffff\ud800 ;;; ((( ))) /// ').class).toBe('unknown');
  });
});

describe('parseDevice: fingerprint', () => {
  const at = (version: string) => parse(UA.pixel.replace('131.0.6778.81', version)).fingerprint;

  it('is a short stable string of the coarse traits', () => {
    expect(at('131.0.6778.81')).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(createDeviceParser({ cacheSize: 0 }).parse({ userAgent: UA.pixel }).fingerprint).toBe(parse(UA.pixel).fingerprint);
  });

  it('survives minor browser updates and changes with the major version', () => {
    expect(at('131.0.6778.200')).toBe(at('131.0.6778.81'));
    expect(at('132.0.6834.57')).not.toBe(at('131.0.6778.81'));
  });

  it('differs between devices', () => {
    const fingerprints = new Set([UA.pixel, UA.samsungPhone, UA.chromeWindows, UA.chromeMac, UA.safariIphone, UA.safariIpad].map((ua) => parse(ua).fingerprint));
    expect(fingerprints.size).toBe(6);
  });

  it('Windows 10 to 11 is the same device (the OS version is not a trait)', () => {
    const ten = parse(UA.chromeWindows, { 'sec-ch-ua-platform': '"Windows"', 'sec-ch-ua-platform-version': '"10.0.0"' });
    const eleven = parse(UA.chromeWindows, { 'sec-ch-ua-platform': '"Windows"', 'sec-ch-ua-platform-version': '"15.0.0"' });
    expect(eleven.fingerprint).toBe(ten.fingerprint);
  });
});

describe('DeviceInfo', () => {
  it('is assignable to SessionDevice, so it can be stored on a session as it is', () => {
    expectTypeOf<DeviceInfo>().toExtend<SessionDevice>();
    const device: SessionDevice = parse(UA.chromeMac);
    expect(device.class).toBe('desktop');
    expect(JSON.parse(JSON.stringify(device))).toEqual(device);
  });

  it('accepts the header objects Node and fetch hand over', () => {
    expectTypeOf<IncomingHttpHeaders>().toExtend<DeviceHeaders>();
    expectTypeOf<Headers>().toExtend<DeviceHeaders>();
  });
});
