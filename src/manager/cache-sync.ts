import type { SessionInvalidation } from '../contracts.js';
import type { ResolvedCache } from './config.js';
import { ValidationCache } from './validation-cache.js';

/**
 * The validation cache with its invalidation channel: changes made here drop the sessions locally
 * and are published; messages from other servers drop them here.
 */
export class CacheSync {
  readonly cache: ValidationCache;
  readonly #channel: SessionInvalidation | null;
  readonly #onError: (error: unknown) => void;

  constructor(config: ResolvedCache) {
    const channel = config.invalidation;
    this.#channel = channel;
    this.#onError = config.onError;
    // With a channel, nothing is cached before it delivers: a change announced meanwhile would be missed.
    const cache = new ValidationCache(config.ttlMs, config.max, channel === null);
    this.cache = cache;
    if (channel === null) return;
    const onInvalidate = (ids: readonly string[] | null): void => {
      if (ids === null) cache.clear();
      else cache.drop(ids);
    };
    // Called here, in a try: a channel that throws synchronously is reported like one that rejects.
    const subscribed = Promise.resolve().then(() => channel.subscribe(onInvalidate));
    subscribed.then(
      () => cache.enable(),
      (error: unknown) => this.#report(error),
    );
  }

  /**
   * These sessions changed here: dropped at once, then published. The publish is not awaited: the
   * store write has happened, and a broker that is slow or down must not hold up or fail it.
   */
  changed(sessionIds: readonly string[]): void {
    if (sessionIds.length === 0) return;
    this.cache.drop(sessionIds);
    const channel = this.#channel;
    if (channel === null) return;
    Promise.resolve()
      .then(() => channel.publish(sessionIds))
      .catch((error: unknown) => this.#report(error));
  }

  /** Closes the channel; the caller's client or pool stays open. */
  async close(): Promise<void> {
    this.cache.clear();
    await this.#channel?.close();
  }

  // --- internal ---

  #report(error: unknown): void {
    try {
      this.#onError(error);
    } catch {
      // A failing error handler must not become an unhandled rejection.
    }
  }
}
