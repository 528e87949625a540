export { memoryStore } from './memory-session-store.js';
export type { MemoryStore, MemoryStoreOptions } from './memory-session-store.js';
