export { postgresStore } from './postgres-session-store.js';
export type { PostgresStoreOptions } from './postgres-session-store.js';
