import type { ActivityCategory } from '../contracts.js';

/**
 * A classification rule: the first rule whose `method` (if given) and `path` match decides the
 * category. Strings match as path prefixes; regular expressions are tested against the path.
 */
export interface CategoryRule {
  category: ActivityCategory;
  method?: string | readonly string[];
  path: string | RegExp;
}

export const ACTIVITY_CATEGORIES: readonly ActivityCategory[] = ['auth', 'session', 'data', 'admin', 'security', 'profile', 'other'];

/**
 * The built-in rules, tried after the application's own. They look at path segments, so
 * `/api/v1/auth/login` and `/login` are both `auth`.
 */
export const DEFAULT_CATEGORY_RULES: readonly CategoryRule[] = [
  { category: 'auth', path: /(?:^|\/)(?:auth|oauth2?|login|logout|log-?in|log-?out|sign-?in|sign-?out|sign-?up|register|token|mfa|2fa|otp|password|passwords|reset-password|verify|sso|saml|oidc)(?:\/|$)/i },
  { category: 'session', path: /(?:^|\/)sessions?(?:\/|$)/i },
  { category: 'admin', path: /(?:^|\/)(?:admin|administration|internal|backoffice|staff)(?:\/|$)/i },
  { category: 'security', path: /(?:^|\/)(?:security|api-?keys|keys|credentials|permissions|roles|audit|alerts|webauthn|passkeys)(?:\/|$)/i },
  { category: 'profile', path: /(?:^|\/)(?:me|profile|account|accounts|settings|preferences|avatar|users?\/me)(?:\/|$)/i },
  { category: 'data', path: /(?:^|\/)api(?:\/|$)/i },
];

/** Compiles rules once: classification runs for every recorded request. */
export function createClassifier(rules: readonly CategoryRule[]): (method: string | null, path: string | null) => ActivityCategory {
  const compiled = [...rules, ...DEFAULT_CATEGORY_RULES].map((rule) => {
    const methods = rule.method === undefined ? null : new Set((Array.isArray(rule.method) ? rule.method : [rule.method]).map((m: string) => m.toUpperCase()));
    const path = rule.path;
    const test = typeof path === 'string' ? (p: string) => p.startsWith(path) : (p: string) => path.test(p);
    return { category: rule.category, methods, test };
  });
  return (method, path) => {
    if (path === null) return 'other';
    for (const rule of compiled) {
      if (rule.methods !== null && (method === null || !rule.methods.has(method))) continue;
      if (rule.test(path)) return rule.category;
    }
    return 'other';
  };
}

/**
 * Finds the resource a REST path addresses: the last `collection/id` pair, where an id is a number,
 * a UUID, or a token with a digit in it. `/api/v1/conversations/123/messages/9` gives
 * `{ type: 'message', id: '9' }`; `/api/v1/conversations/123/messages` gives the conversation.
 */
export function extractResource(path: string | null): { type: string; id: string } | null {
  if (path === null) return null;
  const segments = path.split('/');
  for (let i = segments.length - 1; i > 0; i--) {
    const id = segments[i]!;
    const collection = segments[i - 1]!;
    if (isIdLike(id) && /^[a-z][a-z0-9_-]{0,63}$/i.test(collection) && !/^v\d+$/i.test(collection) && !isIdLike(collection)) {
      return { type: singular(collection.toLowerCase()), id: decodeSegment(id) };
    }
  }
  return null;
}

// --- internal ---

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isIdLike(segment: string): boolean {
  if (segment.length === 0 || segment.length > 128) return false;
  return /^\d+$/.test(segment) || UUID.test(segment) || (/\d/.test(segment) && /^[A-Za-z0-9_~.-]+$/.test(segment) && !/^v\d+$/i.test(segment));
}

function singular(word: string): string {
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(?:ses|xes|ches|shes)$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss') && word.length > 2) return word.slice(0, -1);
  return word;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
