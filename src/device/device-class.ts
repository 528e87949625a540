import type { DeviceClass } from '../contracts.js';

/**
 * Device-class inference on top of ua-parser-js. ua-parser-js knows a few hundred phone and tablet
 * models by name but leaves desktops untyped, calls most Android TVs and TV boxes tablets, and has no
 * notion of cars, speakers or set-top boxes. The rules here use the conventions device makers follow
 * when they name a product or build a user agent (a "TV" token, a screen diagonal at the start of a
 * TV model number, "Tablet" or "Pad" in a tablet's name, the absence of "Mobile" in an Android
 * tablet's browser), so they hold for devices released after this file was written.
 *
 * Every pattern is a plain alternation with bounded repetition (no nested quantifiers), so matching
 * is linear in the input, which the caller has already cut to 512 characters.
 */

/** What the class rules look at; all strings are already bounded. */
export interface ClassSignals {
  readonly ua: string;
  /** The model slot of an Android-style UA (`Android 14; SM-S918B Build/...` → `SM-S918B`), or a hint. */
  readonly model: string | null;
  /** ua-parser-js `device.type`. */
  readonly parserType: string | undefined;
  /** Friendly OS name (see names.ts). */
  readonly os: string | null;
  readonly vendor: string | null;
}

/**
 * Classes that the user agent states outright, whatever ua-parser-js thought: these tokens are
 * written by the platform itself (a TV's browser, a console's firmware) and are more reliable than a
 * model lookup. Checked in order; the first match wins.
 */
const EXPLICIT_RULES: ReadonlyArray<readonly [RegExp, DeviceClass]> = [
  // VR headsets and watches before TVs and phones: their UAs often also say "Android" or "Mobile".
  [
    /\b(?:oculusbrowser|picobrowser|wolvic|firefox reality|mobile vr|vr safari|like quest|quest (?:[1-3]s?|pro)|wear ?os|watchos|smart ?watch|apple watch)\b|\bwatch\d*,\d|\bSM-R\d{3}|\bgear (?:s\d|live|fit)/i,
    'wearable',
  ],
  // Apple hardware identifiers (iPhone14,7 / UC Browser's iPh14,7, iPad8,1, AppleTV5,3,
  // MacBookPro14,1), which apps send instead of a platform comment.
  [/(?:^|[^a-z])iph(?:one)?\d{1,2},\d/i, 'mobile'],
  [/(?:^|[^a-z])ipad\d{1,2},\d/i, 'tablet'],
  [/(?:^|[^a-z])appletv\d{1,2},\d/i, 'tv'],
  [/(?:^|[^a-z])(?:macbook(?:pro|air)?|imac|macmini|macpro|mac)\d{1,2},\d/i, 'desktop'],
  // Game consoles name themselves (firmware token or platform comment).
  [/\b(?:playstation|xbox|nintendo|wii ?u?\b|ouya\b|ps[345]\b|psp\b|ps ?vita\b)/i, 'console'],
  // Cars, speakers, cameras, media players, single-board computers, projectors and POS terminals.
  [
    /\b(?:qtcarbrowser|tesla\/|carpad|car ?browser|automotive|dilink|rear seat|homepod|amazon;echo|echo\/\d|sonos|smart ?speak\w*|devicetype\/smartspeaker|ipod|walkman|zune ?hd|media ?player|raspberry pi|odroid|tinker ?board|projector|coolpix|galaxy camera|family ?hub)\b/i,
    'embedded',
  ],
  // TVs and set-top boxes: standard tokens (HbbTV, CE-HTML, SmartTV, NetCast, Web0S.TV), platform
  // names (Tizen TV, webOS TV, Android TV, Google TV, Fire TV, Apple TV, tvOS, Roku, TiVo, VIZIO's
  // ViziOS, YouView, Chromecast's CrKey, Opera's TV engine "OMI"), an "STB" token, the "(Vendor, Model, wired|wireless)" device tuple of
  // TV browsers, signage players, and MIPS Linux, which today runs set-top boxes and TVs rather than
  // desktops. (A bare "TV" is weaker: see WEAK_TV.)
  [
    /smart[-_ ]?tv|(?:^|[^a-z])stb(?:$|[^a-z])|,\s*(?:wired|wireless)\s*\)|linux mips|\b(?:brightsign|hbbtv|webtv|ce-html|netcast|nettv|netrange|smarttva|web0s|crkey|chromecast|roku|tivo(?:os)?|tvos|appletv|bravia|viera|iptv|stb|set-?top|omi\/|opera tv|tv store|vidaa|vizios|youview\w*|fire ?tv\w*|google ?tv|android ?tv|mibox|tv ?box|smart ?box)\b/i,
    'tv',
  ],
];

