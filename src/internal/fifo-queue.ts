/**
 * A first-in-first-out queue on an array and a head index: O(1) push, take and drop-oldest, without
 * the O(n) copy of `Array.prototype.shift()`. The consumed front is cut off now and then, so a
 * queue that never empties under load does not grow without end. The bound (how many may wait, and
 * whether the newest or the oldest gives way) is the owner's: the activity log and the alert engine
 * decide differently.
 */
export class FifoQueue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** Items waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest item, removed; `undefined` when empty. */
  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    // Released at once: a taken item must not be kept alive by the array until the next cut.
    this.#items[this.#head++] = undefined;
    this.#compact();
    return item;
  }

  /** Up to `count` of the oldest items, removed, oldest first. */
  shiftMany(count: number): T[] {
    const end = Math.min(this.#items.length, this.#head + Math.max(0, count));
    const taken = this.#items.slice(this.#head, end) as T[];
    this.#items.fill(undefined, this.#head, end);
    this.#head = end;
    this.#compact();
    return taken;
  }

  /** Drops the oldest item; false when there was none. */
  dropOldest(): boolean {
    if (this.length === 0) return false;
    this.shift();
    return true;
  }

  /** Puts `items` back in front of the queue, in their order (a batch whose write failed). */
  unshiftMany(items: readonly T[]): void {
    this.#items = items.concat(this.#items.slice(this.#head) as T[]);
    this.#head = 0;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }

  // --- internal ---

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
