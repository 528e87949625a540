/**
 * A labelled corpus for the activity log's PII filter (issue #11, attack 8), recorded through
 * `activity.record()` by redaction.test.ts.
 *
 * - POSITIVES hold personal data or credentials; `secrets` lists every substring that must not
 *   reach the stored row (recall: a sample counts as caught only if all of them are gone).
 * - NEGATIVES are realistic paths and details without any: ids, dates, UUIDs, semver, IPs, prices,
 *   timestamps, order numbers, ISBNs, barcodes, digests of public objects, slugs, user agents and
 *   keys that merely contain a secret word. A negative is a false positive if its stored path or
 *   details differ from what was recorded in any way.
 *
 * Generated from a fixed seed, so the figures are reproducible.
 */

export interface Sample {
  kind: string;
  path?: string;
  details?: Record<string, unknown>;
}

export interface Positive extends Sample {
  /** Substrings that must not appear anywhere in the stored row. */
  secrets: string[];
}

/** Query parameters the corpus's manager keeps, so that values in them are matched too. */
export const ALLOWED_QUERY_PARAMS = ['page', 'q', 'sort', 'email', 'phone', 'to', 'sig', 'ref'];

// --- a seeded generator (mulberry32) ---

let seed = 0x5e55_1011;
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
const digits = (n: number) => Array.from({ length: n }, () => int(0, 9)).join('');
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');
const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(0, 255));
const base64 = (n: number) => Buffer.from(bytes(n)).toString('base64');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function luhnComplete(prefix: string, length: number): string {
  let body = prefix + digits(length - prefix.length - 1);
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  body += String((10 - (sum % 10)) % 10);
  return body;
}

// --- positives ---

const EMAILS = ['alice@example.com', 'bob.smith+news@mail.example.org', 'carol_92@example.net', 'd.o.e@sub.example.co.uk', 'Eve.Adams@Example.COM', 'frank-o@example.io'];
const CARD_BRANDS: Array<[prefix: string, length: number, grouping: number[]]> = [
  ['4', 16, [4, 4, 4, 4]], // Visa
  ['51', 16, [4, 4, 4, 4]], // Mastercard
  ['55', 16, [4, 4, 4, 4]],
  ['2221', 16, [4, 4, 4, 4]], // Mastercard 2-series
  ['34', 15, [4, 6, 5]], // Amex
  ['37', 15, [4, 6, 5]],
  ['6011', 16, [4, 4, 4, 4]], // Discover
  ['35', 16, [4, 4, 4, 4]], // JCB
  ['62', 19, [4, 4, 4, 4, 3]], // UnionPay
  ['4', 13, [4, 4, 5]], // old Visa
];
const PHONES = [
  '+14155550123', '+1 415 555 0123', '+1 (415) 555-0123', '+1-415-555-0123', '+44 20 7946 0958', '+44 7700 900123',
  '+49 30 12345678', '+33 1 23 45 67 89', '+91 98765 43210', '+81 3-1234-5678', '+61 2 9876 5432', '+55 11 91234-5678',
  '(415) 555-0123', '415-555-0123', '415.555.0123', '415 555 0123', '1-415-555-0123', '(212)555-0199',
  '020 7946 0958', '07700 900123', '01 23 45 67 89', '030 12345678', '089 1234567', '02 9876 5432', '03-1234-5678', '06 12 34 56 78',
];
const SSNS = ['123-45-6789', '219-09-9999', '078-05-1120', '512-34-0001'];
const AWS_KEY_IDS = ['AKIAIOSFODNN7EXAMPLE', 'ASIAY34FZKBOKMUTVV7A', 'AKIA2OGYBAH6Q3XV5F7L'];
const SECRET_KEYS = [
  'otp', 'otpCode', 'otp_code', 'OTP', 'pin', 'PIN', 'userPin', 'pin_code', 'pwd', 'newPwd', 'passcode', 'mfaCode', 'mfa_code', 'MFA-Code',
  '2faCode', 'verificationCode', 'verification_code', 'one_time_code', 'oneTimeCode', 'smsCode', 'totp', 'password', 'newPassword',
  'x-api-key', 'apiKey', 'sessionId', 'securityCode', 'cvv', 'recoveryCodes', 'resetCode', 'clientSecret', 'refresh_token',
  'accessKeyId', 'privateKey', 'phone', 'phoneNumber', 'ssn', 'Authorization', 'basicAuth', 'cookie',
];

