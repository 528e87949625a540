import { deepFreeze } from '../../../../src/metadata.js';
import type { Lab, LabStatus } from '../../../../src/labs/types.js';
import { columnPositions, LAB_COLUMNS } from '../columns.js';
import type { Row } from '../sql-driver.js';
import { parseJson } from './json.js';

/** Where each column of {@link LAB_COLUMNS} sits in a row. */
const AT = columnPositions(LAB_COLUMNS);

/** Maps a row of {@link LAB_COLUMNS} to a frozen lab. */
export function toLab(row: Row): Lab {
  const error = row[AT.error] as string | null;
  return Object.freeze({
    id: row[AT.id] as string,
    sessionId: row[AT.session_id] as string,
    userId: row[AT.user_id] as string,
    template: row[AT.template] as string,
    status: row[AT.status] as LabStatus,
    network: Object.freeze({
      name: row[AT.network_name] as string,
      id: row[AT.network_id] as string | null,
      subnet: row[AT.subnet] as string,
      gateway: row[AT.gateway] as string,
    }),
    containers: deepFreeze(JSON.parse(row[AT.containers] as string) as Lab['containers']),
    createdAt: Number(row[AT.created_at]),
    updatedAt: Number(row[AT.updated_at]),
    expiresAt: Number(row[AT.expires_at]),
    extensions: Number(row[AT.extensions]),
    stopReason: row[AT.stop_reason] as Lab['stopReason'],
    error: error === null ? null : deepFreeze(parseJson(error)),
    subnetHeld: Number(row[AT.subnet_held]) === 1,
  });
}
