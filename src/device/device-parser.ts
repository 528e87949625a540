import { hash } from 'node:crypto';
import UAParser from 'ua-parser-js';
import type { DeviceClass } from '../contracts.js';
import { invalidConfig, SessionError } from '../errors.js';
import { detectBot, detectUnidentifiedBot } from './bot-rules.js';
import { parseClientHints, readHintValues, type ClientHints } from './client-hints.js';
import { fallbackOs, inferClass } from './device-class.js';
import { LruCache } from '../internal/lru-cache.js';
import { browserName, hintBrandName, hintPlatformName, majorOf, osName } from './names.js';

/** User agents are cut to this many characters before parsing (as sessions store them). */
export const MAX_USER_AGENT_LENGTH = 512;
const DEFAULT_CACHE_SIZE = 5_000;
const MAX_CACHE_SIZE = 1_000_000;

/**
 * Request headers in any of the usual shapes: Node's `IncomingHttpHeaders`, a plain object with keys
 * in any case, or a WHATWG `Headers`. Only the `Sec-CH-UA*` client hints are read.
 */
export type DeviceHeaders =
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | { get(name: string): string | null };

/** What {@link parseDevice} reads. Both fields are optional; anything malformed is ignored. */
export interface DeviceInput {
  /** The `User-Agent` header. Cut to 512 characters. */
  readonly userAgent?: string | null | undefined;
  /** The request headers, for User-Agent Client Hints (`Sec-CH-UA`, `Sec-CH-UA-Platform`, ...). */
  readonly headers?: DeviceHeaders | null | undefined;
}

/** A name and version pair; either is null when unknown. */
export interface NameVersion {
  readonly name: string | null;
  readonly version: string | null;
}

/**
 * What is known about the client behind a request. Frozen, and assignable to `SessionDevice`, so it
 * can be passed to `sessions.create({ device })` as it is. Strings are null when unknown.
 */
export type DeviceInfo = {
  readonly class: DeviceClass;
  /** For bots, the bot's own product name and version (`Googlebot` `2.1`, `curl` `8.4.0`). */
  readonly browser: NameVersion;
  /** Rendering engine: `Blink`, `WebKit`, `Gecko`, `Trident`, ... */
  readonly engine: NameVersion;
  /** Friendly OS name (`Windows`, `macOS`, `iOS`, `iPadOS`, `Android`, `Linux`, `ChromeOS`, ...) and version (`11`, `14.2`). */
  readonly os: NameVersion;
  readonly vendor: string | null;
  readonly model: string | null;
  readonly isBot: boolean;
  /** For people: `Chrome 131 on macOS`, `Safari on iPhone`, `Googlebot`, `Samsung Internet 25 on Android (SM-S918B)`. */
  readonly label: string;
  /**
   * 16 base64url characters (96 bits of SHA-256) over the coarse traits: class, browser name and
   * major version, OS name, vendor and model. Minor browser and OS updates leave it unchanged, so it
   * can tell "the same device as before" from "a new device" without storing the user agent.
   */
  readonly fingerprint: string;
};

export interface DeviceParserOptions {
  /**
   * How many distinct (user agent, client hints) combinations are kept parsed, at most. Recently
   * used ones are kept and the others dropped (an approximate LRU). Default 5,000, about 4 MB;
   * `0` disables the cache. A cached result is the same frozen object each time.
   */
  readonly cacheSize?: number;
}

export interface DeviceParser {
  /** Parses one request's device. Never throws; unusable input gives class `'unknown'`. */
  parse(input: DeviceInput): DeviceInfo;
  /** Empties the cache. */
  clearCache(): void;
}

/**
 * Creates a device parser with its own cache. Use {@link parseDevice} unless you need a different
 * cache size or an isolated cache.
 *
 * @throws SessionError `INVALID_CONFIG` when `cacheSize` is not an integer from 0 to 1,000,000.
 *
 * @example
 * const devices = createDeviceParser({ cacheSize: 20_000 });
 * const device = devices.parse({ userAgent: req.headers['user-agent'], headers: req.headers });
 */
