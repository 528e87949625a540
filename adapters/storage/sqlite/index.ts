export { sqliteStore } from './sqlite-session-store.js';
export type { SqliteStoreOptions } from './sqlite-session-store.js';
export type { SqliteDatabase, SqliteStatement } from './sqlite-driver.js';
