import { createHash } from 'node:crypto';
import type { Session, SessionMetadata } from '../../../../src/contracts.js';
import { deepFreeze, EMPTY_METADATA } from '../../../../src/metadata.js';
import { LruCache } from '../../../../src/internal/lru-cache.js';
import { columnPositions, SESSION_COLUMNS } from '../columns.js';
import type { Row } from '../sql-driver.js';
import { numberOrNull, parseJson } from './json.js';

/** Where each column of {@link SESSION_COLUMNS} sits in a row. */
const AT = columnPositions(SESSION_COLUMNS);

/** Parsed devices kept per store; most sessions come from a few browser builds. */
const DEVICE_CACHE_SIZE = 2_000;

/**
 * Marks a session read without its device JSON (the hot lookup reads only `device_key`) whose key
 * this store has not cached yet: the caller reads the row again, JSON included.
 */
export const UNRESOLVED_DEVICE: NonNullable<Session['device']> = Object.freeze({ class: 'unknown' });

/** The short key stored beside a device's JSON: 22 characters of its SHA-256. */
export function deviceKeyOf(json: string): string {
  return createHash('sha256').update(json).digest('base64url').slice(0, 22);
}

/**
 * Maps rows of {@link SESSION_COLUMNS} (or a list that starts with them) to sessions. Each row
 * carries a short key of its device JSON, and parsed devices are cached by that key (frozen, so
 * sessions share them): a validation reads 22 characters instead of the JSON and parses nothing.
 * The cache belongs to this mapper, so two stores never see each other's devices.
 */
export class SessionMapper {
  readonly #devices = new LruCache<NonNullable<Session['device']>>(DEVICE_CACHE_SIZE);

  /** Maps one row; an arrow function so it can be passed to `rows.map` as it is. */
  readonly toSession = (row: Row): Session => {
    const revokedAt = row[AT.revoked_at] as number | string | null;
    const metadata = row[AT.metadata] as string;
    return {
      id: row[AT.id] as string,
      userId: row[AT.user_id] as string,
      tenantId: row[AT.tenant_id] as string | null,
      status: revokedAt === null ? 'active' : 'revoked',
      // pg returns BIGINT as strings; SQLite returns numbers. Epoch ms fit a double exactly.
      createdAt: Number(row[AT.created_at]),
      lastActiveAt: Number(row[AT.last_active_at]),
      expiresAt: Number(row[AT.expires_at]),
      absoluteExpiresAt: Number(row[AT.absolute_expires_at]),
      revokedAt: numberOrNull(revokedAt),
      revokeReason: row[AT.revoke_reason] as string | null,
      ip: row[AT.ip] as string | null,
      userAgent: row[AT.user_agent] as string | null,
      device: this.#device(row[AT.device_key] as string | null, row[AT.device] as string | null),
      metadata: metadata === '{}' ? EMPTY_METADATA : (parseJson(metadata) as SessionMetadata),
    };
  };

  /** The session of the first row, or null for no rows. */
  first(rows: readonly Row[]): Session | null {
    return rows.length === 0 ? null : this.toSession(rows[0]!);
  }

  /** How many parsed devices this mapper holds (for tests). */
  get cachedDevices(): number {
    return this.#devices.size;
  }

  // --- internal ---

  #device(key: string | null, json: string | null): Session['device'] {
    if (key === null) return json === null ? null : (parseJson(json) as Session['device']);
    const cached = this.#devices.get(key);
    if (cached !== undefined) return cached;
    if (json === null) return UNRESOLVED_DEVICE;
    const device = deepFreeze(parseJson(json) as NonNullable<Session['device']>);
    this.#devices.set(key, device);
    return device;
  }
}

/** The metadata JSON text of a session row. */
export function metadataOf(row: Row): string {
  return row[AT.metadata] as string;
}

/** The id of a session row. */
export function sessionIdOf(row: Row): string {
  return row[AT.id] as string;
}