export function createDeviceParser(options: DeviceParserOptions = {}): DeviceParser {
  const cacheSize = options?.cacheSize ?? DEFAULT_CACHE_SIZE;
  if (!Number.isSafeInteger(cacheSize) || cacheSize < 0 || cacheSize > MAX_CACHE_SIZE) {
    invalidConfig('createDeviceParser: cacheSize', `must be an integer from 0 to ${MAX_CACHE_SIZE}; got ${typeof cacheSize === 'number' ? cacheSize : typeof cacheSize}`);
  }
  const cache = new LruCache<DeviceInfo>(cacheSize);
  const ua = new UAParser();
  return {
    parse(input: DeviceInput): DeviceInfo {
      try {
        const userAgent = userAgentOf(input);
        const hintValues = readHintValues((input as { headers?: unknown } | null | undefined)?.headers);
        if (userAgent === '' && hintValues === null) return UNKNOWN_DEVICE;
        // Hint-less requests (most of them) are keyed by the UA alone. A hinted key starts with the
        // separator, which a UA never does once trimmed to a header value, so the two cannot collide.
        const key = hintValues === null ? userAgent : hintKey(userAgent, hintValues);
        const cached = cache.get(key);
        if (cached !== undefined) return cached;
        const device = analyse(ua, userAgent, hintValues === null ? null : parseClientHints(hintValues));
        cache.set(key, device);
        return device;
      } catch {
        // Request paths must not fail because of a header; an unparseable client is just unknown.
        return UNKNOWN_DEVICE;
      }
    },
    clearCache(): void {
      cache.clear();
    },
  };
}

const defaultParser = createDeviceParser();

/**
 * Describes the device behind a request from its `User-Agent` and, when sent, its User-Agent Client
 * Hints: class (desktop, mobile, tablet, tv, console, wearable, embedded, bot, unknown), browser,
 * engine, OS, vendor, model, a label for people and a fingerprint of the coarse traits. Never throws;
 * results are frozen and cached (5,000 entries; see {@link createDeviceParser}).
 *
 * @example
 * const device = parseDevice({ userAgent: req.headers['user-agent'], headers: req.headers });
 * device.class // 'desktop'
 * device.label // 'Chrome 131 on Windows 11'
 * if (device.isBot) return skipSession();
 */
export function parseDevice(input: DeviceInput): DeviceInfo {
  return defaultParser.parse(input);
}

// --- internal ---

function userAgentOf(input: unknown): string {
  if (input === null || typeof input !== 'object') return '';
  const raw = (input as { userAgent?: unknown }).userAgent;
  if (typeof raw !== 'string') return '';
  if (raw.length <= MAX_USER_AGENT_LENGTH) return raw;
  // Cut where the session manager cuts the stored UA (never inside a surrogate pair), so a UA read
  // back from a session parses to the same device as the request it came from.
  const last = raw.charCodeAt(MAX_USER_AGENT_LENGTH - 1);
  return raw.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_USER_AGENT_LENGTH - 1 : MAX_USER_AGENT_LENGTH);
}

/** One `join` builds a flat string; a template literal would build a rope that Map.get must flatten. */
function hintKey(userAgent: string, v: readonly string[]): string {
  return ['', userAgent, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]].join('\u0000');
}

/** Android's model slot: `Android 14; SM-S918B Build/...)`, skipping `U;` and locale entries. */
const ANDROID_SLOT = /\bandr[o0]id[ /]?[\d.]*(?:-update\d{0,2})?;((?:[^;)]{0,40};){0,3}[^;)]{0,80})/i;
const SLOT_NOISE = /^(?:u|[a-z]{2,3}(?:[-_][a-z]{2,4}){0,2}|wv|mobile|tablet|arm(?:_64)?|linux|k)$/i;
const BUILD_SUFFIX = /\s+(?:build\/|miui\/|ui\/|applewebkit\b|khtml\b).*$/i;
const CHROME_VERSION = /\bChrome\/(\d+(?:\.\d+)*)/;
const ANDROID_TOKEN = /\b(?:andr[o0]id|adr)[ /]?(\d+(?:\.\d+)*)/i;
/** Windows Phone as UC Browser ("wds 8.10") and the Xbox/Zune-era WP7 builds ("ZuneWP7") write it. */
const WINDOWS_PHONE_TOKEN = /\bwds \d|\bwp7\b|zunewp7|windows phone/i;
/** Darwin on a Mac: an Intel architecture tag or a Mac model in the app's UA. */
const MAC_DARWIN = /\bx86_64\b|\b(?:macbook\w*|imac\w*|macmini\w*|macpro\w*)[%\d,]/i;

