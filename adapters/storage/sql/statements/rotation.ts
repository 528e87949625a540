import { sql, type Kysely, type OnConflictBuilder, type UpdateQueryBuilder } from 'kysely';
import { ROTATED_TOKEN_COLUMNS, ROTATED_TOKEN_FIND_COLUMNS, SESSION_COLUMNS } from '../columns.js';
import { param, prepare } from '../prepared.js';
import type { SqlTableNames } from '../tables.js';
import type { SqlDriverCapabilities } from '../sql-driver.js';
import { isActive, touchColumns } from './sessions.js';

/** The rotation statements, compiled once per store. */
export type RotationStatements = ReturnType<typeof rotationStatements>;

/**
 * The token swap of `rotateToken`, the record of the replaced hash, and the statements that read and
 * prune those records. With `writableCtes` the swap and the record are one statement (`rotateAndRecord`);
 * otherwise `rotate` then `record` in one transaction.
 */
export function rotationStatements(db: Kysely<any>, tables: SqlTableNames, capabilities: SqlDriverCapabilities) {
  const table = tables.rotatedTokens;
  const swap = db
    .updateTable(tables.sessions)
    .set({ token_hash: param('nextHash'), ...touchColumns('now') })
    .where('token_hash', '=', param('currentHash'))
    .where(isActive('now'))
    .returning(SESSION_COLUMNS);
  return {
    rotate: prepare(swap, true),
    rotateAndRecord: capabilities.writableCtes ? prepare(rotateAndRecord(db, table, swap), true) : undefined,
    // Run after `rotate` succeeded, in the same transaction.
    record: prepare(
      db
        .insertInto(table)
        .values({ token_hash: param('currentHash'), session_id: param('sessionId'), user_id: param('userId'), rotated_at: param('now') })
        .onConflict(latestWins),
    ),
    find: prepare(db.selectFrom(table).select(ROTATED_TOKEN_FIND_COLUMNS).where('token_hash', '=', param('tokenHash')), true),
    // Batched lookups (arrayParameters): many hashes in one query.
    findMany: capabilities.arrayParameters
      ? prepare(db.selectFrom(table).select(ROTATED_TOKEN_COLUMNS).where('token_hash', '=', sql<string>`any(${param('tokenHashes')})`))
      : undefined,
    deleteBefore: prepare(
      db
        .deleteFrom(table)
        .where('token_hash', 'in', db.selectFrom(table).select('token_hash').where('rotated_at', '<', param('cutoff')).limit(param('limit')))
        .returning('token_hash'),
    ),
  };
}

// --- internal ---

/** Hashes are random, so one is rotated away once; should one ever come back, its latest rotation wins. */
function latestWins(oc: OnConflictBuilder<any, any>) {
  return oc.column('token_hash').doUpdateSet({
    session_id: sql.ref('excluded.session_id'),
    user_id: sql.ref('excluded.user_id'),
    rotated_at: sql.ref('excluded.rotated_at'),
  });
}

/**
 * The swap and the record in one statement. Every data-modifying CTE runs, read or not, and
 * `recorded` inserts a row only if `rotated` updated one.
 */
function rotateAndRecord(db: Kysely<any>, table: string, swap: UpdateQueryBuilder<any, string, string, any>) {
  return db
    .with('rotated', () => swap)
    .with('recorded', (qb) =>
      qb
        .insertInto(table)
        .columns(ROTATED_TOKEN_COLUMNS)
        .expression((eb) =>
          eb
            .selectFrom('rotated')
            .select([
              sql<string>`cast(${param('currentHash')} as text)`.as('token_hash'),
              'id',
              'user_id',
              sql<number>`cast(${param('now')} as bigint)`.as('rotated_at'),
            ]),
        )
        .onConflict(latestWins),
    )
    .selectFrom('rotated')
    .select(SESSION_COLUMNS);
}
