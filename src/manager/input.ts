import type { Session } from '../contracts.js';
import { MAX_USER_AGENT_LENGTH } from '../device/index.js';
import { LruCache } from '../internal/lru-cache.js';
import { invalidArgument, SessionError } from '../errors.js';
import { cleanText, requireText } from '../internal/text.js';
import { normalizeIp } from '../net/ip-address.js';
import { TOKEN_LENGTH } from '../token.js';

/**
 * Checks of what callers hand the manager (ids, reasons, user agents, addresses), shared by its
 * methods. Internal: not exported from the package.
 */

const MAX_REASON_LENGTH = 64;

export function withStatus(session: Session, status: Session['status']): Session {
  return { ...session, status };
}

/** A token that is not a string is the caller's bug: client input is always a string. */
export function notAString(token: unknown): SessionError {
  return new SessionError('INVALID_TOKEN', `A token must be a string, not ${token === null ? 'null' : `a ${typeof token}`}`);
}

/** What is wrong with a string that is not a token, for messages; never the string itself. */
export function malformation(token: string): string {
  return token.length === 0 ? 'empty' : token.length > TOKEN_LENGTH ? 'too long' : 'wrong format';
}

/** A request's address for the alert rules: normalised, or null when absent or not an address. */
export function eventIp(ip: unknown): string | null {
  if (typeof ip !== 'string' || ip.length === 0) return null;
  // Clients repeat: a cache hit is one Map lookup where parsing costs about a microsecond.
  let normalized = normalizedIps.get(ip);
  if (normalized === undefined) {
    normalized = normalizeIp(ip) ?? '';
    normalizedIps.set(ip, normalized);
  }
  return normalized === '' ? null : normalized;
}

const normalizedIps = new LruCache<string>(4096);

export function truncateUserAgent(input: unknown): string | null {
  if (input === undefined || input === null || input === '') return null;
  if (typeof input !== 'string') throw invalidArgument('userAgent must be a string');
  // A user agent is whatever the client sent: clean it rather than refuse the sign-in.
  const value = cleanText(input);
  if (value.length <= MAX_USER_AGENT_LENGTH) return value;
  // Never cut between the two halves of a surrogate pair: a lone surrogate is not valid UTF-8, so a
  // SQL store would read back U+FFFD where the memory store returns the half character.
  const last = value.charCodeAt(MAX_USER_AGENT_LENGTH - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? MAX_USER_AGENT_LENGTH - 1 : MAX_USER_AGENT_LENGTH;
  return value.slice(0, end);
}

export function revokeReason(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  return requireText(value, 'reason', MAX_REASON_LENGTH);
}

export function notFound(id: string): SessionError {
  return new SessionError('SESSION_NOT_FOUND', `No session with id ${id}`);
}
