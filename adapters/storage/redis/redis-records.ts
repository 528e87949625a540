import type { NewSessionRecord, RotatedToken, Session, SessionDevice, SessionMetadata, SessionStatus } from '../../../src/contracts.js';
import { storeContractError } from '../../../src/errors.js';

/**
 * How a session lives in its Redis hash. Short field names keep the hash small; a null column is an
 * absent field; each top-level metadata key is its own field (`m:` + the key as JSON, the value as
 * JSON), so that a merge is one HSET of the patched keys and concurrent merges never overwrite each
 * other. `h` is the token's SHA-256 (the only form of the token the store ever sees).
 */
const METADATA_FIELD = 'm:';

/** The hash fields of a new session, flat as HSET takes them. */
export function sessionFields(record: NewSessionRecord): string[] {
  const fields = [
    'id', record.id,
    'u', record.userId,
    'st', 'active',
    'c', String(record.createdAt),
    'la', String(record.lastActiveAt),
    'e', String(record.expiresAt),
    'a', String(record.absoluteExpiresAt),
    'h', record.tokenHash,
  ];
  if (record.tenantId !== null) fields.push('tn', record.tenantId);
  if (record.ip !== null) fields.push('ip', record.ip);
  if (record.userAgent !== null) fields.push('ua', record.userAgent);
  if (record.device !== null) fields.push('dv', JSON.stringify(record.device));
  fields.push(...metadataFields(record.metadata));
  return fields;
}

/** The hash fields of a metadata patch: `m:<key as JSON>`, `<value as JSON>`, flat. */
export function metadataFields(metadata: SessionMetadata): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined) continue;
    fields.push(METADATA_FIELD + JSON.stringify(key), JSON.stringify(value));
  }
  return fields;
}

/** A session from the flat HGETALL reply of its hash. */
export function parseSession(reply: unknown, operation: string): Session {
  if (!Array.isArray(reply) || reply.length === 0) throw storeContractError(operation, 'Redis returned no session hash');
  const f: Record<string, string> = {};
  const metadata: string[] = [];
  for (let i = 0; i < reply.length; i += 2) {
    const field = String(reply[i]);
    const value = String(reply[i + 1]);
    if (field.startsWith(METADATA_FIELD)) metadata.push(`${field.slice(METADATA_FIELD.length)}:${value}`);
    else f[field] = value;
  }
  return {
    id: required(f, 'id', operation),
    userId: required(f, 'u', operation),
    tenantId: f.tn ?? null,
    status: required(f, 'st', operation) as SessionStatus,
    createdAt: Number(f.c),
    lastActiveAt: Number(f.la),
    expiresAt: Number(f.e),
    absoluteExpiresAt: Number(f.a),
    revokedAt: f.ra === undefined ? null : Number(f.ra),
    revokeReason: f.rr ?? null,
    ip: f.ip ?? null,
    userAgent: f.ua ?? null,
    device: f.dv === undefined ? null : (JSON.parse(f.dv) as SessionDevice),
    metadata: JSON.parse(`{${metadata.join(',')}}`) as SessionMetadata,
  };
}

/** A session or null, from a script that answers nil for "none". */
export function parseOptionalSession(reply: unknown, operation: string): Session | null {
  return reply === null || (Array.isArray(reply) && reply.length === 0) ? null : parseSession(reply, operation);
}

/** Sessions from a script's array of HGETALL replies; empty replies (keys gone meanwhile) are skipped. */
export function parseSessions(reply: unknown, operation: string): Session[] {
  if (!Array.isArray(reply)) throw storeContractError(operation, 'Redis returned no list of sessions');
  return reply.filter((item) => Array.isArray(item) && item.length > 0).map((item) => parseSession(item, operation));
}

/** A rotated-token record from the HGETALL reply of its hash, or null when there is none. */
export function parseRotatedToken(reply: unknown): RotatedToken | null {
  if (!Array.isArray(reply) || reply.length === 0) return null;
  const f: Record<string, string> = {};
  for (let i = 0; i < reply.length; i += 2) f[String(reply[i])] = String(reply[i + 1]);
  if (f.s === undefined || f.u === undefined || f.at === undefined) return null;
  return { sessionId: f.s, userId: f.u, rotatedAt: Number(f.at) };
}

// --- internal ---

function required(fields: Record<string, string>, name: string, operation: string): string {
  const value = fields[name];
  if (value === undefined) throw storeContractError(operation, `the session hash has no field ${name}`);
  return value;
}
