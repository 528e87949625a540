import { describe, expect, it } from 'vitest';
import { LruCache } from '../../src/internal/lru-cache.js';

describe('LruCache', () => {
  it('keeps recently used entries and forgets the least recently used past its size', () => {
    // Two generations of two: an entry survives the next turn-over only if it was used meanwhile.
    const cache = new LruCache<number>(4);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, i);
    expect(cache.size).toBeLessThanOrEqual(4);
  });

  it('holds null as a value (a cached "no user"), distinct from a miss', () => {
    const cache = new LruCache<string | null>(10);
    cache.set('ses_1', null);
    expect(cache.get('ses_1')).toBeNull();
    expect(cache.get('ses_2')).toBeUndefined();
  });

  it('size 0 caches nothing; clear() empties it', () => {
    const off = new LruCache<number>(0);
    off.set('a', 1);
    expect(off.get('a')).toBeUndefined();
    const cache = new LruCache<number>(10);
    cache.set('a', 1);
    cache.clear();
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
