import { sql, type Kysely } from 'kysely';
import { SESSION_COLUMNS, SESSION_LOOKUP_COLUMNS } from '../columns.js';
import { param, prepare } from '../prepared.js';
import type { SqlDriverCapabilities } from '../sql-driver.js';

/** The session statements, compiled once per store. */
export type SessionStatements = ReturnType<typeof sessionStatements>;

/** A session is active while not revoked and before its idle deadline `now`. */
export function isActive(now: string) {
  return sql<boolean>`revoked_at is null and expires_at > ${param(now)}`;
}

/** Touch and rotate never move activity or the idle deadline backwards. */
export function touchColumns(at: string) {
  return {
    last_active_at: sql`case when last_active_at > ${param(at)} then last_active_at else ${param(at)} end`,
    expires_at: sql`case when expires_at > ${param('idleExpiresAt')} then expires_at else ${param('idleExpiresAt')} end`,
  };
}

/**
 * Statements over the sessions table: lookups, the writes of create/validate/revoke and the
 * metadata merge. `rowLocks` adds `FOR UPDATE` to the locked read; `jsonb` adds the one-statement merge.
 */
export function sessionStatements(db: Kysely<any>, table: string, capabilities: SqlDriverCapabilities) {
  return { ...sessionReads(db, table, capabilities), ...sessionWrites(db, table), ...metadataStatements(db, table, capabilities) };
}

// --- internal ---

/** Lookups by token hash and id, and the reads of a user's sessions. */
function sessionReads(db: Kysely<any>, table: string, capabilities: SqlDriverCapabilities) {
  const select = () => db.selectFrom(table).select(SESSION_COLUMNS);
  return {
    // The hot lookup reads the device's short key, not its JSON; see SessionMapper.
    byTokenHash: prepare(
      db
        .selectFrom(table)
        .select(SESSION_COLUMNS.map((column) => (column === 'device' ? sql<null>`null`.as('device') : column)))
        .where('token_hash', '=', param('tokenHash')),
      true,
    ),
    byId: prepare(select().where('id', '=', param('id')), true),
    // Batched lookups (arrayParameters): many hashes in one query, each row ending with its hash.
    byTokenHashes: capabilities.arrayParameters
      ? prepare(db.selectFrom(table).select(SESSION_LOOKUP_COLUMNS).where('token_hash', '=', sql<string>`any(${param('tokenHashes')})`))
      : undefined,
    activeOfUserOldestFirst: prepare(
      select().where('user_id', '=', param('userId')).where(isActive('now')).orderBy('last_active_at').orderBy('created_at').orderBy('id'),
    ),
    activeOfUser: prepare(
      select().where('user_id', '=', param('userId')).where(isActive('now')).orderBy('last_active_at', 'desc').orderBy('created_at', 'desc'),
    ),
    allOfUser: prepare(select().where('user_id', '=', param('userId')).orderBy('last_active_at', 'desc').orderBy('created_at', 'desc')),
    countActive: prepare(db.selectFrom(table).select(sql<number>`count(*)`.as('n')).where('user_id', '=', param('userId')).where(isActive('now'))),
  };
}

/** Insert, touch, extend, revoke and clean-up. */
function sessionWrites(db: Kysely<any>, table: string) {
  return {
    insert: prepare(
      db
        .insertInto(table)
        .values({
          id: param('id'),
          token_hash: param('tokenHash'),
          user_id: param('userId'),
          tenant_id: param('tenantId'),
          created_at: param('createdAt'),
          last_active_at: param('lastActiveAt'),
          expires_at: param('expiresAt'),
          absolute_expires_at: param('absoluteExpiresAt'),
          ip: param('ip'),
          user_agent: param('userAgent'),
          device: param('device'),
          device_key: param('deviceKey'),
          metadata: param('metadata'),
        })
        .returning(SESSION_COLUMNS),
      true,
    ),
    touch: prepare(db.updateTable(table).set(touchColumns('at')).where('id', '=', param('id')).where(isActive('at')).returning(SESSION_COLUMNS), true),
    // min(expires_at + byMs, absolute_expires_at, max(expires_at, cap)), read and written in one
    // statement so that concurrent extends cannot pass the cap. expires_at <= absolute_expires_at always.
    extend: prepare(
      db
        .updateTable(table)
        .set({
          expires_at: sql`case
            when expires_at >= ${param('maxIdleExpiresAt')} then expires_at
            when expires_at + ${param('byMs')} <= ${param('maxIdleExpiresAt')} and expires_at + ${param('byMs')} <= absolute_expires_at then expires_at + ${param('byMs')}
            when ${param('maxIdleExpiresAt')} <= absolute_expires_at then ${param('maxIdleExpiresAt')}
            else absolute_expires_at end`,
        })
        .where('id', '=', param('id'))
        .where(isActive('now'))
        .returning(SESSION_COLUMNS),
      true,
    ),
    revoke: prepare(
      db
        .updateTable(table)
        .set({ revoked_at: param('at'), revoke_reason: param('reason') })
        .where('id', '=', param('id'))
        .where('revoked_at', 'is', null)
        .returning(SESSION_COLUMNS),
      true,
    ),
    revokeAllOfUser: prepare(
      db
        .updateTable(table)
        .set({ revoked_at: param('at'), revoke_reason: param('reason') })
        .where('user_id', '=', param('userId'))
        .where(isActive('at'))
        .where('id', '<>', param('exceptId'))
        .returning(SESSION_COLUMNS),
    ),
    deleteEnded: prepare(
      db
        .deleteFrom(table)
        .where(
          'id',
          'in',
          db
            .selectFrom(table)
            .select('id')
            .where(sql<boolean>`expires_at < ${param('cutoff')} or revoked_at < ${param('cutoff')}`)
            .limit(param('limit')),
        )
        .returning('id'),
    ),
  };
}

/** The metadata merge: a compare-and-swap, a locked read-merge-write, and with `jsonb` one UPDATE. */
function metadataStatements(db: Kysely<any>, table: string, capabilities: SqlDriverCapabilities) {
  const activeById = db.selectFrom(table).select(SESSION_COLUMNS).where('id', '=', param('id')).where(isActive('now'));
  return {
    lockActive: prepare(capabilities.rowLocks ? activeById.forUpdate() : activeById, true),
    activeById: prepare(activeById, true),
    swapMetadata: prepare(
      db
        .updateTable(table)
        .set({ metadata: param('metadata') })
        .where('id', '=', param('id'))
        .where('metadata', '=', param('old'))
        .where(isActive('now'))
        .returning(SESSION_COLUMNS),
      true,
    ),
    mergeJsonb: capabilities.jsonb
      ? prepare(
          db
            .updateTable(table)
            .set({ metadata: sql`(metadata::jsonb || ${param('patch')}::jsonb)::text` })
            .where('id', '=', param('id'))
            .where(isActive('now'))
            .where(sql<boolean>`octet_length((metadata::jsonb || ${param('patch')}::jsonb)::text) <= ${param('limit')}`)
            .returning(SESSION_COLUMNS),
          true,
        )
      : undefined,
    setMetadata: prepare(db.updateTable(table).set({ metadata: param('metadata') }).where('id', '=', param('id')).returning(SESSION_COLUMNS), true),
  };
}
