import { invalidConfig } from '../../../src/errors.js';

/** Names of the tables a SQL store uses, after `tablePrefix` is applied. */
export interface SqlTableNames {
  sessions: string;
  activity: string;
  alerts: string;
  rotatedTokens: string;
  counters: string;
  labs: string;
  migrations: string;
  migrationLock: string;
}

const PREFIX_PATTERN = /^[a-z_][a-z0-9_]{0,30}$/;

/** Validates a table prefix or schema name; they are identifiers, never user input. */
export function checkIdentifier(value: string, field: string): string {
  if (typeof value !== 'string' || (value !== '' && !PREFIX_PATTERN.test(value))) {
    invalidConfig(field, `must match ${PREFIX_PATTERN} (lowercase letters, digits, underscores)`);
  }
  return value;
}

/** The table names for a `tablePrefix` (already checked by {@link checkIdentifier}). */
export function tableNames(prefix: string): SqlTableNames {
  return {
    sessions: `${prefix}sessions`,
    activity: `${prefix}activity`,
    alerts: `${prefix}alerts`,
    rotatedTokens: `${prefix}rotated_tokens`,
    counters: `${prefix}counters`,
    labs: `${prefix}labs`,
    migrations: `${prefix}migrations`,
    migrationLock: `${prefix}migrations_lock`,
  };
}
