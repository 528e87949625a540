import type { Alert, AlertStatus } from '../../../../src/contracts.js';
import { ALERT_COLUMNS, columnPositions } from '../columns.js';
import type { Row } from '../sql-driver.js';
import { numberOrNull, parseJson } from './json.js';

/** Where each column of {@link ALERT_COLUMNS} sits in a row. */
export const ALERT_AT = columnPositions(ALERT_COLUMNS);

/** Maps a row of {@link ALERT_COLUMNS} to an alert. */
export function toAlert(row: Row): Alert {
  const at = ALERT_AT;
  return {
    id: row[at.id] as string,
    userId: row[at.user_id] as string | null,
    sessionId: row[at.session_id] as string | null,
    type: row[at.type] as string,
    severity: row[at.severity] as Alert['severity'],
    status: row[at.status] as AlertStatus,
    createdAt: Number(row[at.created_at]),
    lastSeenAt: Number(row[at.last_seen_at]),
    evidence: parseJson(row[at.evidence] as string),
    dedupKey: row[at.dedup_key] as string,
    count: Number(row[at.count]),
    updatedAt: numberOrNull(row[at.updated_at]),
    note: row[at.note] as string | null,
  };
}
