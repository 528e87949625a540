import { resolveConfig } from './manager/config.js';
import { DefaultSessionManager } from './manager/default-session-manager.js';
import type { SessionManager, SessionManagerOptions } from './manager/types.js';

export type {
  CreateSessionInput,
  ExtendOptions,
  InvalidReason,
  ManagerCapabilities,
  SessionManager,
  SessionManagerOptions,
  SessionPreset,
  ValidateContext,
  ValidationCacheOptions,
  ValidationResult,
} from './manager/types.js';

/**
 * Creates a session manager over a store. Options are checked here, once: a bad one throws
 * `SessionError` with code `INVALID_CONFIG` naming the field. The activity log and the alerts use
 * `activityStore` / `alertStore`, or else `store` where it offers those capabilities; a feature
 * without a store is off, said once on the console (see `SessionManager.capabilities`).
 *
 * @example
 * const store = sqliteStore({ filename: 'sessions.db' });
 * await store.migrate();
 * const sessions = createSessionManager({ store, idleTimeout: '30m', absoluteTimeout: '7d' });
 * // Sessions in memory, the audit trail in SQLite:
 * const split = createSessionManager({ store: memoryStore(), activityStore: store, alertStore: store });
 */
export function createSessionManager(options: SessionManagerOptions): SessionManager {
  return new DefaultSessionManager(resolveConfig(options));
}
