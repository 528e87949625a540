/**
 * `npm run bench:device`: accuracy of `parseDevice` against Matomo Device Detector's labelled
 * fixtures, and parse throughput (uncached, cached, hostile input).
 *
 *   npm run bench:device                              # full file, ../shared/fixtures/user-agents/matomo.jsonl
 *   npm run bench:device -- --file path/to/rows.jsonl # another file in the same row format
 *   npm run bench:device -- --errors tv --limit 30    # print misclassified rows whose label is tv (or 'all')
 *   DEVICE_FIXTURE=path npm run bench:device          # same as --file
 *   BENCH_SECONDS=1 npm run bench:device              # time per throughput figure (default 2)
 *
 * The fixtures live outside the repository (they are LGPL test data; see their README). Row format:
 * { ua, device, browser, os, headers?, ... }; `device` is already normalised to sessionkeeper's classes.
 */
import { resolve } from 'node:path';
import type { DeviceClass } from '../src/contracts.js';
import { createDeviceParser, type DeviceInfo } from '../src/device/index.js';
import { fixtureExists, fixturePath, inputOf, loadRows, type FixtureRow as Row } from '../test/device/matomo-fixture.js';

const CLASSES: readonly DeviceClass[] = ['desktop', 'mobile', 'tablet', 'tv', 'console', 'wearable', 'embedded', 'bot', 'unknown'];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

// ---------------------------------------------------------------------------------------------
// Name mappings, Matomo vocabulary → sessionkeeper vocabulary. A row counts as correct when the
// mapped Matomo name equals sessionkeeper's name exactly.
// ---------------------------------------------------------------------------------------------

/**
 * OS renames: the same system under another name. Matomo writes "Mac", "GNU/Linux", "Chrome OS";
 * sessionkeeper writes what users see in their settings: "macOS", "Linux", "ChromeOS".
 */
const OS_RENAMES: Record<string, string> = {
  Mac: 'macOS',
  'GNU/Linux': 'Linux',
  'Chrome OS': 'ChromeOS',
  'Chromium OS': 'ChromeOS',
  'Arch Linux': 'Arch Linux',
  Mint: 'Linux Mint',
  'Haiku OS': 'Haiku',
  'BlackBerry OS': 'BlackBerry',
  'Symbian OS': 'Symbian',
  'Symbian OS Series 60': 'Symbian',
  'Symbian OS Series 40': 'Series 40',
  'Symbian^3': 'Symbian',
  'Nintendo Mobile': 'Nintendo',
  'PlayStation Portable': 'PlayStation',
  'Red Hat': 'Red Hat',
  palmOS: 'Palm',
};

/**
 * OS granularity: Matomo names the ROM or product line where sessionkeeper reports the platform an
 * app targets. Android forks and Android-based products (Fire OS, Android TV, Wear OS, CyanogenMod,
 * Meta Horizon, ...) are "Android"; Windows editions (CE, RT) are "Windows" with the edition in
 * `os.version`; Linux-based TV and signage platforms whose UAs name no OS of their own (Opera TV,
 * VIDAA, TiVo OS, Whale OS, ...) are "Linux". The OS figure is reported with renames only and with
 * renames plus this table; the target applies to the second.
 */
const OS_BASE_PLATFORM: Record<string, string> = {
  'Android TV': 'Android',
  'Fire OS': 'Android',
  'Wear OS': 'Android',
  CyanogenMod: 'Android',
  MocorDroid: 'Android',
  'Lineage OS': 'Android',
  'Smartisan OS': 'Android',
  YunOS: 'Android',
  'ClearOS Mobile': 'Android',
  HyperOS: 'Android',
  'Remix OS': 'Android',
  'Resurrection Remix OS': 'Android',
  MildWild: 'Android',
  'Sirin OS': 'Android',
  'Armadillo OS': 'Android',
  MyOS: 'Android',
  'Puffin OS': 'Android',
  'Meta Horizon': 'Android',
  'PICO OS': 'Android',
  'Windows CE': 'Windows',
  'Windows RT': 'Windows',
  'Opera TV': 'Linux',
  VIDAA: 'Linux',
  'TiVo OS': 'Linux',
  'Whale OS': 'Linux',
  'BrightSignOS': 'Linux',
  KreaTV: 'Linux',
  Ordissimo: 'Linux',
};

/**
 * Browser renames. Matomo gives the mobile build its own name ("Chrome Mobile", "Firefox Mobile",
 * "Opera Mobile", "Mobile Safari"); sessionkeeper names the product and leaves the form factor to
 * `class`. Other entries are spelling differences of the same product.
 */
