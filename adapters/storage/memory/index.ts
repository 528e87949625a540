export { memoryStore } from './memory-session-store.js';
export type { MemoryStoreOptions } from './memory-session-store.js';
