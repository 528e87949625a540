export { redisStore } from './redis-session-store.js';
export type { RedisSessionStore, RedisStoreOptions } from './redis-session-store.js';
export type { RedisScriptClient } from './redis-scripts.js';
export { redisInvalidation } from './redis-invalidation.js';
export type { RedisInvalidationClient, RedisInvalidationOptions, RedisSubscriberClient } from './redis-invalidation.js';
