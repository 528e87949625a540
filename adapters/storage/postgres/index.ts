export { postgresStore } from './postgres-session-store.js';
export type { PostgresStoreOptions } from './postgres-session-store.js';
export type { PostgresClient, PostgresPool, PostgresQueryConfig, PostgresQueryResult } from './postgres-driver.js';
export { postgresInvalidation } from './postgres-invalidation.js';
export type { PostgresInvalidationOptions, PostgresListenClient, PostgresListenPool } from './postgres-invalidation.js';
