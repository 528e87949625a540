import type { Row } from './sql-driver.js';

/** Keys per batched lookup; larger batches only lengthen the slowest caller's wait. */
const MAX_LOOKUP_BATCH = 256;

/**
 * Coalesces the lookups by key issued in one tick into queries of at most 256 keys (`= any($1)`):
 * over a network the round trip, not the indexed lookup, limits lookups per second.
 */
export class LookupBatcher<T> {
  readonly #query: (keys: string[]) => Promise<Row[]>;
  readonly #keyOf: (row: Row) => string;
  readonly #toValue: (row: Row) => T;
  #pending: Map<string, LookupWaiter<T>[]> | null = null;

  /** `query` reads the rows of some keys; `keyOf` says which key a row answers; `toValue` maps it. */
  constructor(query: (keys: string[]) => Promise<Row[]>, keyOf: (row: Row) => string, toValue: (row: Row) => T) {
    this.#query = query;
    this.#keyOf = keyOf;
    this.#toValue = toValue;
  }

  /** The value for `key`, or null when no row has it; rejects with the query's error. */
  lookup(key: string): Promise<T | null> {
    return new Promise<T | null>((resolve, reject) => {
      if (this.#pending === null) {
        this.#pending = new Map();
        process.nextTick(() => void this.#flush());
      }
      const waiters = this.#pending.get(key);
      if (waiters === undefined) this.#pending.set(key, [{ resolve, reject }]);
      else waiters.push({ resolve, reject });
    });
  }

  // --- internal ---

  async #flush(): Promise<void> {
    const pending = this.#pending!;
    this.#pending = null;
    const keys = [...pending.keys()];
    for (let start = 0; start < keys.length; start += MAX_LOOKUP_BATCH) {
      const chunk = keys.slice(start, start + MAX_LOOKUP_BATCH);
      try {
        const rows = await this.#query(chunk);
        for (const row of rows) {
          const key = this.#keyOf(row);
          const value = this.#toValue(row);
          for (const waiter of pending.get(key) ?? []) waiter.resolve(value);
          pending.delete(key);
        }
        for (const key of chunk) for (const waiter of pending.get(key) ?? []) waiter.resolve(null);
      } catch (err) {
        for (const key of chunk) for (const waiter of pending.get(key) ?? []) waiter.reject(err);
      }
    }
  }
}

interface LookupWaiter<T> {
  resolve(value: T | null): void;
  reject(error: unknown): void;
}
