/**
 * The PII filter of the activity log. Activity is kept for months and read by support staff, so
 * it must not become a second copy of credentials or personal data: query strings are dropped
 * unless allow-listed, and anything in a path or in `details` that looks like a secret, an email
 * address or a card number is replaced by a marker saying what was removed.
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secret whatever they look like. */
const SECRET_KEY =
  /pass(?:word|wd|phrase)|secret|token|api[-_]?key|(?:^|[-_.])auth(?:orization)?(?:$|[-_.])|cookie|session[-_]?id|credential|private[-_]?key|^otp$|^pin$|cvv|cvc|ssn/i;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// A sessionkeeper token, a JWT, a bearer-style secret: a long run of token characters with digits.
// Bounded by lookarounds on token characters rather than \b, because a token may end in '-'; and
// matching only at the start of a run keeps the lookaheads linear.
const TOKEN_LIKE =
  /(?<![A-Za-z0-9_-])(?:skt_[A-Za-z0-9_-]{8,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,})(?![A-Za-z0-9_-])/g;
const CARD_CANDIDATE = /\b\d(?:[ -]?\d){12,18}\b/g;
const MAX_DEPTH = 8;
const MAX_STRING = 1024;

/**
 * Cleans a request path for storage: drops the query string except allow-listed parameters and
 * redacts secret-looking segments (e.g. `/reset-password/<token>`).
 */
export function sanitizePath(raw: string, allowedQueryParams: ReadonlySet<string>): string {
  const bounded = raw.length > 2048 ? raw.slice(0, 2048) : raw;
  const queryStart = bounded.indexOf('?');
  const pathname = queryStart === -1 ? bounded : bounded.slice(0, queryStart);
  let query = '';
  if (queryStart !== -1 && allowedQueryParams.size > 0) {
    const kept = new URLSearchParams();
    for (const [key, value] of new URLSearchParams(bounded.slice(queryStart + 1))) {
      if (allowedQueryParams.has(key)) kept.append(key, redactString(value));
    }
    const text = kept.toString();
    if (text !== '') query = `?${text}`;
  }
  return redactString(pathname) + query;
}

/**
 * Deep-copies `details` with secrets redacted: values under secret-sounding keys, and strings that
 * look like tokens, email addresses or card numbers. Strings are cut to 1,024 characters and
 * nesting to 8 levels, so one event cannot bloat the log.
 */
export function redactDetails(details: unknown): Record<string, unknown> | null {
  if (details === null || details === undefined || typeof details !== 'object' || Array.isArray(details)) return null;
  return redactValue(details, 0) as Record<string, unknown>;
}

/** Replaces token-, email- and card-number-like runs in a string. */
export function redactString(value: string): string {
  let result = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (result.includes('@')) result = result.replace(EMAIL, '[redacted:email]');
  result = result.replace(TOKEN_LIKE, '[redacted:token]');
  if (/\d{4}/.test(result)) result = result.replace(CARD_CANDIDATE, (run) => (passesLuhn(run) ? '[redacted:card]' : run));
  return result;
}

// --- internal ---

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (typeof value !== 'object' || depth >= MAX_DEPTH) return value === undefined ? null : REDACTED;
  if (Array.isArray(value)) return value.slice(0, 100).map((item) => redactValue(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (typeof child === 'function' || typeof child === 'symbol' || child === undefined) continue;
    out[key] = SECRET_KEY.test(key) ? REDACTED : redactValue(child, depth + 1);
  }
  return out;
}

function passesLuhn(run: string): boolean {
  const digits = run.replace(/[ -]/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
