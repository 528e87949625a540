/**
 * Bot, crawler and non-browser client detection. ua-parser-js 1.x has none, so a Googlebot visit
 * would otherwise count as an Android phone.
 *
 * The rules follow the conventions automated clients use to identify themselves rather than listing
 * known bots: a product token containing "bot", "crawler", "spider" and the like; a contact URL or
 * e-mail address (browsers never send one); a bare HTTP library or command-line tool as the whole
 * client; a headless browser; a Mozilla-compatible claim that names no platform. New bots follow the
 * same conventions, so they are caught without an update.
 *
 * All patterns are alternations without nested quantifiers: linear time on the bounded input.
 */

/**
 * Words automated clients use in their product names. `bot` counts as a word ending (Googlebot,
 * bingbot, Slackbot-LinkExpanding, AhrefsBot/7.0) or standing alone, not inside a longer word, and
 * not in "Cubot", a phone brand that in-app browsers write into their UAs as the manufacturer.
 */
const BOT_WORDS =
  /(?<!cu)bots?(?:$|[^a-z])|crawl|spider|scrap(?:er|ing|y)|slurp|fetch(?:er|or)|archiv(?:er|ing)|harvest|indexer|index(?:ing)? ?agent|validator|verif(?:ier|ication|y)\b|checker|check(?:s|ing)?(?:$|[^a-z])|check_http|monitor(?:ing)?\b|uptime|pinger|prob(?:e|er)\b|health-?check|synthetics?\b|inspector|detector|diagnostics?|measurement|preview(?:er)?\b|screenshot|thumbnail|favicon|capture|prerender|rendertron|lighthouse|pagespeed|headless|phantomjs|slimerjs|puppeteer|playwright|selenium|webdriver|image ?proxy|prefetch ?proxy|transcoder|external[-_]?(?:hit|ua|agent|ads)|retriever|collector|exporter|searcher|research|nutch|heritrix|\bcolly\b|(?:^|[^a-z])(?:scan(?:ner|ning)?|survey|audit|analy[sz]er|extractor|expander|grabber|sitemap|seo|dcv)(?:$|[^a-z])/i;

/**
 * A URL in a browser-shaped (`Mozilla/…`) UA, which no browser sends: the crawler convention
 * (`+http://www.google.com/bot.html`). An obfuscated address (`[at]`) counts too. A URL in an app's
 * own UA is weaker, because feed readers and podcast apps name their homepage the same way as
 * fetchers do (`Name/1.0 (+https://example.com)`); it counts only when the UA names no platform.
 */
const CONTACT = /^mozilla\/.*(?:https?:\/\/|\bwww\.[a-z0-9-]+\.[a-z])|[\[(]at[\])]/i;
const URLS = /\+?(?:https?:\/\/|www\.)[^\s;)]*/gi;
const HOMEPAGE = /https?:\/\/|\bwww\.[a-z0-9-]+\.[a-z]/i;
/**
 * A site's own host name as the product (`linkdex.com/v2.0`, `acme.example.org/v2`): the crawler
 * convention of naming the operator. Used
 * only when the UA names no platform; apps name themselves, and reverse-DNS app ids
 * (`de.example.app`) end in no common TLD.
 */