/**
 * A bare "TV" or "DTV" token: Yandex and others append it to TV builds, but phone makers also name
 * phones with a TV tuner that way ("Beat TV", "myA9 DTV"). A TV's browser does not claim "Mobile",
 * so these count only without it. The same holds for panel words in a model name (FHD, UHD, 4K).
 */
const WEAK_TV = /\b(?:d?tv)\b/i;
const WEAK_TV_MODEL = /(?:^|[-_ ])(?:uhd|fhd|[48]k|d?tv)(?:$|[-_ \d])/i;
/** "Mobile", also where a browser glued it to its neighbours (`Chrome/61.0.3163.98MobileSafari/537.36`). */
const MOBILE_TOKEN = /\bmobile\b|mobilesafari/i;

/**
 * Android TV builds: Google's TV release branches put a "T" after the release letter of the build
 * ID (`PTT1.190716.001`, `QTG3.200617.002`, `RTT2.220103.001`, `STTC.230104.002`), where phone and
 * tablet builds have `P`, `K` or `Q` there (`SP1A`, `TKQ1`, `PPR1`). A "2K TV"/"4K TV" product name
 * is a TV too. Both hold whether or not the WebView says "Mobile".
 */
const ANDROID_TV_BUILD = /\bbuild\/[p-w]t[a-z]{1,3}\d{0,2}\.\d{6}\b|\b[248]k ?tv\b/i;

/** Amazon names its Fire TV devices AFT* (AFTMM, AFTKMST12) and its Echo Show displays AEO*; Fire tablets are KF*. */
const AMAZON_FIRE_TV = /\bAFT[A-Z]{1,6}\d{0,4}\b/;
const AMAZON_ECHO = /\bAEO[A-Z]{2}\b/;

/**
 * Rules for the model name (the Android model slot, or `Sec-CH-UA-Model`), in order. They encode how
 * manufacturers name products rather than lists of models:
 *
 * - "Tablet" says it all (ThinkPad Tablet included); laptops and Chromebooks running Android say so
 *   (Chromebook, 2in1, ThinkPad, Aspire);
 * - TV model numbers start with the screen diagonal in inches (32H550T, 55UJ6307, KD-55X8500), often
 *   behind a short brand prefix (FENOTI_42FN6000F, H32F8000QG); panel technologies (LED, OLED, UHD,
 *   FHD, 4K) and box types appear as words, "LED" is followed by the size (ELED-43, SW-LED24), and TVs
 *   built on a shared Android chassis call themselves "<Brand> Shell <panel>";
 * - Android TV boxes come from a handful of widely sold families (MXQ, X96, H96, T95, Tanix TX,
 *   A95X, Beelink, Mecool, Ugoos, Minix, Zidoo, Mi Box, SHIELD), named after the family;
 * - tablets are "Tab", "Tablet" or "Pad" (MatePad, MediaPad, SURFpad), "MID" (Mobile Internet
 *   Device, the generic tablets' name), carry a 7 to 13 inch screen size in the name ("Impulse 7.85
 *   3G", "Gravity 9.7", "10.1"; a single decimal under 9 is left alone because phones use it as a
 *   generation number, Nokia 7.2), or follow a maker's tablet scheme: Samsung SM-T/SM-X/SM-P and
 *   GT-P/GT-N8, Lenovo TB-/TBnnn/YT-/YB-, Sony SGP, LG V4xx-V9xx and LM-T, Prestigio PMT, BQ's
 *   size-coded 7xx(x)/8xx(x)/1xx(x), Xiaomi's "RP" (Redmi/Xiaomi Pad) model codes, OPPO/OnePlus
 *   OPD, vivo iPA, Acer A1-/B1- (Iconia), HP Slate, the product-code prefixes Huawei and Honor
 *   reserve for MediaPad/MatePad/Honor Pad (AGS, BAH, KOB, DBY, BZx, MRX, ...), and Huawei's
 *   Wi-Fi-only "-W09" variants (a phone cannot be Wi-Fi-only); e-readers count as tablets;
 * - watches, handheld game consoles, car head units, point-of-sale terminals, digital audio
 *   players and single-board computers name their kind (Samsung cameras by their EK-G code). ("VR" and "Glass" are left out: phone makers
 *   use them as model suffixes, and headsets identify through their browser instead.)
 */
