import { hash } from 'node:crypto';
import { customAlphabet, nanoid } from 'nanoid';

/**
 * Tokens look like `skt_` + 32 URL-safe characters (192 bits from a CSPRNG). The fixed prefix lets
 * secret scanners (GitHub push protection, trufflehog, gitleaks) recognise a leaked token.
 */
export const TOKEN_PREFIX = 'skt_';
const TOKEN_BODY_LENGTH = 32;
export const TOKEN_LENGTH = TOKEN_PREFIX.length + TOKEN_BODY_LENGTH;
const TOKEN_PATTERN = /^skt_[A-Za-z0-9_-]{32}$/;

/** Session ids are public (they appear in lists and URLs) and are not secrets. */
const newId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 24);

export function generateToken(): string {
  return TOKEN_PREFIX + nanoid(TOKEN_BODY_LENGTH);
}

export function generateSessionId(): string {
  // Re-encoded as one flat string: a concatenated id is kept by V8 as a rope of fragments (a
  // ConsString), several times its size, and ids are held for as long as the session is stored.
  return Buffer.from(`ses_${newId()}`, 'latin1').toString('latin1');
}

export function generateAlertId(): string {
  return Buffer.from(`alr_${newId()}`, 'latin1').toString('latin1');
}

/** True when `token` has the shape of a sessionkeeper token. Says nothing about whether it is valid. */
export function isWellFormedToken(token: unknown): token is string {
  return typeof token === 'string' && token.length === TOKEN_LENGTH && TOKEN_PATTERN.test(token);
}

/**
 * The only form in which a token is stored: SHA-256, base64url (43 characters). A plain hash is
 * enough because tokens carry 192 random bits; there is nothing to brute-force.
 */
export function hashToken(token: string): string {
  // crypto.hash (Node >= 20.12) skips the Hash object and is ~3x faster than createHash() on this path.
  return hash('sha256', token, 'base64url');
}
