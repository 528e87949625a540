import type { DeviceClass, EpochMs, Session } from './contracts.js';

/** Options of `stats()`. */
export interface StatsOptions {
  /** Only this user's sessions. */
  userId?: string;
  /** Only sessions created at or after this instant (Date or epoch ms). */
  since?: Date | EpochMs;
}

/** What `stats()` returns. Durations are milliseconds; instants are epoch ms. */
export interface SessionStats {
  total: number;
  active: number;
  /** Past their idle or absolute deadline, not revoked. */
  expired: number;
  revoked: number;
  /** Created in the 24 hours before now. */
  recent24h: number;
  /**
   * Session durations: from creation to revocation, to the last recorded activity for expired ones,
   * and to now for active ones. `null` when there are no sessions.
   */
  duration: { avgMs: number; p50Ms: number; p95Ms: number } | null;
  /** Most sessions alive at one instant, and the first instant that count was reached. */
  peakConcurrent: { count: number; at: EpochMs | null };
  /** Sessions created in each hour of the day (UTC), index 0 = 00:00–00:59. */
  byHour: number[];
  /** Sessions by the class of device that created them (`unknown` when no device was recorded). */
  byDeviceClass: Partial<Record<DeviceClass, number>>;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Computes {@link SessionStats} in one pass over the pages of a store scan. */
export async function computeStats(pages: AsyncIterable<Session[]>, now: EpochMs): Promise<SessionStats> {
  let active = 0;
  let expired = 0;
  let revoked = 0;
  let recent24h = 0;
  const durations: number[] = [];
  const byHour = new Array<number>(24).fill(0);
  const byDeviceClass: Partial<Record<DeviceClass, number>> = {};
  // Sweep line for peak concurrency: +1 at start, -1 at end.
  const starts: number[] = [];
  const ends: number[] = [];

  for await (const page of pages) {
    for (const s of page) {
      let end: EpochMs;
      if (s.status === 'revoked') {
        revoked++;
        end = s.revokedAt ?? s.lastActiveAt;
        durations.push(end - s.createdAt);
      } else if (now >= s.expiresAt) {
        expired++;
        end = s.expiresAt;
        durations.push(s.lastActiveAt - s.createdAt);
      } else {
        active++;
        end = Number.POSITIVE_INFINITY;
        durations.push(now - s.createdAt);
      }
      if (now - s.createdAt < DAY_MS) recent24h++;
      byHour[Math.floor((((s.createdAt % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS)]!++;
      const deviceClass = s.device?.class ?? 'unknown';
      byDeviceClass[deviceClass] = (byDeviceClass[deviceClass] ?? 0) + 1;
      starts.push(s.createdAt);
      ends.push(end);
    }
  }

  return {
    total: durations.length,
    active,
    expired,
    revoked,
    recent24h,
    duration: summarize(durations),
    peakConcurrent: peak(starts, ends),
    byHour,
    byDeviceClass,
  };
}

// --- internal ---

function summarize(durations: number[]): SessionStats['duration'] {
  if (durations.length === 0) return null;
  durations.sort((a, b) => a - b);
  const sum = durations.reduce((acc, d) => acc + d, 0);
  return { avgMs: Math.round(sum / durations.length), p50Ms: percentile(durations, 0.5), p95Ms: percentile(durations, 0.95) };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

function peak(starts: number[], ends: number[]): SessionStats['peakConcurrent'] {
  starts.sort((a, b) => a - b);
  ends.sort((a, b) => a - b);
  let count = 0;
  let best = 0;
  let at: EpochMs | null = null;
  let e = 0;
  for (const start of starts) {
    // An interval ending exactly when another starts does not overlap it.
    while (e < ends.length && ends[e]! <= start) {
      count--;
      e++;
    }
    count++;
    if (count > best) {
      best = count;
      at = start;
    }
  }
  return { count: best, at };
}