function cardSamples(): Positive[] {
  const out: Positive[] = [];
  for (const [prefix, length, grouping] of CARD_BRANDS) {
    for (const separator of ['', ' ', '-', '.', '_']) {
      const number = luhnComplete(prefix, length);
      let at = 0;
      const grouped = separator === '' ? number : grouping.map((g) => number.slice(at, (at += g))).join(separator);
      const text = pick([`card ${grouped} on file`, `paid with ${grouped}`, grouped, `${grouped} exp 12/27`]);
      out.push({ kind: 'card', details: { note: text }, secrets: [grouped] });
      if (separator !== ' ') out.push({ kind: 'card', path: `/api/payments/cards/${grouped}/verify`, secrets: [grouped] });
    }
  }
  return out;
}

export const POSITIVES: Positive[] = [
  ...EMAILS.flatMap((email): Positive[] => [
    { kind: 'email', details: { note: `contact ${email} about the invoice` }, secrets: [email] },
    { kind: 'email', path: `/u/${email}/settings`, secrets: [email] },
    { kind: 'email', path: `/u/${encodeURIComponent(email)}`, secrets: [email, encodeURIComponent(email)] },
    { kind: 'email (double-encoded)', path: `/api/users/${encodeURIComponent(encodeURIComponent(email))}/profile`, secrets: [email, encodeURIComponent(email)] },
    { kind: 'email (query)', path: `/invite?email=${encodeURIComponent(email)}&page=2`, secrets: [email, encodeURIComponent(email)] },
    { kind: 'email (url in details)', details: { referrer: `https://app.example.test/invite?to=${encodeURIComponent(email)}` }, secrets: [email, encodeURIComponent(email)] },
  ]),
  ...cardSamples(),
  ...PHONES.flatMap((phone): Positive[] => [
    { kind: 'phone', details: { note: `call me at ${phone} after 5pm` }, secrets: [phone] },
    { kind: 'phone', details: { contact: phone }, secrets: [phone] },
    { kind: 'phone (path, encoded)', path: `/api/contacts/${encodeURIComponent(phone)}/call`, secrets: [phone, encodeURIComponent(phone)] },
    { kind: 'phone (query)', path: `/sms/send?phone=${encodeURIComponent(phone).replaceAll('%20', '+')}`, secrets: [phone, encodeURIComponent(phone)] },
  ]),
  ...SSNS.flatMap((ssn): Positive[] => [
    { kind: 'ssn', details: { note: `ssn on file: ${ssn}` }, secrets: [ssn] },
    { kind: 'ssn', path: `/verify/identity/${ssn}`, secrets: [ssn] },
  ]),
  ...SECRET_KEYS.map((key): Positive => {
    const value = key.toLowerCase().includes('code') || /^(otp|pin|totp|passcode|pin_code|userpin|cvv)$/i.test(key) ? digits(6) : `v-${hex(6)}`;
    return { kind: `key ${key}`, details: { step: 'verify', [key]: value }, secrets: [value] };
  }),
  { kind: 'key (nested, number)', details: { user: { id: 7, pin: 4821 } }, secrets: ['4821'] },
  { kind: 'key (list)', details: { recoveryCodes: ['k3j4-h5g6', 'p9o8-i7u6'] }, secrets: ['k3j4-h5g6', 'p9o8-i7u6'] },
  ...AWS_KEY_IDS.flatMap((id): Positive[] => [
    { kind: 'aws key id', details: { note: `deploy used ${id} from CI` }, secrets: [id] },
    { kind: 'aws key id', path: `/admin/iam/keys/${id}`, secrets: [id] },
  ]),
  ...Array.from({ length: 12 }, (_, i): Positive => {
    const secret = base64(pick([24, 32, 33, 48, 64]));
    return i % 3 === 0
      ? { kind: 'base64 secret (path, encoded)', path: `/hooks/${encodeURIComponent(secret)}`, secrets: [secret, encodeURIComponent(secret)] }
      : i % 3 === 1
        ? { kind: 'base64 secret', details: { note: `rotated the signing key to ${secret}` }, secrets: [secret] }
        : { kind: 'base64 secret (query)', path: `/callback?sig=${encodeURIComponent(secret)}`, secrets: [secret, encodeURIComponent(secret)] };
  }),
  { kind: 'base64 secret', details: { note: 'secret key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }, secrets: ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'] },
  { kind: 'authorization header', details: { header: 'Basic dXNlcjpwYXNzd29yZA==' }, secrets: ['dXNlcjpwYXNzd29yZA=='] },
  { kind: 'authorization header', details: { header: 'Bearer 4f2c9e1a7b3d5f60' }, secrets: ['4f2c9e1a7b3d5f60'] },
  { kind: 'jwt', details: { note: 'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl' }, secrets: ['eyJhbGciOiJIUzI1NiJ9'] },
  { kind: 'token', path: `/reset-password/skt_${hex(32)}`, secrets: ['skt_'] },
  { kind: 'token', path: `/reset-password/${base64(32).replace(/[+/=]/g, '').slice(0, 40)}`, secrets: [] },
];
// The last sample's secret is only known once generated: fill it in.
POSITIVES[POSITIVES.length - 1]!.secrets.push(POSITIVES[POSITIVES.length - 1]!.path!.slice('/reset-password/'.length));

