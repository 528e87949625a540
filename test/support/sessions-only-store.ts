import { memoryStore, type MemoryStoreOptions } from '../../adapters/storage/memory/index.js';
import type { SessionStore } from '../../src/index.js';

/** The method names of the required contract: the sessions and the rotation records, nothing else. */
export const SESSION_METHODS = [
  'migrate',
  'insert',
  'findByTokenHash',
  'findById',
  'touch',
  'extend',
  'rotateToken',
  'findRotatedToken',
  'deleteRotatedTokensBefore',
  'mergeMetadata',
  'revoke',
  'revokeAll',
  'listByUser',
  'countActive',
  'scan',
  'deleteEndedBefore',
  'close',
] as const satisfies readonly (keyof SessionStore)[];

/**
 * A store that implements ONLY the required {@link SessionStore} methods, as a minimal third-party
 * store would: the memory store's session methods on a plain object, with no activity, alert,
 * counter or lab method and no `capabilities` flags, so every optional capability is absent.
 */
export function sessionsOnlyStore(options?: MemoryStoreOptions): SessionStore {
  const inner = memoryStore(options);
  const store: Record<string, unknown> = { kind: 'sessions-only' };
  for (const method of SESSION_METHODS) {
    const fn = inner[method] as (...args: unknown[]) => unknown;
    store[method] = (...args: unknown[]) => fn.apply(inner, args);
  }
  return store as unknown as SessionStore;
}