function androidModelSlot(ua: string): string | null {
  const match = ANDROID_SLOT.exec(ua);
  if (match?.[1] === undefined) return null;
  for (const part of match[1].split(';')) {
    const candidate = part.replace(BUILD_SUFFIX, '').trim();
    if (candidate !== '' && !SLOT_NOISE.test(candidate)) return candidate;
  }
  return null;
}

function analyse(parser: UAParser, ua: string, hints: ClientHints | null): DeviceInfo {
  parser.setUA(ua);
  const b = parser.getBrowser();
  const e = parser.getEngine();
  const o = parser.getOS();
  const d = parser.getDevice();

  // "like Android" (Kindle e-readers) is a compatibility claim, not the platform.
  let os: string | null = (osName(o.name) === 'Android' && /like android/i.test(ua) ? null : osName(o.name)) ?? fallbackOs(ua);
  // ua-parser-js sometimes puts a word where the version goes (webOS "TV"); keep numbers only.
  let osVersion: string | null = o.version !== undefined && /^\d/.test(o.version) ? o.version : null;
  let vendor: string | null = d.vendor === undefined || d.vendor === 'Generic' ? null : d.vendor;
  let model: string | null = d.model === undefined || d.model === 'K' ? null : d.model;
  let browser: string | null = browserName(b.name);
  let browserVersion: string | null = b.version ?? null;
  const slot = androidModelSlot(ua);

  // A WebView reports "Version/4.0 Chrome/<n>"; ua-parser-js calls some of them the pre-Chrome
  // "Android Browser", which never carried a Chrome token.
  if (browser === 'Android Browser') {
    const chrome = CHROME_VERSION.exec(ua);
    if (chrome !== null) {
      browser = 'Chrome WebView';
      browserVersion = chrome[1] ?? null;
    }
  }

  // ua-parser-js takes "winnovo" for Windows and UC Browser's compact "Adr 4.2" for Linux; a
  // version-numbered Android token is the more specific claim.
  if (os === null || os === 'Windows' || os === 'Linux' || os === 'Java ME') {
    const android = ANDROID_TOKEN.exec(ua);
    if (android !== null) {
      os = 'Android';
      osVersion = android[1] ?? null;
    }
  }
  if (os === 'Windows' && WINDOWS_PHONE_TOKEN.test(ua)) os = 'Windows Phone';
  // Android apps on a Chromebook run inside ChromeOS (ARC), which is the device's OS.
  if (os === 'Android' && /chromebook|\bcros(?:arc)?\b/i.test(ua)) os = 'ChromeOS';
  if (os === 'iOS' && MAC_DARWIN.test(ua)) {
    os = 'macOS';
    osVersion = null;
  }
  // Apple renamed iOS on iPads to iPadOS with version 13.
  if (os === 'iOS' && (model === 'iPad' || /\bipad/i.test(ua)) && Number(majorOf(osVersion)) >= 13) os = 'iPadOS';

  let cls: DeviceClass = 'bot';
  let bot = detectBot(ua) ?? (hints !== null && hints.brands.some((x) => /headless/i.test(x.brand)) ? HEADLESS_HINT : null);
  if (bot === null) {
    cls = inferClass({ ua, model: slot, parserType: d.type, os, vendor });
    if (cls === 'unknown' && hints === null) {
      bot = detectUnidentifiedBot(ua, os);
      if (bot !== null) cls = 'bot';
    }
  }
  if (bot !== null) {
    browser = bot.name ?? browser;
    browserVersion = bot.name === null ? browserVersion : bot.version;
  }

  if (hints !== null) {
    const applied = applyHints(hints, { cls, os, osVersion, vendor, model, browser, browserVersion });
    ({ cls, os, osVersion, vendor, model, browser, browserVersion } = applied);
  }

  if (model === null && slot !== null && slot !== 'K' && (os === 'Android' || os === 'HarmonyOS')) model = slot;

  const browserInfo = freezeNameVersion(browser, browserVersion);
  const osInfo = freezeNameVersion(os, osVersion);
  return Object.freeze({
    class: cls,
    browser: browserInfo,
    engine: freezeNameVersion(e.name ?? null, e.version ?? null),
    os: osInfo,
    vendor,
    model,
    isBot: cls === 'bot',
    label: labelOf(cls, browserInfo, osInfo, vendor, model),
    fingerprint: fingerprintOf(cls, browser, majorOf(browserVersion), os, vendor, model),
  });
}

