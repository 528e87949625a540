import type { ActivityRecord } from '../../../../src/contracts.js';
import { ACTIVITY_COLUMNS, ACTIVITY_TABLE, columnPositions } from '../columns.js';
import type { Row } from '../sql-driver.js';
import { numberOrNull, parseJson } from './json.js';

/** Where each column of {@link ACTIVITY_COLUMNS} sits in a row. */
const AT = columnPositions(ACTIVITY_COLUMNS as readonly (typeof ACTIVITY_TABLE)[number]['column'][]);

/** Maps a row of {@link ACTIVITY_COLUMNS} to an activity record. */
export function toActivity(row: Row): ActivityRecord {
  const details = row[AT.details] as string | null;
  return {
    id: row[AT.id] as string,
    sessionId: row[AT.session_id] as string,
    userId: row[AT.user_id] as string | null,
    ts: Number(row[AT.ts]),
    type: row[AT.type] as string,
    category: row[AT.category] as ActivityRecord['category'],
    method: row[AT.method] as string | null,
    path: row[AT.path] as string | null,
    status: numberOrNull(row[AT.status]),
    durationMs: numberOrNull(row[AT.duration_ms]),
    bytesIn: numberOrNull(row[AT.bytes_in]),
    bytesOut: numberOrNull(row[AT.bytes_out]),
    resourceType: row[AT.resource_type] as string | null,
    resourceId: row[AT.resource_id] as string | null,
    details: details === null ? null : parseJson(details),
  };
}

/** The value an activity record gives a column: `details` is stored as JSON text. */
export function activityValue(record: ActivityRecord, field: (typeof ACTIVITY_TABLE)[number]['field']): unknown {
  const value = record[field];
  return field === 'details' ? (value === null ? null : JSON.stringify(value)) : value;
}
