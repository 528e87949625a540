import { parseDuration } from './duration.js';
import { SessionError } from './errors.js';

/** Returns the current time. Inject one into the manager to drive expiry in tests. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/**
 * A clock that only moves when told to: for tests of idle and absolute expiry without sleeping.
 *
 * @example
 * const clock = manualClock('2030-01-01T00:00:00Z');
 * const sessions = createSessionManager({ store, clock: clock.now });
 * clock.advance('31m');
 */
export interface ManualClock {
  now: Clock;
  /** Moves the clock forward by milliseconds or a duration string. */
  advance(by: number | string): void;
  set(to: Date | string | number): void;
}

/** Creates a {@link ManualClock} starting at `start` (default: the real current time). */
export function manualClock(start: Date | string | number = Date.now()): ManualClock {
  let current = new Date(start).getTime();
  if (Number.isNaN(current)) throw new SessionError('INVALID_ARGUMENT', `manualClock: invalid start time ${String(start)}`);
  return {
    now: () => new Date(current),
    advance(by) {
      current += parseDuration(by, 'advance', 'INVALID_ARGUMENT');
    },
    set(to) {
      const next = new Date(to).getTime();
      if (Number.isNaN(next)) throw new SessionError('INVALID_ARGUMENT', `manualClock.set: invalid time ${String(to)}`);
      current = next;
    },
  };
}
