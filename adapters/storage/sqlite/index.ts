export { sqliteStore } from './sqlite-session-store.js';
export type { SqliteDatabase, SqliteStatement, SqliteStoreOptions } from './sqlite-session-store.js';