const HEADLESS_HINT = { name: 'HeadlessChrome', version: null };

interface Traits {
  cls: DeviceClass;
  os: string | null;
  osVersion: string | null;
  vendor: string | null;
  model: string | null;
  browser: string | null;
  browserVersion: string | null;
}

const hintParser = new UAParser();

/**
 * Client hints carry what reduced user agents freeze: Chrome reports `Windows NT 10.0` on Windows 11,
 * `Android 10; K` for every Android phone and `131.0.0.0` for every 131 release. Each hint, when
 * present, replaces the frozen value it stands for.
 */
function applyHints(h: ClientHints, t: Traits): Traits {
  const next = { ...t };

  const platform = h.platform === null ? null : hintPlatformName(h.platform);
  // "Linux" says less than the distribution a desktop UA may name (Ubuntu, Fedora): keep that.
  if (platform !== null && !(platform === 'Linux' && t.os !== null && t.os !== 'Android')) {
    next.os = platform;
    next.osVersion = platformVersionOf(platform, h.platformVersion, t.os === platform ? t.osVersion : null);
  } else if (h.platformVersion !== null && t.os !== null) {
    next.osVersion = platformVersionOf(t.os, h.platformVersion, t.osVersion);
  }

  if (h.model !== null && h.model.length <= 64) {
    next.model = h.model;
    // Reduced UAs carry no model, so find the vendor as ua-parser-js would from a full Android UA.
    hintParser.setUA(`Mozilla/5.0 (Linux; Android 10; ${h.model.replace(/[;()]/g, ' ')}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.0.0 Mobile Safari/537.36`);
    const vendor = hintParser.getDevice().vendor;
    next.vendor = vendor === undefined || vendor === 'Generic' ? t.vendor : vendor;
  }

  // The most specific brand: the first that is neither GREASE (already dropped) nor plain Chromium.
  let brandName: string | null = null;
  let brandVersion: string | null = null;
  for (const entry of h.brands) {
    const name = hintBrandName(entry.brand);
    if (name === null) continue;
    if (brandName === null || (brandName === 'Chromium' && name !== 'Chromium')) {
      brandName = name;
      brandVersion = entry.version;
    }
  }
  if (brandName !== null && t.cls !== 'bot') {
    if (next.browser === null || next.browser === 'Chrome' || next.browser === 'Chromium') next.browser = brandName;
    if (next.browser === brandName) {
      const full = brandVersion !== null && brandVersion.includes('.') ? brandVersion : (h.fullVersion ?? brandVersion);
      if (full !== null && (next.browserVersion === null || isMorePrecise(full, next.browserVersion))) next.browserVersion = full;
    }
  }

  if (t.cls !== 'bot') next.cls = classFromHints(h, next, t.cls);
  return next;
}

/** Windows reports its real release only here: platform version 13+ is Windows 11, 1-12 is 10. */
function platformVersionOf(platform: string, version: string | null, fallback: string | null): string | null {
  if (version === null) return fallback;
  if (platform === 'Windows') {
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major >= 13) return '11';
    if (major >= 1) return '10';
    // 0.x: Windows 7 (0.1), 8 (0.2), 8.1 (0.3), as Chromium reports them.
    return minor === 1 ? '7' : minor === 2 ? '8' : minor === 3 ? '8.1' : fallback;
  }
  // Android and ChromeOS send "14.0.0"; trailing ".0"s carry nothing.
  return version.replace(/(?:\.0)+$/, '');
}

/** True when `candidate` says more than `current`, e.g. `131.0.6778.86` over the reduced `131.0.0.0`. */
function isMorePrecise(candidate: string, current: string): boolean {
  if (majorOf(candidate) !== majorOf(current)) return true;
  return candidate.replace(/(?:\.0)+$/, '').length > current.replace(/(?:\.0)+$/, '').length;
}

