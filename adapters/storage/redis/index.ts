export { redisStore, RedisSessionStore } from './redis-session-store.js';
export type { RedisStoreOptions } from './redis-session-store.js';
export type { RedisScriptClient } from './redis-scripts.js';
