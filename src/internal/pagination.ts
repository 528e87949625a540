import type { EpochMs } from '../contracts.js';
import { invalidArgument } from '../errors.js';

/**
 * Newest-first lists (activity, alerts) page by keyset: the cursor is the `(time, id)` of the last
 * item of a page, opaque to callers (base64url).
 */
export function encodeCursor(time: EpochMs, id: string): string {
  return Buffer.from(`${time}:${id}`).toString('base64url');
}

/** The position in a cursor from {@link encodeCursor}; `INVALID_ARGUMENT` for anything else. */
export function decodeCursor(cursor: unknown, idPrefix: string, method: string): { time: EpochMs; id: string } {
  if (typeof cursor === 'string' && cursor.length <= 200) {
    const text = Buffer.from(cursor, 'base64url').toString();
    const separator = text.indexOf(':');
    const time = text.slice(0, separator);
    const id = text.slice(separator + 1);
    if (/^\d{1,16}$/.test(time) && id.startsWith(idPrefix) && /^[A-Za-z0-9_-]{1,64}$/.test(id.slice(idPrefix.length))) return { time: Number(time), id };
  }
  throw invalidArgument(`${method} cursor is not one this API returned`);
}

/** The largest instant a Date can hold (±100,000,000 days from the epoch). */
export const MAX_DATE_MS = 8.64e15;

/**
 * A `Date` or epoch milliseconds as whole epoch milliseconds, for bounds of the form `ts >= since`
 * and `ts < until`: a fraction rounds up, which keeps both exact over the whole milliseconds that
 * stores hold (and Postgres refuses a fraction in a bigint). `INVALID_ARGUMENT` naming `field` for
 * anything else, including instants no Date can hold.
 */
export function toEpochMs(value: unknown, field: string): EpochMs {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Number.NaN;
  if (!(Math.abs(ms) <= MAX_DATE_MS)) throw invalidArgument(`${field} must be a Date or epoch milliseconds`);
  return Math.ceil(ms);
}


/** A keyset position: the `(time, id)` of an item, as in a cursor. */
export interface Position {
  readonly time: EpochMs;
  readonly id: string;
}

/**
 * One page of a newest-first list from rows fetched with `limit + 1`: the first `limit` rows, and a
 * cursor after the last of them when the extra row shows that more follow.
 *
 * @example
 * const rows = await store.listAlerts({ ...query, limit: limit + 1 });
 * return pageOf(rows, limit, (a) => ({ time: a.createdAt, id: a.id }));
 */
export function pageOf<T>(rows: readonly T[], limit: number, position: (item: T) => Position): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  if (rows.length <= limit || last === undefined) return { items, nextCursor: null };
  const { time, id } = position(last);
  return { items, nextCursor: encodeCursor(time, id) };
}

/** True when `(time, id)` comes after `before` in newest-first order (older, or as old with a smaller id). */
export function isAfterPosition(time: EpochMs, id: string, before: Position | undefined): boolean {
  return before === undefined || time < before.time || (time === before.time && id < before.id);
}

/** Newest-first order of `(time, id)` pairs, ties broken by id descending: the order every store pages in. */
export function newestFirst(aTime: EpochMs, aId: string, bTime: EpochMs, bId: string): number {
  return bTime - aTime || (aId < bId ? 1 : aId > bId ? -1 : 0);
}
