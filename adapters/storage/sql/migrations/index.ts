export { migrationsFor } from './migration-list.js';
export type { MigrationContext, MigrationFactory } from './migration-context.js';
