import type { Alert, Session } from './contracts.js';
import { invalidArgument } from './errors.js';

/** Payloads of the manager's lifecycle events. Sessions never carry tokens. */
export interface SessionEvents {
  created: { session: Session };
  rotated: { session: Session };
  extended: { session: Session };
  /** Also emitted for sessions evicted by `maxSessionsPerUser` (reason `'limit'`). */
  revoked: { session: Session; reason: string };
  /** Emitted when `validate()` meets a session past its idle or absolute deadline. */
  expired: { session: Session; cause: 'idle' | 'absolute' };
  /**
   * An alert rule fired and its alert is stored: `created` for a new alert, `false` when the
   * occurrence was folded into an open one (its `count` grew). Any action has been taken.
   */
  alert: { alert: Alert; created: boolean };
}

export type SessionEventListener<E extends keyof SessionEvents> = (payload: SessionEvents[E]) => void | Promise<void>;

/**
 * A minimal typed emitter. Unlike node:events, a throwing or rejecting listener is isolated and
 * reported, so a buggy listener can never fail the operation that emitted.
 */
export class SessionEmitter<Events extends object = SessionEvents> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void | Promise<void>>>();
  readonly #onError: (error: unknown, event: keyof Events) => void;

  constructor(onError: (error: unknown, event: keyof Events) => void) {
    this.#onError = onError;
  }

  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void | Promise<void>): () => void {
    if (typeof listener !== 'function') throw invalidArgument('listener must be a function');
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined || set.size === 0) return;
    for (const listener of set) {
      try {
        const result = (listener as (payload: Events[E]) => void | Promise<void>)(payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.#report(error, event));
      } catch (error) {
        this.#report(error, event);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }

  #report(error: unknown, event: keyof Events): void {
    try {
      this.#onError(error, event);
    } catch {
      // The error reporter itself failed; there is nowhere left to report to.
    }
  }
}