const MODEL_RULES: ReadonlyArray<readonly [RegExp, DeviceClass]> = [
  [/tablet/i, 'tablet'],
  [/chromebook|laptop|notebook|\b2in1\b|2-in-1|\baspire\b|thinkpad|latitude|elitebook|probook|zenbook|vivobook|surface (?:pro|laptop|book)/i, 'desktop'],
  [/watch/i, 'wearable'],
  [/gamepad|retroid|anbernic|\bg cloud\b|razer edge|steam ?deck|ayaneo/i, 'console'],
  [/\bauto\b|(?:quad|octa|octopus)[-_ ]?core[-_ ]?t\d|\b1\d{3}x[3-7]\d\d\b|smart ?pos|\b(?:w|multi|wizar)?pos\b|\bproj(?:ector)?[a-z]?\d*\b|\bfiio\b|\bhiby\b|shanling|cowon|galaxy player|\bEK-G[CN]\d{3}|\bYP-G|\bNW-[A-Z]{1,2}\d|orange ?pi|banana ?pi|rock ?pi|pine ?a64|beagle/i, 'embedded'],
  [/(?:^|[-_ ])(?:[oq]?led|box|stb|iptv|ott)(?:$|[-_ \d])|led[-_ ]?(?:2[2-9]|[3-9]\d)|smart ?tv|\bmi ?tv|\bshell\b|\b(?:mbox|mxq|mibox|amlogic|rk3\d{3}|a95x|beelink|gt ?king|mecool|ugoos|minix|zidoo|tanix|vontar|transpeed|magicsee|formuler|dreamlink|shield android tv)\b/i, 'tv'],
  [/^(?:[A-Za-z]{1,10}[-_ ])?[A-Z]?(?:2[2-9]|[3-9]\d)[A-Z]{1,4}\d{2,5}/, 'tv'],
  [
    /tab(?:$|[^a-z])|tab\d|pad(?:$|[^a-z])|pad\d|\bSM-[TXP]\d{3}|\bLM-T\d{3}|\bLG-?V[4579]\d\d|^(?:AGS|BAH|KOB|DBY|BZ[A-Z]|MRX|WGR|SCMR|JDN|KRJ|BG[O2]|HEY|JMS|ELN|NDL|HD[LN]|AGR|CMR|GOT|MRR|DBR|PCE|TGR|SHT|BTV|CPN|VRD|MON|PLE|GEM)\d?[A-Z]?-[A-Z]{1,2}\d{1,2}|\bYB\d?-[A-Z0-9]{3}|\bTB\d{3}[A-Z]{1,2}\b|\b\d{4,5}RP[A-Z0-9]{2,3}\b|\bOPD\d{4}\b|\b[AB]1-\d{3}|slate|\bGT-(?:P\d{4}|N[58]\d{3})|\bTB\d?-[A-Z0-9]{3}|\bYT\d?-[A-Z0-9]|\bSGP\d{3}|\bLG-?V[45]\d0|\bPMT\d{4}|\bBQ(?:ru)?[-_ ]?(?:7|8|1[0-3])\d{2,3}[A-Z]{0,2}\b|\biPA\d{4}\b|-W\d\d[A-Z]?\b|iconia|transformer|\bnexus (?:7|9|10)\b|\bkindle|\bnook|\bkf[a-z]{2,4}\b|pocketbook|\bboox\b|\bkobo\b|tolino|e-?reader|\bmid[-_ ]?\d|(?:^|[^\d.])(?:[7-9][.,]\d\d|(?:9|1[0-3])[.,]\d)(?:$|[^\d.])/i,
    'tablet',
  ],
];

/**
 * Box families whose names phone makers reuse (Doogee X96), a "box" glued to a brand (Vinabox,
 * Eurobox; phones use Turbox, Runbox) and an "ATV" (Android TV) token: a TV box only when the
 * browser does not say "Mobile".
 */
const TV_BOX_AMBIGUOUS = /\b(?:x96|h96|t95|hk1|i96)|[a-z]box(?:$|[^a-z])|(?:^|[^a-z])atv(?:[-_ ]?\d|$|[^a-z])/i;

