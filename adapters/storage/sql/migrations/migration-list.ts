import type { Migration } from 'kysely';
import { createSessions } from './0001-create-sessions.js';
import { createActivity } from './0002-create-activity.js';
import { createAlerts } from './0003-create-alerts.js';
import { createRotatedTokensAndCounters } from './0004-create-rotated-tokens-and-counters.js';
import { createLabs } from './0005-create-labs.js';
import { indexAlertsForRetention } from './0006-index-alerts-for-retention.js';
import type { MigrationContext, MigrationFactory } from './migration-context.js';

/**
 * Every migration under the name kysely's Migrator records for it. The names are what existing
 * databases have in their migrations table: never rename one. Add the next migration at the end.
 */
const MIGRATIONS: readonly (readonly [name: string, factory: MigrationFactory])[] = [
  ['0001_create_sessions', createSessions],
  ['0002_create_activity', createActivity],
  ['0003_create_alerts', createAlerts],
  ['0004_create_rotated_tokens_and_counters', createRotatedTokensAndCounters],
  ['0005_create_labs', createLabs],
  ['0006_index_alerts_for_retention', indexAlertsForRetention],
];

/** The migrations of one store, by name, as kysely's migration provider returns them. */
export function migrationsFor(context: MigrationContext): Record<string, Migration> {
  return Object.fromEntries(MIGRATIONS.map(([name, factory]) => [name, factory(context)]));
}
