import type { SessionInvalidation } from '../../../src/contracts.js';
import { invalidConfig, SessionError } from '../../../src/errors.js';
import { decodeInvalidation, encodeInvalidation } from '../../../src/internal/invalidation-message.js';

/**
 * The node-redis client methods {@link redisInvalidation} uses, typed structurally (no import of
 * `redis`): a connected `createClient()` instance fits as it is.
 */
export interface RedisInvalidationClient {
  publish(channel: string, message: string): Promise<unknown>;
  /** A new client with the same options, not yet connected: the channel's own subscriber. */
  duplicate(): RedisSubscriberClient;
}

/** The subscriber connection {@link RedisInvalidationClient.duplicate} returns (a node-redis client). */
export interface RedisSubscriberClient {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  destroy(): void;
}

/** Options of {@link redisInvalidation}. */
export interface RedisInvalidationOptions {
  /** A connected node-redis client: publishes go over it; it is duplicated for the subscriber, and never closed by the channel. */
  client: RedisInvalidationClient;
  /** The pub/sub channel; every server sharing the store must use the same one. Default `'sessionkeeper:invalidate'`. */
  channel?: string;
}

/**
 * Cross-server invalidation of the validation cache over Redis pub/sub: publishes on `client`, and
 * subscribes on a connection of its own, `client.duplicate()`, which it opens on `subscribe()` and
 * destroys on `close()` (the manager's `close()` calls it).
 *
 * Redis pub/sub delivers at most once: a message published while a subscriber is disconnected is
 * lost to it. So when its connection fails the subscriber reports "messages may have been lost"
 * (`null`: the manager drops its whole cache), and again once it is back and resubscribed, which
 * node-redis does by itself. While it is down, a change made elsewhere is seen within `cache.ttl`.
 *
 * @example
 * import { createClient } from 'redis';
 * import { redisInvalidation, redisStore } from 'sessionkeeper/redis';
 *
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const sessions = createSessionManager({
 *   store: redisStore({ client }),
 *   cache: { ttl: '2s', max: 10_000, invalidation: redisInvalidation({ client }) },
 * });
 */
export function redisInvalidation(options: RedisInvalidationOptions): SessionInvalidation {
  if (options === null || typeof options !== 'object') invalidConfig('redisInvalidation options', 'must be an object');
  const { client } = options;
  if (client === null || typeof client !== 'object' || typeof client.publish !== 'function' || typeof client.duplicate !== 'function') {
    invalidConfig('client', 'must be a node-redis client (createClient()), with publish() and duplicate()');
  }
  const channel = options.channel ?? 'sessionkeeper:invalidate';
  if (typeof channel !== 'string' || channel.length === 0 || channel.length > 200) {
    invalidConfig('channel', 'must be a non-empty string of at most 200 characters');
  }
  return new RedisInvalidation(client, channel);
}

// --- internal ---

/** Ids per message: keeps a revokeAll of a large account from becoming one huge message. */
const MAX_MESSAGE_BYTES = 64 * 1024;

class RedisInvalidation implements SessionInvalidation {
  readonly #client: RedisInvalidationClient;
  readonly #channel: string;
  #subscriber: RedisSubscriberClient | null = null;
  #closed = false;

  constructor(client: RedisInvalidationClient, channel: string) {
    this.#client = client;
    this.#channel = channel;
  }

  async publish(sessionIds: readonly string[]): Promise<void> {
    for (const message of encodeInvalidation(sessionIds, MAX_MESSAGE_BYTES)) await this.#client.publish(this.#channel, message);
  }

  async subscribe(onInvalidate: (sessionIds: readonly string[] | null) => void): Promise<void> {
    if (this.#closed) throw new SessionError('CLOSED', 'This invalidation channel is closed');
    if (this.#subscriber !== null) throw new SessionError('INVALID_ARGUMENT', 'redisInvalidation() subscribes once; create one per manager');
    const subscriber = this.#client.duplicate();
    this.#subscriber = subscriber;
    let lost = false;
    // A subscriber without an 'error' listener would crash the process when Redis goes away.
    subscriber.on('error', () => {
      if (lost || this.#closed) return;
      lost = true;
      onInvalidate(null);
    });
    subscriber.on('ready', () => {
      if (!lost || this.#closed) return;
      // node-redis resubscribes before 'ready'; whatever was published in between is gone.
      lost = false;
      onInvalidate(null);
    });
    try {
      await subscriber.connect();
      await subscriber.subscribe(this.#channel, (message) => {
        if (!this.#closed) onInvalidate(decodeInvalidation(message));
      });
    } catch (error) {
      this.#release();
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#release();
  }

  #release(): void {
    const subscriber = this.#subscriber;
    this.#subscriber = null;
    try {
      subscriber?.destroy();
    } catch {
      // Already closed: nothing to release.
    }
  }
}
