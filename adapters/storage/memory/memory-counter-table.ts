/**
 * One key's hit counts: a ring of the ten buckets ending at the newest one hit, bucket `b` in slot
 * `b % 10`. Older buckets are dropped as the window moves, so a hit earlier than the key's newest one
 * (a clock that went back) counts only the buckets still in the ring.
 */
export interface Counter {
  readonly key: string;
  bucketMs: number;
  newest: number;
  readonly hits: number[];
  /** Neighbours in the table's recency list: `prev` was hit less recently. */
  prev: Counter | null;
  next: Counter | null;
}

/**
 * Counters by key, in the order they were last hit. The order is a linked list, not the Map's own
 * insertion order: re-inserting on every hit and evicting from the front would leave the front of
 * the Map full of deleted slots, which every later eviction walks (10x slower per hit past the cap).
 */
export class CounterTable {
  readonly #byKey = new Map<string, Counter>();
  #oldest: Counter | null = null;
  #newest: Counter | null = null;

  get size(): number {
    return this.#byKey.size;
  }

  get(key: string): Counter | undefined {
    return this.#byKey.get(key);
  }

  /** Adds a counter, or marks an existing one as the most recently hit. */
  touch(counter: Counter): void {
    if (this.#newest === counter) return;
    if (this.#byKey.has(counter.key)) this.#unlink(counter);
    else this.#byKey.set(counter.key, counter);
    counter.prev = this.#newest;
    counter.next = null;
    if (this.#newest !== null) this.#newest.next = counter;
    else this.#oldest = counter;
    this.#newest = counter;
  }

  delete(counter: Counter): void {
    this.#unlink(counter);
    this.#byKey.delete(counter.key);
  }

  /** Least recently hit first; deleting the counter being visited is allowed. */
  *oldestFirst(): Generator<Counter> {
    for (let counter = this.#oldest; counter !== null; ) {
      const next = counter.next;
      yield counter;
      counter = next;
    }
  }

  clear(): void {
    this.#byKey.clear();
    this.#oldest = this.#newest = null;
  }

  #unlink(counter: Counter): void {
    if (counter.prev !== null) counter.prev.next = counter.next;
    else this.#oldest = counter.next;
    if (counter.next !== null) counter.next.prev = counter.prev;
    else this.#newest = counter.prev;
    counter.prev = counter.next = null;
  }
}
