import type { EpochMs, Session } from '../contracts.js';
import { deepFreeze } from '../metadata.js';

/** An active session as one validation saw it, kept for `ttl`. */
interface Entry {
  readonly tokenHash: string;
  readonly session: Session;
  /** When the entry stops being served, by the manager's clock. */
  readonly until: EpochMs;
}

/** One generation of the cache: entries by token hash, and the same entries by session id. */
interface Generation {
  readonly byHash: Map<string, Entry>;
  readonly byId: Map<string, Entry>;
}

/**
 * The in-process cache of `validate()`: active sessions by token hash (raw tokens are never kept),
 * each for at most `ttlMs`, at most `max` of them (an approximate LRU in two generations, as
 * `LruCache`, so that a hit is one `Map.get`). An id index lets changes, local or announced by
 * other servers, drop entries by session id.
 *
 * Only successful validations are stored: unknown, revoked and expired tokens always go to the
 * store, so a flood of garbage tokens neither evicts good entries nor grows memory.
 *
 * A validation that read the store before a change was announced must not put the old state back
 * after it: every drop takes a sequence number and leaves a tombstone (in generations too, bounded
 * like the entries), and {@link fill} refuses a read older than a tombstone of its session, or
 * older than what the tombstones still remember.
 */
export class ValidationCache {
  readonly #ttlMs: number;
  readonly #generationSize: number;
  #young: Generation = newGeneration();
  #old: Generation = newGeneration();
  /** Off until the invalidation channel delivers: nothing is stored (so nothing served) meanwhile. */
  #enabled: boolean;

  #seq = 0;
  /** Sequence number of the last drop of everything. */
  #clearedAt = 0;
  #tombsYoung = new Map<string, number>();
  #tombsOld = new Map<string, number>();
  /** Reads older than this may have missed a tombstone that was since forgotten. */
  #tombFloor = 0;
  #tombsRotatedAt = 0;

  constructor(ttlMs: number, max: number, enabled: boolean) {
    this.#ttlMs = ttlMs;
    this.#generationSize = Math.ceil(max / 2);
    this.#enabled = enabled;
  }

  /** Entries currently held (an entry found in both generations counts twice). */
  get size(): number {
    return this.#young.byHash.size + this.#old.byHash.size;
  }

  /** Taken before a store read; handed back to {@link fill}. */
  get seq(): number {
    return this.#seq;
  }

  /** Starts serving (the invalidation channel is subscribed). */
  enable(): void {
    this.#enabled = true;
  }

  /**
   * The cached session of `tokenHash` while its entry is fresh at `now`; `undefined` means ask the
   * store. Deadlines are the caller's to check: the entry says what the store said.
   */
  get(tokenHash: string, now: EpochMs): Session | undefined {
    let entry = this.#young.byHash.get(tokenHash);
    if (entry === undefined) {
      entry = this.#old.byHash.get(tokenHash);
      if (entry === undefined || now >= entry.until) return undefined;
      this.#add(entry);
      return entry.session;
    }
    return now < entry.until ? entry.session : undefined;
  }

  /**
   * Stores what a validation read, unless a drop of that session (or of everything) came after
   * `seq`, the value of {@link seq} taken before the read. The session is frozen, since every hit
   * hands out the same object.
   */
  fill(tokenHash: string, session: Session, seq: number, now: EpochMs): void {
    if (!this.#enabled || this.#generationSize === 0) return;
    if (seq < this.#clearedAt || seq < this.#tombFloor) return;
    const tomb = this.#tombsYoung.get(session.id) ?? this.#tombsOld.get(session.id);
    if (tomb !== undefined && tomb > seq) return;
    // A session holds one token at a time: an entry under another hash is a rotated-away token.
    this.#removeId(session.id);
    deepFreeze(session);
    this.#add({ tokenHash, session, until: now + this.#ttlMs });
  }

  /** Drops the entry of `tokenHash` (one refused after a hit) without a tombstone. */
  forget(tokenHash: string): void {
    for (const generation of [this.#young, this.#old]) {
      const entry = generation.byHash.get(tokenHash);
      if (entry !== undefined) {
        generation.byHash.delete(tokenHash);
        if (generation.byId.get(entry.session.id) === entry) generation.byId.delete(entry.session.id);
      }
    }
  }

  /** Drops these sessions, and keeps reads that started before now from putting them back. */
  drop(sessionIds: readonly string[]): void {
    for (const id of sessionIds) {
      const seq = ++this.#seq;
      this.#removeId(id);
      this.#tomb(id, seq);
    }
  }

  /** Drops everything (the invalidation channel may have lost messages). */
  clear(): void {
    this.#clearedAt = ++this.#seq;
    this.#young = newGeneration();
    this.#old = newGeneration();
  }

  // --- internal ---

  #add(entry: Entry): void {
    const young = this.#young;
    young.byHash.set(entry.tokenHash, entry);
    young.byId.set(entry.session.id, entry);
    if (young.byHash.size >= this.#generationSize) {
      this.#old = young;
      this.#young = newGeneration();
    }
  }

  #removeId(id: string): void {
    for (const generation of [this.#young, this.#old]) {
      const entry = generation.byId.get(id);
      if (entry !== undefined) {
        generation.byId.delete(id);
        generation.byHash.delete(entry.tokenHash);
      }
    }
  }

  #tomb(id: string, seq: number): void {
    this.#tombsYoung.set(id, seq);
    if (this.#tombsYoung.size >= Math.max(this.#generationSize, MIN_TOMB_GENERATION)) {
      // The old tombstones (sequence numbers up to the previous rotation) are forgotten.
      this.#tombFloor = this.#tombsRotatedAt;
      this.#tombsRotatedAt = seq;
      this.#tombsOld = this.#tombsYoung;
      this.#tombsYoung = new Map();
    }
  }
}

/** Enough tombstones that a small cache does not refuse fills under a steady stream of changes. */
const MIN_TOMB_GENERATION = 1024;

function newGeneration(): Generation {
  return { byHash: new Map(), byId: new Map() };
}
