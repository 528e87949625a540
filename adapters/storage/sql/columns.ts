import type { ActivityRecord } from '../../../src/contracts.js';

/**
 * The select lists of the SQL store. Statements return rows as arrays (cheaper than objects on the
 * hot path); the mappers read each value at the position {@link columnPositions} derives from the
 * list's column names, so a list can change order without a mapper reading the wrong column.
 */

/**
 * Columns a session is read from. Instants are epoch milliseconds in BIGINT columns; `device` and
 * `metadata` hold JSON text, `device_key` a short hash of the device JSON.
 */
export const SESSION_COLUMNS = [
  'id',
  'user_id',
  'tenant_id',
  'created_at',
  'last_active_at',
  'expires_at',
  'absolute_expires_at',
  'revoked_at',
  'revoke_reason',
  'ip',
  'user_agent',
  'device',
  'metadata',
  'device_key',
] as const;

/** A batched token lookup: a session and the hash it was found by, to route each row to its caller. */
export const SESSION_LOOKUP_COLUMNS = [...SESSION_COLUMNS, 'token_hash'] as const;

/** What `rotateToken` remembers of a replaced hash. */
export const ROTATED_TOKEN_COLUMNS = ['token_hash', 'session_id', 'user_id', 'rotated_at'] as const;

/** A lookup of one replaced hash reads the record without the hash it was found by. */
export const ROTATED_TOKEN_FIND_COLUMNS = ['session_id', 'user_id', 'rotated_at'] as const;

/**
 * The activity table, column by column in the order rows are read: the ActivityRecord field each
 * column holds, and its Postgres type (for the array parameters of the batch insert).
 */
export const ACTIVITY_TABLE = [
  { column: 'id', field: 'id', pgType: 'text' },
  { column: 'session_id', field: 'sessionId', pgType: 'text' },
  { column: 'user_id', field: 'userId', pgType: 'text' },
  { column: 'ts', field: 'ts', pgType: 'int8' },
  { column: 'type', field: 'type', pgType: 'text' },
  { column: 'category', field: 'category', pgType: 'text' },
  { column: 'method', field: 'method', pgType: 'text' },
  { column: 'path', field: 'path', pgType: 'text' },
  { column: 'status', field: 'status', pgType: 'int4' },
  { column: 'duration_ms', field: 'durationMs', pgType: 'int8' },
  { column: 'bytes_in', field: 'bytesIn', pgType: 'int8' },
  { column: 'bytes_out', field: 'bytesOut', pgType: 'int8' },
  { column: 'resource_type', field: 'resourceType', pgType: 'text' },
  { column: 'resource_id', field: 'resourceId', pgType: 'text' },
  { column: 'details', field: 'details', pgType: 'text' },
] as const satisfies readonly { column: string; field: keyof ActivityRecord; pgType: string }[];

/** Columns an activity record is read from. */
export const ACTIVITY_COLUMNS = ACTIVITY_TABLE.map((c) => c.column);

/** Columns an alert is read from. */
export const ALERT_COLUMNS = [
  'id',
  'user_id',
  'session_id',
  'type',
  'severity',
  'status',
  'created_at',
  'last_seen_at',
  'evidence',
  'dedup_key',
  'count',
  'updated_at',
  'note',
] as const;

/**
 * Columns a lab is read from. `subnet_held` is an integer 0/1 on every engine (SQLite has no
 * boolean); `containers` and `error` hold JSON text.
 */
export const LAB_COLUMNS = [
  'id',
  'session_id',
  'user_id',
  'template',
  'status',
  'network_name',
  'network_id',
  'subnet',
  'gateway',
  'subnet_held',
  'containers',
  'created_at',
  'updated_at',
  'expires_at',
  'extensions',
  'stop_reason',
  'error',
] as const;

/** The two counts of the lab caps, read in one statement. */
export const LAB_COUNT_COLUMNS = ['of_user', 'total'] as const;

/** The one column of an aggregate (`count(*)`, `sum(hits)`). */
export const COUNT_COLUMNS = ['n'] as const;

/**
 * The position of each column in a select list, by name.
 *
 * @example
 * const at = columnPositions(['id', 'user_id'] as const);
 * row[at.user_id] // the user id of a row selected with that list
 */
export function columnPositions<const C extends readonly string[]>(columns: C): { readonly [K in C[number]]: number } {
  const positions: Record<string, number> = {};
  columns.forEach((column, i) => {
    positions[column] ??= i;
  });
  return Object.freeze(positions) as { readonly [K in C[number]]: number };
}
