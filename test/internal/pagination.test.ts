import { describe, expect, it } from 'vitest';
import { SessionError } from '../../src/errors.js';
import { decodeCursor, encodeCursor, isAfterPosition, newestFirst, pageOf, toEpochMs } from '../../src/internal/pagination.js';

describe('pagination', () => {
  it('a cursor round-trips its position, and anything else is INVALID_ARGUMENT naming the method', () => {
    const cursor = encodeCursor(1_700_000_000_000, 'act_abc123');
    expect(decodeCursor(cursor, 'act_', 'activity.list()')).toEqual({ time: 1_700_000_000_000, id: 'act_abc123' });
    for (const bad of [encodeCursor(1, 'alr_x'), 'not-base64!', 42, encodeCursor(1, 'act_\0'), 'x'.repeat(300)]) {
      expect(() => decodeCursor(bad, 'act_', 'activity.list()')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'activity.list() cursor is not one this API returned' }));
    }
  });

  it('pageOf returns limit items and a cursor after the last only when the extra row shows more', () => {
    const rows = [5, 4, 3].map((t) => ({ t, id: `i${t}` }));
    const full = pageOf(rows, 2, (r) => ({ time: r.t, id: r.id }));
    expect(full.items).toEqual(rows.slice(0, 2));
    expect(decodeCursor(full.nextCursor, 'i', 'list()')).toEqual({ time: 4, id: 'i4' });
    expect(pageOf(rows, 3, (r) => ({ time: r.t, id: r.id })).nextCursor).toBeNull();
    expect(pageOf([], 3, () => ({ time: 0, id: 'x' }))).toEqual({ items: [], nextCursor: null });
  });

  it('newest-first order breaks ties by id descending, and isAfterPosition continues exactly after a position', () => {
    const items = [
      { time: 1, id: 'a' },
      { time: 2, id: 'a' },
      { time: 2, id: 'b' },
      { time: 0, id: 'z' },
    ];
    const sorted = [...items].sort((x, y) => newestFirst(x.time, x.id, y.time, y.id));
    expect(sorted).toEqual([items[2], items[1], items[0], items[3]]);
    const rest = sorted.filter((x) => isAfterPosition(x.time, x.id, sorted[1]));
    expect(rest).toEqual(sorted.slice(2));
    expect(sorted.filter((x) => isAfterPosition(x.time, x.id, undefined))).toEqual(sorted);
  });

  it('toEpochMs takes a Date or milliseconds, rounds a fraction up, and refuses what no Date can hold', () => {
    expect(toEpochMs(new Date(5), 'since')).toBe(5);
    expect(toEpochMs(1.2, 'since')).toBe(2);
    for (const bad of [Number.NaN, 9e15, '5', new Date(Number.NaN)]) expect(() => toEpochMs(bad, 'since')).toThrow(SessionError);
  });
});