const BROWSER_RENAMES: Record<string, string> = {
  'Chrome Mobile': 'Chrome',
  'Chrome Mobile iOS': 'Chrome',
  'Chrome Webview': 'Chrome WebView',
  'Mobile Safari': 'Safari',
  'Firefox Mobile': 'Firefox',
  'Firefox Mobile iOS': 'Firefox',
  'Opera Mobile': 'Opera',
  'Opera Next': 'Opera',
  'Microsoft Edge': 'Edge',
  'Edge WebView': 'Edge',
  'IE Mobile': 'Internet Explorer',
  'Samsung Browser': 'Samsung Internet',
  'Yandex Browser Lite': 'Yandex Browser',
  'Mi Browser': 'MIUI Browser',
  'Huawei Browser Mobile': 'Huawei Browser',
  'Mobile Silk': 'Silk',
  'Baidu Box App': 'Baidu',
  'Baidu Browser': 'Baidu',
  'Sogou Mobile Browser': 'Sogou Mobile',
  'UC Browser Turbo': 'UC Browser',
  'Puffin Web Browser': 'Puffin',
  HeyTapBrowser: 'HeyTap',
  'Google Search App': 'GSA',
  'vivo Browser': 'Vivo Browser',
  'Coc Coc': 'Coc Coc',
  'Meizu Browser': 'Meizu Browser',
  'Nokia Browser': 'NokiaBrowser',
  'Openwave Mobile Browser': 'UP.Browser',
  'Tizen Browser': 'Tizen Browser',
  'LG Browser': 'LG Browser',
};

// ---------------------------------------------------------------------------------------------

const args = process.argv.slice(2);
const argValue = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
};
const file = resolve(argValue('--file') ?? process.env.DEVICE_FIXTURE ?? fixturePath('matomo.jsonl'));
const showErrors = argValue('--errors');
const errorLimit = Number(argValue('--limit') ?? 40);
if (!fixtureExists(file)) {
  console.error(`No fixture file at ${file}. The Matomo fixtures live next to the repository in ../shared/fixtures/user-agents; pass --file to use another copy.`);
  process.exit(1);
}

// Row format and the conversion of the 19 JavaScript-API client-hint rows: test/device/matomo-fixture.ts.
const rows: Row[] = loadRows(file);
const inputs = rows.map(inputOf);

// --- accuracy ---

const parser = createDeviceParser({ cacheSize: 0 });
const results: DeviceInfo[] = inputs.map((input) => parser.parse(input));

const confusion = new Map<string, number>();
let classHits = 0;
for (let i = 0; i < rows.length; i++) {
  const expected = rows[i]!.device;
  const got = results[i]!.class;
  if (expected === got) classHits++;
  const key = `${expected}>${got}`;
  confusion.set(key, (confusion.get(key) ?? 0) + 1);
}
const count = (expected: DeviceClass | '*', got: DeviceClass | '*'): number => {
  let n = 0;
  for (const [key, value] of confusion) {
    const [e, g] = key.split('>');
    if ((expected === '*' || e === expected) && (got === '*' || g === got)) n += value;
  }
  return n;
};

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

console.log(`\nsessionkeeper device parser on ${file}`);
console.log(`${rows.length.toLocaleString('en-US')} rows\n`);
console.log(`device class accuracy: ${pct(classHits / rows.length)} (${classHits} of ${rows.length})`);

console.log('\nclass       rows    precision  recall   F1');
let f1Sum = 0;
for (const cls of CLASSES) {
  const tp = count(cls, cls);
  const precision = ratio(tp, count('*', cls));
  const recall = ratio(tp, count(cls, '*'));
  const f1 = ratio(2 * precision * recall, precision + recall);
  f1Sum += f1;
  console.log(`${cls.padEnd(10)} ${String(count(cls, '*')).padStart(6)}   ${pct(precision).padStart(7)}  ${pct(recall).padStart(7)}  ${pct(f1).padStart(6)}`);
}
console.log(`macro-F1 (9 classes): ${pct(f1Sum / CLASSES.length)}`);
console.log(`bot recall: ${pct(ratio(count('bot', 'bot'), count('bot', '*')))}   bot precision: ${pct(ratio(count('bot', 'bot'), count('*', 'bot')))}`);
// sessionkeeper counts HTTP libraries and command-line clients (curl, okhttp, undici, ...) as bots by
// design; Matomo labels them client type "library" on a device class of their own. Shown separately
// so the design difference is not mistaken for detection error.
const libraryAsBot = rows.filter((row, i) => row.device !== 'bot' && row.client_type === 'library' && results[i]!.isBot).length;
console.log(
  `  of the ${count('*', 'bot') - count('bot', 'bot')} non-bot rows called bots, ${libraryAsBot} are Matomo "library" clients; ` +
    `precision without them: ${pct(ratio(count('bot', 'bot'), count('*', 'bot') - libraryAsBot))}`,
);

