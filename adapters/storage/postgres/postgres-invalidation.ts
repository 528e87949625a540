import type { SessionInvalidation } from '../../../src/contracts.js';
import { invalidConfig, SessionError } from '../../../src/errors.js';
import { decodeInvalidation, encodeInvalidation } from '../../../src/internal/invalidation-message.js';
import type { PostgresClient, PostgresQueryConfig, PostgresQueryResult } from './postgres-driver.js';

/** A client that can LISTEN: the events of a `pg` client the channel uses, declared structurally. */
export interface PostgresListenClient extends PostgresClient {
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown;
}

/** The methods of a `pg.Pool` {@link postgresInvalidation} uses: a `pg.Pool` fits as it is. */
export interface PostgresListenPool {
  connect(callback: (error: Error | undefined, client: PostgresListenClient | undefined, done: (release?: any) => void) => void): void;
  query(config: PostgresQueryConfig): Promise<PostgresQueryResult>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Options of {@link postgresInvalidation}: your pool, or a connection string to open one for. */
export type PostgresInvalidationOptions = (
  | {
      /**
       * A pool you manage (the store's, say): NOTIFY goes through `pool.query`, and one client is
       * checked out for good to LISTEN on (count it in the pool's size). The channel never ends it.
       */
      pool: PostgresListenPool;
      connectionString?: never;
    }
  | {
      /** The channel opens a pool of two connections (`pg` is imported then) and ends it on close(). */
      connectionString: string;
      pool?: never;
    }
) & {
  /**
   * The LISTEN channel: a lowercase identifier (letters, digits, `_`, at most 63). Every server
   * sharing the store must use the same one. Default `'sessionkeeper_invalidate'`.
   */
  channel?: string;
};

/**
 * Cross-server invalidation of the validation cache over Postgres LISTEN/NOTIFY: `publish()` is one
 * `pg_notify()` per batch of ids (payloads stop at 8000 bytes), `subscribe()` LISTENs on a client of
 * its own from the pool.
 *
 * A notification sent while the listening connection is down is lost to it. So when that
 * connection fails the channel reports "messages may have been lost" (`null`: the manager drops its
 * whole cache), reconnects with backoff (0.1 s doubling to 5 s), and reports it again once it
 * listens again. While it is down, a change made elsewhere is seen within `cache.ttl`.
 *
 * @example
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 11 });
 * const sessions = createSessionManager({
 *   store: postgresStore({ pool }),
 *   cache: { ttl: '2s', invalidation: postgresInvalidation({ pool }) },
 * });
 */
export function postgresInvalidation(options: PostgresInvalidationOptions): SessionInvalidation {
  if (options === null || typeof options !== 'object') invalidConfig('postgresInvalidation options', 'must be { pool } or { connectionString }');
  const channel = options.channel ?? 'sessionkeeper_invalidate';
  if (typeof channel !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) {
    invalidConfig('channel', 'must be a lowercase identifier: letters, digits and _, at most 63, not starting with a digit');
  }
  if (options.pool !== undefined) {
    if (options.pool === null || typeof options.pool.query !== 'function' || typeof options.pool.connect !== 'function') {
      invalidConfig('pool', 'must be a pg.Pool (or have its connect and query methods)');
    }
    return new PostgresInvalidation(options.pool, false, channel);
  }
  const { connectionString } = options;
  if (typeof connectionString !== 'string' || connectionString.length === 0) invalidConfig('connectionString', 'must be non-empty, or give a pool');
  return new PostgresInvalidation(() => openPool(connectionString), true, channel);
}

// --- internal ---

/** NOTIFY refuses payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7900;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

class PostgresInvalidation implements SessionInvalidation {
  #pool: PostgresListenPool | null;
  #opening: Promise<PostgresListenPool> | null = null;
  readonly #open: (() => Promise<PostgresListenPool>) | null;
  readonly #owned: boolean;
  readonly #channel: string;
  #onInvalidate: ((sessionIds: readonly string[] | null) => void) | null = null;
  #listener: { client: PostgresListenClient; release: (error?: Error | boolean) => void } | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(pool: PostgresListenPool | (() => Promise<PostgresListenPool>), owned: boolean, channel: string) {
    this.#pool = typeof pool === 'function' ? null : pool;
    this.#open = typeof pool === 'function' ? pool : null;
    this.#owned = owned;
    this.#channel = channel;
  }

  async publish(sessionIds: readonly string[]): Promise<void> {
    const payloads = encodeInvalidation(sessionIds, MAX_PAYLOAD_BYTES);
    if (payloads.length === 0) return;
    const pool = await this.#opened();
    await pool.query({ text: 'SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', values: [this.#channel, payloads] });
  }

  async subscribe(onInvalidate: (sessionIds: readonly string[] | null) => void): Promise<void> {
    if (this.#closed) throw new SessionError('CLOSED', 'This invalidation channel is closed');
    if (this.#onInvalidate !== null) throw new SessionError('INVALID_ARGUMENT', 'postgresInvalidation() subscribes once; create one per manager');
    this.#onInvalidate = onInvalidate;
    try {
      await this.#listen();
    } catch (error) {
      this.#onInvalidate = null;
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#drop(true);
    if (!this.#owned) return;
    const pool = this.#pool ?? (this.#opening === null ? null : await this.#opening.catch(() => null));
    await pool?.end();
  }

  /** The pool; one given by connection string is opened once, on first use. */
  async #opened(): Promise<PostgresListenPool> {
    if (this.#pool !== null) return this.#pool;
    this.#opening ??= this.#open!().then((pool) => (this.#pool = pool));
    return this.#opening;
  }