const DOMAIN_PRODUCT = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|ai|info|biz)(?:[/ ;]|$)/i;
/** A `+host` contact without the scheme (`; +example.ai`), the crawler convention minus `http://`. */
const PLUS_HOST = /(?:^|[\s;(])\+[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b/i;
/** An e-mail address; only tried when the UA contains an `@`. */
const EMAIL = /[a-z0-9._%+-]@[a-z0-9-]+\.[a-z]{2,}/i;

/**
 * HTTP libraries, language runtimes and command-line tools, when they are the whole client (first
 * product in the UA). A library token after an app's own name (`MyApp/2.1 okhttp/4.9`) is the app's
 * transport, not the client, and does not count.
 */
const LIBRARY_FIRST =
  /^(?:curl|libcurl|wget|aria2|httpie|python-requests|python-urllib[\d.]*|python-httpx|python|aiohttp|httpx|urllib[\d.]*|pycurl|scrapy|mechanize|go-http-client|go|okhttp|java|apache-httpclient|apache-httpasyncclient|jakarta commons-httpclient|jetty|libwww-perl|lwp::\w+|lwp-\w+|http-tiny|http::tiny|php|guzzlehttp|guzzle|symfony httpclient|node-fetch|node|axios|got|undici|deno|bun|ruby|faraday|rest-client|http\.rb|excon|typhoeus|dart|reqwest|hyper|rust|powershell|winhttp|restsharp|postmanruntime|insomnia|grequests|request-promise|resty-requests|cpp-httplib|libsoup|wordpress|drupal|cakephp|zend_http_client)(?:$|[\s/;(,_-])/i;

/** Library tokens anywhere, when the UA names no platform at all (checked by the caller). */
const LIBRARY_ANYWHERE = /\b(?:http[-_ ]?client|httpclient|http[-_ ]request|requests\/\d|urllib|okhttp|libwww-perl|lwp|curl)\b/i;

/**
 * Google names every automated agent "Google-<Name>" or "<Name>-Google" (Google-Extended, Google-Site-
 * Verification, Mediapartners-Google, DuplexWeb-Google); its browser is "Chrome" and its apps "GSA".
 * AI crawlers use an "-ai" suffix the same way (anthropic-ai, cohere-ai).
 */
const AGENT_NAMING = /\bgoogle-[a-z]|[a-z]-google\b|[a-z]-ai\b/i;

/**
 * Well-known uptime monitors, load generators and vulnerability scanners, which name only their
 * product: the monitoring and security tool families a site operator meets in its logs.
 */
const TOOLS =
  /\b(?:pingdom|statuscake|site24x7|uptimerobot|datadog|newrelic|nagios|zabbix|icinga|prometheus|grafana|collectd|munin|catchpoint|gtmetrix|thousandeyes|dynatrace|checkly|apachebench|jmeter|locust|siege|vegeta|nmap|nikto|sqlmap|masscan|zgrab|nuclei|gobuster|dirbuster|wpscan|acunetix|nessus|openvas|qualys|burp|zmeu|shodan|censys|arachni|w3af)/i;

/**
 * Tokens added inside the engine comment (`(KHTML, like Gecko; compatible; Foo/1.0)`): browsers never
 * extend it, automated clients built on a browser engine use it to name themselves.
 */
const ENGINE_COMMENT_EXTRA = /\(khtml,? like gecko;/i;

/** Exploit payloads sent as a user agent (Log4Shell lookups, PHP or script injection): scanners. */
const INJECTION = /\$\{|<\?|<script/i;

/** Feed fetchers report their audience ("12 subscribers; feed-id=…"). */
const FEED_FETCHER = /\b\d+ subscribers?\b|feed-id=/i;

/** Strips the device-model slot of Android UAs, so that a phone called "CUBOT Note" is not a bot. */
const ANDROID_MODEL_SLOT = /(android [\d.]+;(?: [a-z]{2}[-_][a-z]{2,3};)? )[^;)]{1,64}/i;

export interface BotVerdict {
  /** The bot's product name as written in the UA (`Googlebot`, `curl`), or null when none stands out. */
  readonly name: string | null;
  readonly version: string | null;
}

/**
 * Decides whether `ua` (already bounded) comes from an automated client, from the signals that hold
 * whatever else the UA says: a self-declared bot word, a contact URL or address, a library as the
 * whole client, an exploit payload.
 *
 * @example
 * detectBot('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)') // { name: 'Googlebot', version: '2.1' }
 * detectBot('curl/8.4.0') // { name: 'curl', version: '8.4.0' }
 */
export function detectBot(ua: string): BotVerdict | null {
  if (ua === '') return null;
  const library = LIBRARY_FIRST.exec(ua);
  if (library !== null) return productAt(ua, 0);
  const scanned = ua.replace(ANDROID_MODEL_SLOT, '$1');
  if (BOT_WORDS.test(scanned) || AGENT_NAMING.test(scanned) || TOOLS.test(scanned)) {
    // An app-style UA names the bot first ("Feedly/1.0 (...; like FeedFetcher-Google)"). Behind a
    // "Mozilla/5.0" prefix, the bot is the product that carries the word, not a URL that happens to.
    if (!/^mozilla\//i.test(ua)) return firstProduct(ua) ?? UNNAMED;
    const named = scanned.replace(URLS, ' ');
    const word = BOT_WORDS.exec(named) ?? AGENT_NAMING.exec(named) ?? TOOLS.exec(named);
    return (word !== null ? productAround(named, word.index) : null) ?? firstProduct(ua) ?? UNNAMED;
  }
  if (INJECTION.test(ua)) return UNNAMED;
  const extra = ENGINE_COMMENT_EXTRA.exec(ua);
  if (extra !== null) {
    const named = /^\s*(?:compatible;\s*)?([a-z][\w.-]{1,63})/i.exec(ua.slice(extra.index + extra[0].length, extra.index + extra[0].length + 96));
    return (named?.[1] !== undefined ? productAt(ua, ua.indexOf(named[1], extra.index)) : null) ?? UNNAMED;
  }
  if (CONTACT.test(scanned) || PLUS_HOST.test(scanned) || (scanned.includes('@') && EMAIL.test(scanned)) || FEED_FETCHER.test(scanned)) return firstProduct(ua) ?? UNNAMED;
  return null;
}

/**
 * The weaker signals, for UAs from which no device could be identified (`os` is what was found of
 * the platform): a library token anywhere in the UA; and, when no platform is named at all, a
 * homepage URL or a `Mozilla/5.0` prefix (real browsers always name a platform after it; automated
 * clients copy the prefix and stop: `Mozilla/5.0 (compatible; Foo/1.0)`, `Mozilla/5.0 Foo`).
 */
export function detectUnidentifiedBot(ua: string, os: string | null): BotVerdict | null {
  if (LIBRARY_ANYWHERE.test(ua)) return firstProduct(ua) ?? UNNAMED;
  if (os !== null) return null;
  if (HOMEPAGE.test(ua) || DOMAIN_PRODUCT.test(ua)) return firstProduct(ua) ?? UNNAMED;
  // A full engine trail (`AppleWebKit/… (KHTML, like Gecko) … Safari/…`) is a browser on a
  // platform we do not know (a set-top box naming its own firmware), not a client that copied the
  // prefix and stopped.
  if (/^mozilla\/\d/i.test(ua) && !FULL_ENGINE_TRAIL.test(ua)) return productAfterCompatible(ua) ?? UNNAMED;
  return null;
}

const UNNAMED: BotVerdict = { name: null, version: null };
const FULL_ENGINE_TRAIL = /\) applewebkit\/[\d.]+ \(khtml, like gecko\)[^()]{0,80}\bsafari\/\d/i;

// --- internal ---

/** Product token characters: letters, digits and the joiners bots use in names. */
function isNameChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || // 0-9
    (code >= 65 && code <= 90) || // A-Z
    (code >= 97 && code <= 122) || // a-z
    code === 45 || // -
    code === 95 || // _
    code === 46 // .
  );
}

/** The product token (`Name/1.2`) containing position `at`, e.g. the whole "Googlebot-Image/1.0". */
function productAround(ua: string, at: number): BotVerdict | null {
  let start = at;
  while (start > 0 && isNameChar(ua.charCodeAt(start - 1))) start--;
  return productAt(ua, start);
}

function productAt(ua: string, start: number): BotVerdict | null {
  let end = start;
  while (end < ua.length && isNameChar(ua.charCodeAt(end))) end++;
  const name = ua.slice(start, end).replace(/^[-_.]+|[-_.]+$/g, '');
  if (name.length < 2 || /^mozilla$/i.test(name)) return null;
  let version: string | null = null;
  if (ua[end] === '/') {
    const match = /^[\d][\w.]{0,31}/.exec(ua.slice(end + 1, end + 33));
    if (match) version = match[0];
  }
  return { name, version };
}

/** The first product of a UA that is not `Mozilla/x`. */
function firstProduct(ua: string): BotVerdict | null {
  const match = /^(?:mozilla\/[\d.]+\s*)?(?:\((?:compatible;\s*)?)?([a-z][\w.-]{1,63})/i.exec(ua);
  return match?.[1] !== undefined ? productAt(ua, match.index + match[0].length - match[1].length) : null;
}

function productAfterCompatible(ua: string): BotVerdict | null {
  const match = /compatible;?\s*([a-z][\w.-]{1,63})/i.exec(ua);
  if (match?.[1] !== undefined) return productAt(ua, match.index + match[0].length - match[1].length);
  return firstProduct(ua);
}