/**
 * A looser reading of the TV size convention (a 22 to 69 inch diagonal after up to two brand
 * segments and a short series prefix, then a panel/series code: 40LEX_7127, TQ65UFBHV1,
 * POLARLINE_K_32PL14TC-SM), trusted only in a browser's UA that does not say "Mobile" (app UAs such as Dalvik's never say it). Diagonals from 70
 * are left out: tablet makers write 7.0 to 9.7 inch screens the same way (T72HA, 80G9, SN97T41W).
 */
const TV_DIAGONAL_LOOSE = /^(?:[A-Za-z]{1,10}[-_ ]){0,2}[A-Z]{0,3}(?:2[2-9]|[3-6]\d)(?:[A-Z]{1,5}|[A-Z]{3,5}[-_])\d/;

/** Tokens some apps add to tablet UAs (WeChat's "Android Tablet", Yandex's "/apad" search app). */
const TABLET_UA = /\b(?:tablet(?! pc)|ipad)\b|\/apad\b/i;

/** Feature phones and pre-smartphone mobile platforms. */
const FEATURE_PHONE =
  /\b(?:midp|cldc|j2me|up\.browser|obigo|netfront|opera mini|series ?[46]0|symbian|maui|mre\/|nokia|samsung-sgh|sonyericsson|kaios|brew|palmsource|palmos|palmscape|blazer|windows ce|iemobile|windows phone|wap|wap\d\.\d|wap-browser|docomo|kddi|softbank|i-mode)\b/i;

/** Windows on phones (Windows Phone, Windows 10 Mobile on Lumias, Windows CE) and on ARM tablets (RT). */
const WINDOWS_PHONE = /windows (?:phone|mobile|ce)|iemobile|wpdesktop|lumia|zunehd/i;
const WINDOWS_ARM = /\barm\b/i;

/** Operating systems whose devices, with no other sign, are desktops and laptops. */
const DESKTOP_OS = new Set([
  'Windows',
  'macOS',
  'Linux',
  'ChromeOS',
  'Ubuntu',
  'Debian',
  'Fedora',
  'CentOS',
  'Red Hat',
  'SUSE',
  'Gentoo',
  'Arch Linux',
  'Linux Mint',
  'Kubuntu',
  'Slackware',
  'Mandriva',
  'Mageia',
  'Sabayon',
  'FreeBSD',
  'OpenBSD',
  'NetBSD',
  'DragonFly',
  'Solaris',
  'AmigaOS',
  'MorphOS',
  'BeOS',
  'Haiku',
  'OS/2',
  'RISC OS',
  'OpenVMS',
  'IRIX',
  'HP-UX',
  'AIX',
  'Unix',
  'Syllable',
  'OSF1',
  'Inferno',
]);

/** Mobile operating systems: a device running one, with no other sign, is a phone. */
const MOBILE_OS = new Set([
  'Android',
  'iOS',
  'HarmonyOS',
  'KaiOS',
  'Windows Phone',
  'Windows Mobile',
  'BlackBerry',
  'Symbian',
  'Bada',
  'Series 40',
  'Firefox OS',
  'Sailfish',
  'MeeGo',
  'Maemo',
  'Palm',
  'Tizen',
  'webOS',
  'OpenHarmony',
]);

/**
 * Platform tokens for UAs ua-parser-js finds no OS in: desktop apps (`Word/16.43 (Mac OS/10.15.7;
 * Desktop; ...)`, `Client/2.0 (win10 x64)`), old or rare systems, and apps that name only the
 * platform (`Player FM Android`). Checked in order.
 */
const FALLBACK_OS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(?<!like )\bandroid/i, 'Android'],
  [/\b(?:watchos|apple ?watch)\b/i, 'watchOS'],
  [/\b(?:tvos|apple ?tv)\b/i, 'tvOS'],
  [/\b(?:iphone|ipad|ipod|iph\d)|\bios\b/i, 'iOS'],
  [/\bAFT[A-Z]/, 'Android'],
  [/\bwin(?:dows|nt|32|64|\d{1,2})\b|cygwin/i, 'Windows'],
  [/\bdarwin\b/i, 'macOS'],
  [/\bmac ?os|macintosh|\bos x\b|os=mac|\b(?:macbook|imac|macmini|macpro)/i, 'macOS'],
  [/\b(?:midp|cldc|j2me)/i, 'Java ME'],
  [/\bhaiku\b/i, 'Haiku'],
  [/\bsyllable\b/i, 'Syllable'],
  [/\birix/i, 'IRIX'],
  [/\bosf1\b/i, 'OSF1'],
  [/\binferno\b/i, 'Inferno'],
  [/\b(?:sunos|solaris)\b/i, 'Solaris'],
  [/\bfreebsd\b/i, 'FreeBSD'],
  [/\bopenbsd\b/i, 'OpenBSD'],
  [/\bnetbsd\b/i, 'NetBSD'],
  [/\bx11\b|\blinux\b/i, 'Linux'],
];