  /** Checks a client out and LISTENs on it; its 'error' or 'end' starts a reconnect. */
  async #listen(): Promise<void> {
    const pool = await this.#opened();
    const lease = await new Promise<{ client: PostgresListenClient; release: (error?: Error | boolean) => void }>((resolve, reject) => {
      // The callback form: the 'error' listener is on before anything else can arrive on the socket.
      pool.connect((error, client, done) => {
        if (error || client === undefined) return reject(error);
        client.on('error', (failure) => this.#lost(client, failure));
        client.on('end', () => this.#lost(client, new Error('the LISTEN connection ended')));
        client.on('notification', (message) => {
          if (message.channel === this.#channel && this.#listener?.client === client) this.#onInvalidate?.(decodeInvalidation(message.payload));
        });
        resolve({ client, release: done });
      });
    });
    if (this.#closed) return void lease.release(true);
    this.#listener = lease;
    try {
      // A checked identifier: LISTEN takes no parameters.
      await lease.client.query(`LISTEN ${this.#channel}`);
    } catch (error) {
      this.#drop(error as Error);
      throw error;
    }
  }

  /** The listening connection failed: drop everything, then listen again with backoff. */
  #lost(client: PostgresListenClient, error: Error): void {
    if (this.#closed || this.#listener?.client !== client) return;
    this.#drop(error);
    this.#onInvalidate?.(null);
    this.#reconnect(FIRST_RETRY_MS);
  }

  #reconnect(delayMs: number): void {
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#listen().then(
        // Notifications sent while it was down are lost: what was cached since may be stale.
        () => this.#onInvalidate?.(null),
        () => {
          if (!this.#closed) this.#reconnect(Math.min(delayMs * 2, MAX_RETRY_MS));
        },
      );
    }, delayMs);
    this.#retry.unref();
  }

  /** Gives the listening client back, discarded: a pooled client must not keep listening. */
  #drop(error: Error | boolean): void {
    const listener = this.#listener;
    this.#listener = null;
    listener?.release(error);
  }
}

async function openPool(connectionString: string): Promise<PostgresListenPool> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString, max: 2, connectionTimeoutMillis: 5000, keepAlive: true });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => {});
  return pool;
}
