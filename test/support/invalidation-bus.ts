import { memoryStore } from '../../adapters/storage/memory/index.js';
import type { SessionInvalidation, SessionStore } from '../../src/index.js';
import { SESSION_METHODS } from './sessions-only-store.js';

/**
 * An in-process stand-in for Redis pub/sub: every channel of one bus hears every publish (its own
 * included), as subscribers of one Redis channel do. `lose()` drops everything published until
 * `deliver()`; `signalLoss()` tells every subscriber messages may have been lost.
 */
export function invalidationBus() {
  const subscribers = new Set<(ids: readonly string[] | null) => void>();
  let losing = false;
  const channel = (): SessionInvalidation & { closed: boolean } => {
    let listener: ((ids: readonly string[] | null) => void) | null = null;
    return {
      closed: false,
      async publish(ids) {
        if (losing || ids.length === 0) return;
        for (const subscriber of subscribers) subscriber([...ids]);
      },
      async subscribe(onInvalidate) {
        listener = onInvalidate;
        subscribers.add(onInvalidate);
      },
      async close() {
        this.closed = true;
        if (listener !== null) subscribers.delete(listener);
      },
    };
  };
  return {
    channel,
    lose: () => void (losing = true),
    deliver: () => void (losing = false),
    signalLoss: () => subscribers.forEach((subscriber) => subscriber(null)),
  };
}

/** Calls of each store method, counted by a wrapper around a memory store (session methods only). */
export function countingStore(inner: SessionStore = memoryStore()): { store: SessionStore; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const store: Record<string, unknown> = { kind: 'counting' };
  for (const method of SESSION_METHODS) {
    const fn = inner[method] as (...args: unknown[]) => unknown;
    calls[method] = 0;
    store[method] = (...args: unknown[]) => {
      calls[method]!++;
      return fn.apply(inner, args);
    };
  }
  return { store: store as unknown as SessionStore, calls };
}