console.log('\nconfusion (label → parsed), largest off-diagonal cells:');
const offDiagonal = [...confusion].filter(([key]) => key.split('>')[0] !== key.split('>')[1]).sort((a, b) => b[1] - a[1]);
console.log(offDiagonal.slice(0, 15).map(([key, n]) => `  ${key.replace('>', ' → ')}: ${n}`).join('\n'));

// --- names ---

function compareNames(label: string, expectedOf: (row: Row) => string | null, gotOf: (d: DeviceInfo) => string | null, map: (name: string) => string): void {
  let compared = 0;
  let hits = 0;
  const misses = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    const expected = expectedOf(rows[i]!);
    if (expected === null) continue;
    compared++;
    const got = gotOf(results[i]!);
    if (map(expected) === got) hits++;
    else misses.set(`${expected} → ${got}`, (misses.get(`${expected} → ${got}`) ?? 0) + 1);
  }
  const top = [...misses].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${k} (${n})`).join('; ');
  console.log(`${label}: ${pct(hits / compared)} of ${compared} rows with a label. Most frequent misses: ${top}`);
}

console.log('');
const osRenamed = (name: string): string => OS_RENAMES[name] ?? name;
compareNames('OS name, renames only', (r) => r.os, (d) => d.os.name, osRenamed);
compareNames('OS name, renames + base platform (target)', (r) => r.os, (d) => d.os.name, (name) => OS_BASE_PLATFORM[name] ?? osRenamed(name));
compareNames(
  'browser name (rows whose client is a browser)',
  (r) => (r.client_type === 'browser' ? r.browser : null),
  (d) => d.browser.name,
  (name) => BROWSER_RENAMES[name] ?? name,
);

// --- errors, on request ---

if (showErrors !== undefined) {
  console.log(`\nmisclassified rows (label ${showErrors}):`);
  let shown = 0;
  for (let i = 0; i < rows.length && shown < errorLimit; i++) {
    const row = rows[i]!;
    const got = results[i]!;
    if (row.device === got.class || (showErrors !== 'all' && row.device !== showErrors)) continue;
    shown++;
    console.log(`  ${row.device} → ${got.class} | ${got.label} | ${row.ua.slice(0, 220)}${row.headers ? ` | ${JSON.stringify(row.headers).slice(0, 200)}` : ''}`);
  }
}

// --- throughput ---

/** Runs `op` in batches until SECONDS have passed; returns operations per second. */
function opsPerSecond(op: (i: number) => unknown): number {
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  let done = 0;
  while (performance.now() < deadline) {
    for (let j = 0; j < 1000; j++) op(done + j);
    done += 1000;
  }
  return done / ((performance.now() - started) / 1000);
}

/** The cost of `parse` alone, from the rate of (build input + parse) and of (build input). */
const fmtCost = (withParse: number, buildOnly: number): string => {
  const micros = 1e6 / withParse - 1e6 / buildOnly;
  return `${micros.toFixed(3)} µs each (${Math.round(1 / (micros / 1e6)).toLocaleString('en-US')}/s)`;
};
const fmt = (ops: number): string => `${Math.round(ops).toLocaleString('en-US')}/s (${(1e6 / ops).toFixed(ops > 1e6 ? 3 : 1)} µs each)`;

console.log('\nthroughput');
const uncached = createDeviceParser({ cacheSize: 0 });
console.log(`  uncached, cycling over all ${inputs.length} rows: ${fmt(opsPerSecond((i) => uncached.parse(inputs[i % inputs.length]!)))}`);

// Cached lookups, two ways. Re-using the same string objects lets V8 reuse each string's cached
// hash: a lower bound. A server gets a new string from its HTTP parser on every request, so the second
// figure builds new strings per request and subtracts the cost of building them (measured alone).
const fresh = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');
const cachedParser = createDeviceParser({ cacheSize: 10_000 });
const distinct = [...new Set(rows.filter((row) => row.headers === undefined).map((row) => row.ua))].slice(0, 1000);
for (const userAgent of distinct) cachedParser.parse({ userAgent });
const sameStrings = distinct.map((userAgent) => ({ userAgent }));
console.log(`  cached, 1,000 distinct UAs, no headers, same string objects: ${fmt(opsPerSecond((i) => cachedParser.parse(sameStrings[i % 1000]!)))}`);
const buildPlain = (i: number) => ({ userAgent: fresh(distinct[i % 1000]!) });
const plainOps = opsPerSecond((i) => cachedParser.parse(buildPlain(i)));
const plainBuildOps = opsPerSecond(buildPlain);
console.log(`  cached, 1,000 distinct UAs, no headers, a new UA string per request: ${fmtCost(plainOps, plainBuildOps)}`);

// A Chrome request with the 15 headers Node hands over, 3 of them low-entropy client hints.
const nodeHeaders: Record<string, string> = {
  host: 'example.com',
  connection: 'keep-alive',
  'sec-ch-ua': '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
  'sec-ch-ua-mobile': '?0',
  'sec-ch-ua-platform': '"Windows"',
  'upgrade-insecure-requests': '1',
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-site': 'none',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-user': '?1',
  'sec-fetch-dest': 'document',
  'accept-encoding': 'gzip, deflate, br, zstd',
  'accept-language': 'en-GB,en;q=0.9',
  cookie: 'sid=skt_0123456789abcdefghijklmnopqrstuv',
};
const buildHinted = () => {
  const headers: Record<string, string> = { ...nodeHeaders };
  for (const name of ['user-agent', 'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform']) headers[name] = fresh(nodeHeaders[name]!);
  return { userAgent: headers['user-agent'], headers };
};
cachedParser.parse(buildHinted());
const hintedOps = opsPerSecond(() => cachedParser.parse(buildHinted()));
const hintedBuildOps = opsPerSecond(buildHinted);
console.log(`  cached, a Chrome request with 15 Node-style headers (3 hints), new strings per request: ${fmtCost(hintedOps, hintedBuildOps)}`);

// Hostile input: 100 KB strings built to provoke backtracking in the patterns (repeated tokens,
// unterminated comments, long runs of model-like and e-mail-like characters), as UA and as hints.
const HOSTILE_LENGTH = 100_000;
const fill = (unit: string): string => unit.repeat(Math.ceil(HOSTILE_LENGTH / unit.length)).slice(0, HOSTILE_LENGTH);
const hostile: Array<[string, { userAgent?: string; headers?: Record<string, string> }]> = [
  ['"a" × 100 KB', { userAgent: fill('a') }],
  ['"Mozilla/5.0 (" repeated', { userAgent: fill('Mozilla/5.0 (') }],
  ['"Android 1; " repeated', { userAgent: fill('Android 1; ') }],
  ['"(Linux; Android 10; " + 100 KB model', { userAgent: `Mozilla/5.0 (Linux; Android 10; ${fill('X')}` }],
  ['"a@" / "a." runs', { userAgent: fill('a.a@a') }],
  ['"bot " repeated', { userAgent: fill('bot ') }],
  ['"http://" repeated', { userAgent: fill('http://') }],
  ['spaces and semicolons', { userAgent: fill(' ;') }],
  ['digits (TV-model shaped)', { userAgent: `Mozilla/5.0 (Linux; Android 9; 55${fill('1')}` }],
  ['100 KB Sec-CH-UA of quotes', { userAgent: 'Mozilla/5.0', headers: { 'sec-ch-ua': fill('"\\'), 'sec-ch-ua-model': fill('"') } }],
  ['100 KB Sec-CH-UA of brands', { userAgent: 'Mozilla/5.0', headers: { 'sec-ch-ua-full-version-list': fill('"A";v="1", ') } }],
];
let worst = 0;
const hostileParser = createDeviceParser({ cacheSize: 0 });
const hostileTimes: string[] = [];
for (const [name, input] of hostile) {
  const runs = 20;
  const started = performance.now();
  for (let r = 0; r < runs; r++) hostileParser.parse(input);
  const ms = (performance.now() - started) / runs;
  worst = Math.max(worst, ms);
  hostileTimes.push(`${name}: ${ms.toFixed(3)} ms`);
}
console.log(`  100 KB hostile inputs, uncached, mean of 20 each; worst ${worst.toFixed(3)} ms (budget 5 ms):`);
console.log(hostileTimes.map((line) => `    ${line}`).join('\n'));
