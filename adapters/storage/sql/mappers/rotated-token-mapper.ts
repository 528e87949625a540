import type { RotatedToken } from '../../../../src/contracts.js';
import { columnPositions, ROTATED_TOKEN_COLUMNS } from '../columns.js';
import type { Row } from '../sql-driver.js';

type RotatedTokenColumn = (typeof ROTATED_TOKEN_COLUMNS)[number];

/**
 * The mapper of rows selected with `columns` (a list of {@link ROTATED_TOKEN_COLUMNS} that includes
 * the three a rotated token is made of) to what `findRotatedToken` returns.
 */
export function rotatedTokenMapper(columns: readonly RotatedTokenColumn[]): (row: Row) => RotatedToken {
  const at = columnPositions(columns) as { readonly [K in RotatedTokenColumn]: number };
  return (row) => ({ sessionId: row[at.session_id] as string, userId: row[at.user_id] as string, rotatedAt: Number(row[at.rotated_at]) });
}

/** The replaced hash a row of {@link ROTATED_TOKEN_COLUMNS} is about. */
export function rotatedHashOf(row: Row): string {
  return row[HASH_AT] as string;
}

const HASH_AT = columnPositions(ROTATED_TOKEN_COLUMNS).token_hash;