// --- negatives ---

const WORDS = ['running', 'shoes', 'winter', 'sale', 'quarterly', 'report', 'team', 'offsite', 'berlin', 'notes', 'draft', 'final', 'invoice', 'design', 'review', 'kitchen', 'garden', 'blue'];
const slug = () => Array.from({ length: int(2, 4) }, () => pick(WORDS)).join('-');
const date = () => `${int(2019, 2026)}-${pad(int(1, 12))}-${pad(int(1, 28))}`;
const semver = () => `${int(0, 20)}.${int(0, 30)}.${int(0, 99)}`;
const ipv4 = () => `${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`;
const ipv6 = () => `2001:db8:${hex(4)}:${hex(4)}::${hex(int(1, 4))}`;
const isbn13 = () => pick(['978-3-16-148410-0', '978-0-306-40615-7', '978-1-4028-9462-6', '979-8-6024-0545-3', '9780306406157', '9781861972712']);
const isbn10 = () => pick(['0-306-40615-2', '0306406152', '1-86197-271-7', '0-19-853453-1']);
const ean = () => pick(['4006381333931', '5901234123457', '4012345678901', '8712345678906', '3017620422003', '7622210449283']);
const seconds = () => String(int(1_500_000_000, 1_800_000_000));
const millis = () => String(int(1_500_000_000_000, 1_800_000_000_000));
const price = () => pick([`${int(1, 999)}.${pad(int(0, 99))}`, `${int(1, 9)},${int(100, 999)}.${pad(int(0, 99))}`, `${int(1, 99)},${pad(int(0, 99))}`]);
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.85 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86',
  'okhttp/4.12.0',
  'curl/8.5.0',
];

