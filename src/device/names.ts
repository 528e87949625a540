/**
 * Friendly names. ua-parser-js 1.x reports names as they appear in user agents ("Mobile Chrome",
 * "Mac OS", "KAIOS", "android"); sessionkeeper shows people the product names they know, so a phone's
 * Chrome and a laptop's Chrome are both "Chrome" (the device class already says which is which).
 */

/** ua-parser-js browser name (lower-cased) → friendly name. Names not listed are kept as they are. */
const BROWSER_NAMES: Readonly<Record<string, string>> = {
  'mobile chrome': 'Chrome',
  chrome: 'Chrome',
  'chrome webview': 'Chrome WebView',
  'chrome headless': 'Headless Chrome',
  'mobile safari': 'Safari',
  mobilesafari: 'Safari',
  'mobile firefox': 'Firefox',
  fennec: 'Firefox',
  'opera mobi': 'Opera',
  'opera tablet': 'Opera',
  opera: 'Opera',
  ie: 'Internet Explorer',
  iemobile: 'Internet Explorer',
  edge: 'Edge',
  yandex: 'Yandex Browser',
  ucbrowser: 'UC Browser',
  qqbrowser: 'QQ Browser',
  'miui browser': 'MIUI Browser',
  naver: 'Naver',
  kakaotalk: 'KakaoTalk',
  maxthon: 'Maxthon',
  polaris: 'Polaris',
  obigo: 'Obigo',
  'up.browser': 'UP.Browser',
  brave: 'Brave',
  webkit: 'WebKit',
  weibo: 'Weibo',
  lbbrowser: 'LieBao',
  avant: 'Avant',
  'samsung internet': 'Samsung Internet',
  silk: 'Silk',
};

/** ua-parser-js OS name (lower-cased) → friendly name. */
const OS_NAMES: Readonly<Record<string, string>> = {
  'mac os': 'macOS',
  macos: 'macOS',
  'chromium os': 'ChromeOS',
  'chrome os': 'ChromeOS',
  chromeos: 'ChromeOS',
  android: 'Android',
  ios: 'iOS',
  webos: 'webOS',
  kaios: 'KaiOS',
  linux: 'Linux',
  // Smart-TV middleware that ua-parser-js reports in place of the OS: both run on Linux.
  nettv: 'Linux',
  netrange: 'Linux',
  'windows phone os': 'Windows Phone',
  blackberry: 'BlackBerry',
  'rim tablet os': 'BlackBerry Tablet OS',
  bada: 'Bada',
  playstation: 'PlayStation',
  viera: 'Viera',
  ubuntu: 'Ubuntu',
  arch: 'Arch Linux',
  mint: 'Linux Mint',
  series40: 'Series 40',
  haiku: 'Haiku',
  harmonyos: 'HarmonyOS',
  tizen: 'Tizen',
  windows: 'Windows',
};

/** Client-hint brand → friendly browser name (Sec-CH-UA uses marketing names). */
const HINT_BRANDS: Readonly<Record<string, string>> = {
  'google chrome': 'Chrome',
  chromium: 'Chromium',
  'microsoft edge': 'Edge',
  'microsoft edge webview2': 'Edge WebView2',
  opera: 'Opera',
  'opera gx': 'Opera GX',
  brave: 'Brave',
  'samsung internet': 'Samsung Internet',
  yandex: 'Yandex Browser',
  yabrowser: 'Yandex Browser',
  vivaldi: 'Vivaldi',
  'android webview': 'Chrome WebView',
  headlesschrome: 'Headless Chrome',
  'duckduckgo': 'DuckDuckGo',
  'huawei browser': 'Huawei Browser',
  'avast secure browser': 'Avast Secure Browser',
};

/** Client-hint platform → friendly OS name. */
const HINT_PLATFORMS: Readonly<Record<string, string>> = {
  windows: 'Windows',
  macos: 'macOS',
  'mac os x': 'macOS',
  linux: 'Linux',
  android: 'Android',
  ios: 'iOS',
  'chrome os': 'ChromeOS',
  'chromium os': 'ChromeOS',
  chromeos: 'ChromeOS',
  fuchsia: 'Fuchsia',
};

export function browserName(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  return known(BROWSER_NAMES, raw) ?? raw;
}

export function osName(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  return known(OS_NAMES, raw) ?? raw;
}

/** A client-hint brand as a friendly browser name, or null for brands we do not recognise. */
export function hintBrandName(brand: string): string | null {
  return known(HINT_BRANDS, brand);
}

/** A client-hint platform as a friendly OS name; unknown platforms are kept as sent. */
export function hintPlatformName(platform: string): string | null {
  if (platform === '' || /^unknown$/i.test(platform)) return null;
  return known(HINT_PLATFORMS, platform) ?? platform;
}

/** `131.0.6778.86` → `131`; null when there is no leading number. */
export function majorOf(version: string | null): string | null {
  if (version === null) return null;
  const match = /^\d+/.exec(version);
  return match ? match[0] : null;
}

// --- internal ---

/** The table's name for `raw` (any case), or null: own keys only, so a client sending `constructor` gets no Object.prototype member. */
function known(table: Readonly<Record<string, string>>, raw: string): string | null {
  const key = raw.toLowerCase();
  return Object.hasOwn(table, key) ? table[key]! : null;
}