/** The OS named by `ua` when ua-parser-js found none, or null. */
export function fallbackOs(ua: string): string | null {
  for (const [pattern, name] of FALLBACK_OS) {
    if (pattern.test(ua)) return name;
  }
  return null;
}

/**
 * The device class from the UA and what ua-parser-js found. Bots are decided before this is called.
 *
 * @example
 * inferClass({ ua, model: 'SM-T870', parserType: undefined, os: 'Android', vendor: 'Samsung' }) // 'tablet'
 */
export function inferClass(s: ClassSignals): DeviceClass {
  for (const [pattern, cls] of EXPLICIT_RULES) {
    if (pattern.test(s.ua)) return cls;
  }
  const mobile = MOBILE_TOKEN.test(s.ua);
  if (!mobile && WEAK_TV.test(s.ua)) return 'tv';
  if (AMAZON_FIRE_TV.test(s.ua) || ANDROID_TV_BUILD.test(s.ua)) return 'tv';
  if (AMAZON_ECHO.test(s.ua)) return 'embedded';

  const model = s.model;
  if (model !== null) {
    for (const [pattern, cls] of MODEL_RULES) {
      if (pattern.test(model)) return cls;
    }
    if (!mobile && (TV_BOX_AMBIGUOUS.test(model) || WEAK_TV_MODEL.test(model))) return 'tv';
    if (!mobile && TV_DIAGONAL_LOOSE.test(model) && isBrowserUa(s.ua)) return 'tv';
  }

  // ua-parser-js reads some Windows desktop UAs as phones (a locale such as "lg-UG" taken for an LG
  // model, Facebook's Windows app); Windows phones say so.
  if (s.os === 'Windows' || s.os === 'Windows Phone' || s.os === 'Windows Mobile') {
    if (WINDOWS_PHONE.test(s.ua)) return 'mobile';
    if (WINDOWS_ARM.test(s.ua)) return 'tablet';
  }
  const parserType = s.os === 'Windows' ? undefined : s.parserType;
  switch (parserType) {
    case 'smarttv':
      return 'tv';
    case 'console':
    case 'wearable':
    case 'embedded':
      return parserType;
    case 'tablet':
      // ua-parser-js guesses tablets from broad model patterns; Chrome and Android's WebView write
      // "Mobile" from the device's own phone/tablet configuration, which is the better witness
      // once no tablet naming scheme above has matched (iPad and tablet tokens aside).
      return mobile && isBrowserUa(s.ua) && !TABLET_UA.test(s.ua) ? 'mobile' : 'tablet';
    case 'mobile':
      return TABLET_UA.test(s.ua) ? 'tablet' : 'mobile';
  }

  if (TABLET_UA.test(s.ua)) return 'tablet';
  if (s.os === 'Android' || s.os === 'HarmonyOS') {
    // An Android browser leaves "Mobile" out on tablets (Chrome's documented convention); an app's
    // own UA (Dalvik, okhttp, ExoPlayer) does not follow it, and without a model we cannot tell.
    if (mobile) return 'mobile';
    if (isBrowserUa(s.ua)) return 'tablet';
    // App UAs: a named device (model slot, "Device/…") or a feature-phone profile is a phone.
    return model !== null || FEATURE_PHONE.test(s.ua) || /\bdevice\//i.test(s.ua) ? 'mobile' : 'unknown';
  }
  if (FEATURE_PHONE.test(s.ua)) return 'mobile';
  if (s.os !== null && DESKTOP_OS.has(s.os)) return 'desktop';
  if (s.os !== null && MOBILE_OS.has(s.os)) {
    // iOS apps identify only as CFNetwork/Darwin: the OS is known, the device (phone, pad, watch) is not.
    return /\b(?:iphone|mobile)\b/i.test(s.ua) ? 'mobile' : s.os === 'iOS' ? 'unknown' : 'mobile';
  }
  return 'unknown';
}

// --- internal ---

/** A browser's UA: `Mozilla/5.0 (...)` with an engine token, as opposed to an app or library UA. */
function isBrowserUa(ua: string): boolean {
  return ua.startsWith('Mozilla/') && /applewebkit|gecko|presto|trident/i.test(ua);
}