const PATHS: Array<() => string> = [
  () => `/api/v1/conversations/${int(1, 99999)}`,
  () => `/api/v1/conversations/${int(1, 9999)}/messages/${int(1, 999999)}`,
  () => `/api/v1/users/${int(1, 9_999_999)}/orders/${int(1, 99_999_999)}`,
  () => `/api/v2/items/${uuid()}`,
  () => `/api/v2/categories/${uuid()}/items`,
  () => `/blog/${date().replaceAll('-', '/')}/${slug()}`,
  () => `/releases/v${semver()}`,
  () => `/downloads/app-${semver()}-linux-x64.tar.gz`,
  () => `/admin/ips/${ipv4()}`,
  () => `/admin/ips/${encodeURIComponent(ipv6())}`,
  () => `/products/${slug()}-${int(100, 99999)}`,
  () => `/orders/ORD-${int(2019, 2026)}-${digits(6)}`,
  () => `/orders/${int(10_000_000, 99_999_999)}`,
  () => `/books/isbn/${isbn13()}`,
  () => `/books/${isbn10()}`,
  () => `/products/ean/${ean()}`,
  () => `/repos/acme/web/commits/${hex(40)}`,
  () => `/repos/acme/web/tree/${hex(40)}/src`,
  () => `/v2/library/nginx/manifests/sha256:${hex(64)}`,
  () => `/objects/${hex(64)}`,
  () => `/blobs/sha256:${hex(64)}`,
  () => `/assets/app.${hex(8)}.js`,
  () => `/reports/${date()}`,
  () => `/reports/${pad(int(1, 28))}.${pad(int(1, 12))}.${int(2019, 2026)}`,
  () => `/events/${seconds()}`,
  () => `/events/${millis()}/replay`,
  () => `/search?q=${pick(WORDS)}+${pick(WORDS)}&page=${int(1, 40)}`,
  () => `/search?q=size+${int(36, 46)}+${pick(WORDS)}&sort=price`,
  () => `/api/prices/${price()}`,
  () => `/tracking/1Z${hex(6).toUpperCase()}${digits(10)}`,
  () => `/maps/@${(int(-90_000_000, 90_000_000) / 1e6).toFixed(6)},${(int(-180_000_000, 180_000_000) / 1e6).toFixed(6)},12z`,
  () => `/static/fonts/inter-var.woff2`,
  () => `/api/v1/teams/${int(1, 999)}/members/${int(1, 99999)}/roles`,
  () => `/files/${slug()}.pdf`,
  () => `/files/${encodeURIComponent(`${pick(WORDS)} ${pick(WORDS)} ${date()}.pdf`)}`,
  () => `/u/${pick(['jdoe', 'alice_w', 'bob-smith', 'carol92', 'dev.ops'])}`,
  () => `/invoices/INV-${int(2019, 2026)}-${digits(4)}`,
  () => `/api/v1/metrics/${date()}T${pad(int(0, 23))}:${pad(int(0, 59))}:00Z`,
  () => `/calendar/${date()}/${pad(int(0, 23))}${pad(int(0, 59))}`,
  () => `/api/v3/devices/${hex(2)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(2)}`.toUpperCase(),
  () => `/jobs/JIRA-${int(100, 99999)}`,
  () => `/zip/${int(10000, 99999)}`,
  () => `/api/v1/builds/${int(2019, 2026)}.${pad(int(1, 12))}.${pad(int(1, 28))}.${int(1, 9999)}`,
  () => `/api/v1/stores/${int(1, 999)}/hours/${pad(int(6, 11))}:00-${int(17, 22)}:00`,
  () => `/api/v1/accounts/${int(1, 99)}/transactions?page=${int(1, 99)}&sort=-date`,
];

