export { redisStore } from './redis-session-store.js';
export type { RedisSessionStore, RedisStoreOptions } from './redis-session-store.js';
export type { RedisScriptClient } from './redis-scripts.js';
