import type { EpochMs, SessionStore } from '../contracts.js';
import { invalidConfig } from '../errors.js';
import type { LabStore } from '../labs/types.js';
import type { SessionManager } from './types.js';

/**
 * What components built on a manager (the lab provisioner) need from it: its store, so their rows
 * live beside the sessions, and its clock. Behind a registered symbol so that it is not public API,
 * and works across the package's separately bundled entry points.
 */
export const MANAGER_INTERNALS = Symbol.for('sessionkeeper.managerInternals');

export interface ManagerInternals {
  /** The manager's session store; the provisioner needs it to be a lab store too, as the built-in stores are. */
  readonly store: SessionStore & LabStore;
  readonly now: () => EpochMs;
}

/** The internals of a manager made by {@link createSessionManager}. */
export function managerInternals(manager: SessionManager): ManagerInternals {
  const internals = (manager as { [MANAGER_INTERNALS]?: () => ManagerInternals } | null)?.[MANAGER_INTERNALS];
  if (typeof internals !== 'function') invalidConfig('manager', 'must be a session manager made by createSessionManager()');
  return internals.call(manager);
}