const DETAILS: Array<() => Record<string, unknown>> = [
  () => ({ orderId: `ORD-${int(2019, 2026)}-${digits(6)}`, total: price(), currency: pick(['EUR', 'USD', 'GBP']) }),
  () => ({ isbn: isbn13(), title: slug() }),
  () => ({ ean: ean(), quantity: int(1, 12) }),
  () => ({ ip: ipv4(), forwardedFor: `${ipv4()}, ${ipv4()}` }),
  () => ({ ipv6: ipv6() }),
  () => ({ version: semver(), previous: semver() }),
  () => ({ userAgent: pick(USER_AGENTS) }),
  () => ({ commit: hex(40), branch: pick(['main', 'release/2.4', 'fix/login-redirect']) }),
  () => ({ sha256: hex(64) }),
  () => ({ integrity: `sha384-${base64(48)}` }),
  () => ({ etag: `"${hex(40)}"` }),
  () => ({ createdAt: `${date()}T${pad(int(0, 23))}:${pad(int(0, 59))}:${pad(int(0, 59))}.${digits(3)}Z` }),
  () => ({ ts: millis(), seconds: seconds() }),
  () => ({ requestId: uuid(), traceId: hex(32), spanId: hex(16) }),
  () => ({ note: `Shipped ${int(1, 9)} items on ${date()} at ${pad(int(0, 23))}:${pad(int(0, 59))}` }),
  () => ({ note: `Build ${int(2019, 2026)}.${pad(int(1, 12))}.${pad(int(1, 28))}.${int(1, 9999)} deployed to ${pick(['staging', 'prod'])}` }),
  () => ({ note: `Version ${semver()} (build ${int(10, 99)}H${int(1, 9)})` }),
  () => ({ note: `lat ${(int(-90_000_000, 90_000_000) / 1e6).toFixed(6)}, lon ${(int(-180_000_000, 180_000_000) / 1e6).toFixed(6)}` }),
  () => ({ coords: `+${(int(0, 90_000_000) / 1e6).toFixed(6)},-${(int(0, 180_000_000) / 1e6).toFixed(6)}` }),
  () => ({ note: `Order #${int(10000, 99999)} total $${price()}` }),
  () => ({ note: `Release ${semver()}-beta.${int(1, 9)}+build.${int(1, 999)}` }),
  () => ({ duration: `${pad(int(0, 23))}:${pad(int(0, 59))}:${pad(int(0, 59))}`, timezone: pick(['+05:30', '-08:00', '+0100', 'UTC']) }),
  () => ({ serial: `SN-${digits(8)}`, mac: `${hex(2)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(2)}`.toUpperCase() }),
  () => ({ date: pick([`${pad(int(1, 12))}/${pad(int(1, 28))}/${int(2019, 2026)}`, `${pad(int(1, 28))}.${pad(int(1, 12))}.${int(2019, 2026)}`]), time: `${pad(int(0, 23))}:${pad(int(0, 59))}` }),
  () => ({ httpDate: new Date(Date.UTC(int(2019, 2026), int(0, 11), int(1, 28), int(0, 23))).toUTCString() }),
  () => ({ count: `${int(1, 9)},${int(100, 999)},${int(100, 999)}`, amount: `€ ${int(1, 9)}.${int(100, 999)},${pad(int(0, 99))}` }),
  () => ({ tracking: `1Z${hex(6).toUpperCase()}${digits(10)}`, carrier: 'UPS' }),
  () => ({ spinner: true, opinion: pick(['great', 'meh']), shipping: pick(['express', 'standard']), pinned: true, author: 'Jane Doe' }),
  () => ({ countryCode: pick(['DE', 'US', 'FR']), statusCode: pick([200, 404, 500]), zipCode: String(int(10000, 99999)), promoCode: `SPRING${int(20, 26)}` }),
  () => ({ authMethod: pick(['oauth', 'password', 'passkey']), tokensUsed: int(10, 99999), keyboard: 'de', passenger: int(1, 4) }),
  () => ({ publicKeyId: uuid(), keyId: `key-${int(1, 99)}`, secretary: 'J. Smith', pineapple: int(1, 5) }),
  () => ({ query: `${pick(WORDS)} ${pick(WORDS)} size ${int(36, 46)}`, page: int(1, 40), filters: { color: pick(['red', 'blue']), inStock: true } }),
  () => ({ path: `/api/v1/conversations/${int(1, 9999)}/messages`, referrer: `https://www.example.test/${slug()}?utm_source=newsletter&utm_campaign=${slug()}` }),
  () => ({ file: `/Users/${pick(['JohnSmith', 'AnnaLee'])}/Documents/${slug()}-${int(2019, 2026)}.docx` }),
  () => ({ image: `registry.example.test/acme/api@sha256:${hex(64)}` }),
  () => ({ language: 'en-US,en;q=0.9,de;q=0.8', screen: `${int(800, 3840)}x${int(600, 2160)}` }),
  () => ({ room: `Room ${int(100, 999)}, floor ${int(1, 9)}`, ticket: `JIRA-${int(100, 99999)}`, invoice: `${int(2019, 2026)}-${digits(6)}` }),
];

export const NEGATIVES: Sample[] = [
  ...Array.from({ length: 450 }, (_, i): Sample => ({ kind: 'path', path: PATHS[i % PATHS.length]!() })),
  ...Array.from({ length: 380 }, (_, i): Sample => ({ kind: 'details', details: DETAILS[i % DETAILS.length]!() })),
];
