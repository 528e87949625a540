import { describe, expect, it } from 'vitest';
import { FifoQueue } from '../../src/internal/fifo-queue.js';

describe('FifoQueue', () => {
  it('takes items oldest first, one at a time or in batches', () => {
    const q = new FifoQueue<number>();
    for (let i = 0; i < 10; i++) q.push(i);
    expect(q.length).toBe(10);
    expect(q.shift()).toBe(0);
    expect(q.shiftMany(3)).toEqual([1, 2, 3]);
    expect(q.shiftMany(100)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
    expect(q.shiftMany(5)).toEqual([]);
  });

  it('drops the oldest, and says when there was nothing to drop', () => {
    const q = new FifoQueue<string>();
    expect(q.dropOldest()).toBe(false);
    q.push('a');
    q.push('b');
    expect(q.dropOldest()).toBe(true);
    expect(q.shift()).toBe('b');
  });

  it('puts a failed batch back in front, in its order', () => {
    const q = new FifoQueue<number>();
    for (let i = 0; i < 6; i++) q.push(i);
    const batch = q.shiftMany(3);
    q.push(6);
    q.unshiftMany(batch);
    expect(q.shiftMany(10)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('keeps order and length right across the cuts of its consumed front, under load that never empties it', () => {
    const q = new FifoQueue<number>();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 5000; round++) {
      for (let i = 0; i < 3; i++) q.push(next++);
      expect(q.shift()).toBe(expected++);
      if (round % 2 === 0) expect(q.shiftMany(1)).toEqual([expected++]);
    }
    expect(q.length).toBe(next - expected);
    q.clear();
    expect(q.length).toBe(0);
  });
});
