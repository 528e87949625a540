/**
 * A bounded cache that keeps recently used entries: an approximate LRU in two generations. New and
 * re-used entries go into the young generation; when it is full it becomes the old one and the
 * previous old generation is dropped whole. A hit in the young generation is a single `Map.get`,
 * with no reordering; a hit in the old one moves the entry back to the young one.
 *
 * Why not an exact LRU (delete and re-insert on every hit): deleting from a `Map` leaves a hole that
 * is only reclaimed by rehashing the whole table, which made a cache hit several times slower than
 * the lookup itself on the request path.
 */
export class LruCache<V> {
  readonly #generationSize: number;
  #young = new Map<string, V>();
  #old = new Map<string, V>();

  /** Holds at most `max` entries. `0` disables caching: `get` always misses and `set` stores nothing. */
  constructor(max: number) {
    this.#generationSize = Math.ceil(max / 2);
  }

  /** Entries currently held (at most `max`; an entry found in both generations counts twice). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  get(key: string): V | undefined {
    const value = this.#young.get(key);
    if (value !== undefined) return value;
    const old = this.#old.get(key);
    if (old !== undefined) this.#addYoung(key, old);
    return old;
  }

  set(key: string, value: V): void {
    if (this.#generationSize === 0) return;
    if (this.#young.has(key)) this.#young.set(key, value);
    else this.#addYoung(key, value);
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
  }

  // --- internal ---

  #addYoung(key: string, value: V): void {
    this.#young.set(key, value);
    if (this.#young.size >= this.#generationSize) {
      this.#old = this.#young;
      this.#young = new Map();
    }
  }
}