const FORM_FACTOR_CLASSES: ReadonlyArray<readonly [string, DeviceClass]> = [
  ['xr', 'wearable'],
  ['watch', 'wearable'],
  ['automotive', 'embedded'],
  ['eink', 'tablet'],
  ['tablet', 'tablet'],
  ['mobile', 'mobile'],
  ['desktop', 'desktop'],
];

function classFromHints(h: ClientHints, t: Traits, current: DeviceClass): DeviceClass {
  for (const [factor, cls] of FORM_FACTOR_CLASSES) {
    if (h.formFactors.includes(factor)) return cls;
  }
  // A model named in a hint goes through the same TV / tablet rules as one in the UA.
  const fromModel = h.model !== null ? inferClass({ ua: h.model, model: h.model, parserType: undefined, os: null, vendor: t.vendor }) : 'unknown';
  if (fromModel !== 'unknown' && fromModel !== 'desktop') return fromModel;
  if (h.mobile === true) return current === 'tv' || current === 'console' || current === 'wearable' || current === 'embedded' ? current : 'mobile';
  if (h.mobile === false) {
    if (t.os === 'Android' || t.os === 'HarmonyOS') return current === 'mobile' || current === 'unknown' ? 'tablet' : current;
    if (current === 'mobile' || current === 'unknown') {
      const desktopPlatform = t.os === 'Windows' || t.os === 'macOS' || t.os === 'Linux' || t.os === 'ChromeOS';
      return desktopPlatform ? 'desktop' : current;
    }
  }
  if (current === 'unknown' && (t.os === 'Windows' || t.os === 'macOS' || t.os === 'Linux' || t.os === 'ChromeOS')) return 'desktop';
  return current;
}

function freezeNameVersion(name: string | null, version: string | null): NameVersion {
  return Object.freeze({ name, version });
}

const APPLE_DEVICES = new Set(['iPhone', 'iPad', 'iPod', 'iPod touch', 'Apple Watch', 'Apple TV']);

function labelOf(cls: DeviceClass, browser: NameVersion, os: NameVersion, vendor: string | null, model: string | null): string {
  if (cls === 'bot') return browser.name ?? 'Bot';
  let client: string | null = browser.name;
  // Safari's version is the OS's version; elsewhere the major version tells releases apart.
  const major = majorOf(browser.version);
  if (client !== null && major !== null && client !== 'Safari') client = `${client} ${major}`;

  let platform: string | null;
  if (model !== null && APPLE_DEVICES.has(model)) platform = model;
  else if (os.name === 'Windows' && os.version !== null && /^[\w. ]{1,8}$/.test(os.version)) platform = `Windows ${os.version}`;
  else platform = os.name;
  // The model tells phones, TVs and consoles apart ("Android (SM-S918B)"); a desktop's adds nothing.
  if (model !== null && cls !== 'desktop' && !APPLE_DEVICES.has(model)) {
    if (platform === null) {
      platform = vendor !== null && !model.toLowerCase().startsWith(vendor.toLowerCase()) ? `${vendor} ${model}` : model;
    } else if (model.toLowerCase().includes(platform.toLowerCase())) {
      platform = model; // "PlayStation 5" rather than "PlayStation (PlayStation 5)"
    } else if (!platform.toLowerCase().includes(model.toLowerCase())) {
      platform = `${platform} (${model})`;
    }
  } else if (platform === null && vendor !== null) {
    platform = vendor;
  }

  if (client !== null && platform !== null) return `${client} on ${platform}`;
  return client ?? platform ?? 'Unknown device';
}

function fingerprintOf(cls: DeviceClass, browser: string | null, major: string | null, os: string | null, vendor: string | null, model: string | null): string {
  const traits = [cls, browser ?? '', major ?? '', os ?? '', vendor ?? '', model ?? ''].join('\u001f');
  return hash('sha256', traits, 'base64url').slice(0, 16);
}

const UNKNOWN_DEVICE: DeviceInfo = Object.freeze({
  class: 'unknown',
  browser: freezeNameVersion(null, null),
  engine: freezeNameVersion(null, null),
  os: freezeNameVersion(null, null),
  vendor: null,
  model: null,
  isBot: false,
  label: 'Unknown device',
  fingerprint: fingerprintOf('unknown', null, null, null, null, null),
});
