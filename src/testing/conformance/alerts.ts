import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AlertOccurrence, AlertStore } from '../../contracts.js';
import { START, SECOND, MINUTE, HOUR, DAY, ids, sortedIds, type Harness, type ConformanceOptions } from './harness.js';

const occurrence = (userId: string, overrides: Partial<AlertOccurrence> = {}): AlertOccurrence => ({
  id: `alr_${randomBytes(8).toString('hex')}`,
  userId,
  sessionId: 'ses_1',
  type: 'sessionHijack',
  severity: 'high',
  evidence: { ip: '198.51.100.0', note: 'ünïcödé 🙂' },
  dedupKey: `sessionHijack:${userId}`,
  at: START,
  ...overrides,
});

export function describeAlertStorage(t: () => Harness<AlertStore>): void {
  describe('alert storage', () => {
    alertStorageTests1(t);
    alertStorageTests2(t);
    alertStorageTests3(t);
  });
}

function alertStorageTests1(t: () => Harness<AlertStore>): void {
  it('raiseAlert creates an open alert with count 1, then folds repeats inside the window', async () => {
    const h = t();
    const userId = h.user();
    const first = await h.store.raiseAlert(occurrence(userId), 10 * MINUTE);
    expect(first.created).toBe(true);
    expect(first.alert).toMatchObject({ userId, sessionId: 'ses_1', type: 'sessionHijack', severity: 'high', status: 'open', count: 1, createdAt: START, lastSeenAt: START, updatedAt: null, note: null });
    expect(first.alert.evidence).toEqual({ ip: '198.51.100.0', note: 'ünïcödé 🙂' });
    const again = await h.store.raiseAlert(occurrence(userId, { at: START + 5 * MINUTE, severity: 'critical', evidence: { ip: '203.0.113.0' } }), 10 * MINUTE);
    expect(again).toMatchObject({ created: false, alert: { id: first.alert.id, count: 2, severity: 'critical', lastSeenAt: START + 5 * MINUTE, createdAt: START } });
    expect(again.alert.evidence).toEqual({ ip: '203.0.113.0' });
    // A lower severity never lowers the alert's.
    expect((await h.store.raiseAlert(occurrence(userId, { at: START + 6 * MINUTE, severity: 'low' }), 10 * MINUTE)).alert.severity).toBe('critical');
    // The window runs from the last occurrence: 15 minutes after the 6-minute one is outside it.
    const late = await h.store.raiseAlert(occurrence(userId, { at: START + 21 * MINUTE }), 10 * MINUTE);
    expect(late.created).toBe(true);
    expect(late.alert.id).not.toBe(first.alert.id);
  });

  it('a resolved alert is never folded into; an acknowledged one is', async () => {
    const h = t();
    const userId = h.user();
    const { alert } = await h.store.raiseAlert(occurrence(userId), HOUR);
    await h.store.setAlertStatus(alert.id, 'acknowledged', START + MINUTE);
    expect((await h.store.raiseAlert(occurrence(userId, { at: START + 2 * MINUTE }), HOUR)).created).toBe(false);
    await h.store.setAlertStatus(alert.id, 'resolved', START + 3 * MINUTE, 'user confirmed the new laptop');
    expect((await h.store.raiseAlert(occurrence(userId, { at: START + 4 * MINUTE }), HOUR)).created).toBe(true);
  });

  it('20 concurrent occurrences of one dedup key produce one alert with count 20', async () => {
    const h = t();
    const userId = h.user();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => h.store.raiseAlert(occurrence(userId, { at: START + i }), HOUR)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const [only, ...rest] = await h.store.listAlerts({ userId, limit: 10 });
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ count: 20, lastSeenAt: START + 19 });
  });

  it('setAlertStatus records status, time and note; an unknown id is null', async () => {
    const h = t();
    const userId = h.user();
    const { alert } = await h.store.raiseAlert(occurrence(userId), HOUR);
    expect(await h.store.setAlertStatus(alert.id, 'resolved', START + HOUR, 'false positive')).toMatchObject({ id: alert.id, status: 'resolved', updatedAt: START + HOUR, note: 'false positive' });
    expect(await h.store.setAlertStatus('alr_missing', 'resolved', START)).toBeNull();
  });

  it('setAlertStatus moves open → acknowledged → resolved and never out of resolved', async () => {
    const h = t();
    const userId = h.user();
    const { alert } = await h.store.raiseAlert(occurrence(userId), HOUR);
    const acked = await h.store.setAlertStatus(alert.id, 'acknowledged', START + MINUTE, 'on it');
    expect(acked).toMatchObject({ status: 'acknowledged', updatedAt: START + MINUTE, note: 'on it' });
    // Acknowledging again changes nothing, not even the time or note.
    expect(await h.store.setAlertStatus(alert.id, 'acknowledged', START + 2 * MINUTE, 'again')).toEqual(acked);
    const resolved = await h.store.setAlertStatus(alert.id, 'resolved', START + 3 * MINUTE);
    // A resolve without a note keeps the earlier one.
    expect(resolved).toMatchObject({ status: 'resolved', updatedAt: START + 3 * MINUTE, note: 'on it' });
    expect(await h.store.setAlertStatus(alert.id, 'acknowledged', START + 4 * MINUTE)).toEqual(resolved);
    expect(await h.store.setAlertStatus(alert.id, 'resolved', START + 5 * MINUTE, 'twice')).toEqual(resolved);
    // An open alert can be resolved directly.
    const other = (await h.store.raiseAlert(occurrence(userId, { dedupKey: 'other' }), HOUR)).alert;
    expect(await h.store.setAlertStatus(other.id, 'resolved', START + 6 * MINUTE)).toMatchObject({ status: 'resolved', updatedAt: START + 6 * MINUTE });
  });
}

function alertStorageTests2(t: () => Harness<AlertStore>): void {
  it('listAlerts filters by user, status, severity and time, newest first, with a keyset position', async () => {
    const h = t();
    const userId = h.user();
    const other = h.user('other');
    const a = (await h.store.raiseAlert(occurrence(userId, { dedupKey: 'a', severity: 'info', at: START }), MINUTE)).alert;
    const b = (await h.store.raiseAlert(occurrence(userId, { dedupKey: 'b', severity: 'high', at: START + HOUR }), MINUTE)).alert;
    const c = (await h.store.raiseAlert(occurrence(userId, { dedupKey: 'c', severity: 'high', at: START + 2 * HOUR }), MINUTE)).alert;
    await h.store.raiseAlert(occurrence(other, { dedupKey: 'd', at: START + 3 * HOUR }), MINUTE);
    await h.store.setAlertStatus(b.id, 'resolved', START + 4 * HOUR);
    const ids = (alerts: { id: string }[]) => alerts.map((x) => x.id);
    expect(ids(await h.store.listAlerts({ userId, limit: 10 }))).toEqual([c.id, b.id, a.id]);
    expect(ids(await h.store.listAlerts({ userId, status: 'open', limit: 10 }))).toEqual([c.id, a.id]);
    expect(ids(await h.store.listAlerts({ userId, severity: 'high', limit: 10 }))).toEqual([c.id, b.id]);
    expect(ids(await h.store.listAlerts({ userId, since: START + HOUR, limit: 10 }))).toEqual([c.id, b.id]);
    expect(ids(await h.store.listAlerts({ userId, before: { createdAt: c.createdAt, id: c.id }, limit: 1 }))).toEqual([b.id]);
    expect(ids(await h.store.listAlerts({ userId, limit: 1 }))).toEqual([c.id]);
  });

  it('an alert about no user (userId null) round-trips, folds, and is listed without a user filter only', async () => {
    const h = t();
    const userId = h.user();
    const dedupKey = `tokenGuessing:${h.user('client')}`;
    const guess = occurrence(userId, { userId: null, sessionId: null, type: 'tokenGuessing', dedupKey });
    const first = await h.store.raiseAlert(guess, HOUR);
    expect(first.created).toBe(true);
    expect(first.alert).toEqual({
      id: guess.id,
      userId: null,
      sessionId: null,
      type: 'tokenGuessing',
      severity: 'high',
      status: 'open',
      createdAt: START,
      lastSeenAt: START,
      evidence: guess.evidence,
      dedupKey,
      count: 1,
      updatedAt: null,
      note: null,
    });
    const folded = await h.store.raiseAlert({ ...guess, id: 'alr_unused', at: START + MINUTE }, HOUR);
    expect(folded).toEqual({ created: false, alert: { ...first.alert, lastSeenAt: START + MINUTE, count: 2 } });
    // Other tests may share the backend: look for this alert among all of them.
    const all = await h.store.listAlerts({ limit: 1000 });
    expect(all.filter((a) => a.id === guess.id)).toEqual([folded.alert]);
    await h.store.raiseAlert(occurrence(userId), HOUR);
    expect((await h.store.listAlerts({ userId, limit: 10 })).map((a) => a.userId)).toEqual([userId]);
  });
}

function alertStorageTests3(t: () => Harness<AlertStore>): void {
  it('deleteAlertsBefore deletes at most `limit` alerts last seen before the cutoff or resolved before it, and keeps a recurring open one', async () => {
    const h = t();
    const userId = h.user();
    const cutoff = START + 2 * HOUR;
    const raise = async (dedupKey: string, at: number) => (await h.store.raiseAlert(occurrence(userId, { dedupKey, at }), DAY)).alert;
    const stale = await raise('stale', START);
    // Acknowledged after the cutoff, but last seen before it: over.
    const acknowledged = await raise('acknowledged', START + MINUTE);
    await h.store.setAlertStatus(acknowledged.id, 'acknowledged', START + 3 * HOUR);
    const resolved = await raise('resolved', START + 30 * MINUTE);
    await h.store.setAlertStatus(resolved.id, 'resolved', START + HOUR);
    // Seen after the cutoff (a clock ahead elsewhere), resolved before it: over.
    const resolvedBefore = await raise('resolved-before', START + 3 * HOUR);
    await h.store.setAlertStatus(resolvedBefore.id, 'resolved', START + HOUR);
    // Kept: created long ago but still recurring; last seen exactly at the cutoff; resolved after it.
    const recurring = await raise('recurring', START);
    await raise('recurring', START + 3 * HOUR);
    const atCutoff = await raise('at-cutoff', cutoff);
    const resolvedAfter = await raise('resolved-after', cutoff + MINUTE);
    await h.store.setAlertStatus(resolvedAfter.id, 'resolved', cutoff + 2 * MINUTE);

    expect(await h.store.deleteAlertsBefore(cutoff, 3)).toBe(3);
    expect(await h.store.deleteAlertsBefore(cutoff, 3)).toBe(1);
    expect(await h.store.deleteAlertsBefore(cutoff, 3)).toBe(0);
    const left = await h.store.listAlerts({ userId, limit: 100 });
    expect(sortedIds(left)).toEqual(sortedIds([recurring, atCutoff, resolvedAfter]));
    for (const gone of [stale, acknowledged, resolved, resolvedBefore]) expect(left.map((a) => a.id)).not.toContain(gone.id);
    expect(left.find((a) => a.id === recurring.id)).toMatchObject({ count: 2, lastSeenAt: START + 3 * HOUR });
    // An occurrence of a deleted alert's key, inside its window, starts a new alert.
    const again = await h.store.raiseAlert(occurrence(userId, { dedupKey: 'stale', at: cutoff }), DAY);
    expect(again).toMatchObject({ created: true, alert: { count: 1 } });
    expect(again.alert.id).not.toBe(stale.id);
  });
}

export function describeAlertCleanup(t: () => Harness<AlertStore>): void {
  describe('cleanup() of alerts and counters', () => {
    it('deletes alerts last seen or resolved more than olderThan ago, in batches, and keeps the recurring and the recent', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const raise = async (dedupKey: string, at: number) =>
        (await h.store.raiseAlert({ id: `alr_${randomBytes(8).toString('hex')}`, userId, sessionId: null, type: 'test', severity: 'low', evidence: {}, dedupKey, at }, DAY)).alert;
      for (let i = 0; i < 5; i++) await raise(`old-${i}`, START + i * MINUTE);
      const recurring = await raise('recurring', START);
      const resolved = await raise('resolved', START + DAY);
      await h.store.setAlertStatus(resolved.id, 'resolved', START + DAY + HOUR);
      // Recurring within the fold window (a day) keeps one alert alive: last seen at START + 40 h.
      await raise('recurring', START + 20 * HOUR);
      await raise('recurring', START + 40 * HOUR);
      const recent = await raise('recent', START + 47 * HOUR);
      h.clock.set(START + 2 * DAY + 2 * HOUR); // cutoff: START + 1d 2h
      const callsBefore = h.calls('deleteAlertsBefore');
      await m.cleanup({ olderThan: '1d', batchSize: 2 });
      expect(h.calls('deleteAlertsBefore') - callsBefore).toBeGreaterThanOrEqual(3);
      expect(sortedIds((await m.alerts.list({ userId })).items)).toEqual(sortedIds([recurring, recent]));
    });
  });
}

// With a 10-minute window a bucket is one minute, and START is a bucket boundary.
const WINDOW = 10 * MINUTE;

export function describeCounters(t: () => Harness<AlertStore>, options: { readonly createPeerStore?: unknown }): void {
  describe('hit counters', () => {
    countersTests1(t, options);
    countersTests2(t, options);
  });
}

function countersTests1(t: () => Harness<AlertStore>, options: { readonly createPeerStore?: unknown }): void {
  it('counts the hits of the current bucket and the nine before it, this one included', async () => {
    const h = t();
    const key = h.user('key');
    const hit = (at: number) => h.store.hitCounter(key, at, WINDOW);
    expect(await hit(START)).toBe(1);
    expect(await hit(START + 30 * SECOND)).toBe(2);
    expect(await hit(START + 9 * MINUTE)).toBe(3);
    expect(await hit(START + 10 * MINUTE - 1)).toBe(4);
    // Bucket 10: buckets 1..10 count; the two hits of bucket 0 are forgotten.
    expect(await hit(START + 10 * MINUTE)).toBe(3);
    // Bucket 19: buckets 10..19; bucket 9's hits are forgotten.
    expect(await hit(START + 19 * MINUTE + 59 * SECOND)).toBe(2);
    expect(await hit(START + 40 * MINUTE)).toBe(1);
  });

  it('buckets are ceil(windowMs / 10) ms long (a 95 ms window has 10 ms buckets)', async () => {
    const h = t();
    const key = h.user('key');
    const hit = (at: number) => h.store.hitCounter(key, at, 95);
    expect(await hit(START)).toBe(1);
    expect(await hit(START + 99)).toBe(2); // bucket 9
    expect(await hit(START + 100)).toBe(2); // bucket 10: bucket 0 is out
    expect(await hit(START + 109)).toBe(3);
    expect(await hit(START + 199)).toBe(3); // bucket 19: buckets 10..19
    expect(await hit(START + 200)).toBe(2); // bucket 20: buckets 11..20
  });

  it('hitCounter adds `hits` at once, counted as that many single hits', async () => {
    const h = t();
    const key = h.user('key');
    expect(await h.store.hitCounter(key, START, WINDOW, 5)).toBe(5);
    expect(await h.store.hitCounter(key, START + MINUTE, WINDOW)).toBe(6);
    expect(await h.store.hitCounter(key, START + 2 * MINUTE, WINDOW, 20)).toBe(26);
    expect(await h.store.hitCounter(key, START + 2 * MINUTE, WINDOW, 3)).toBe(29);
    // Bucket 10: the five hits of bucket 0 are out of the window.
    expect(await h.store.hitCounter(key, START + 10 * MINUTE, WINDOW, 2)).toBe(26);
  });

  it('keys are counted independently', async () => {
    const h = t();
    const a = h.user('key-a');
    const b = h.user('key-b');
    expect(await h.store.hitCounter(a, START, WINDOW)).toBe(1);
    expect(await h.store.hitCounter(b, START, WINDOW)).toBe(1);
    expect(await h.store.hitCounter(a, START + MINUTE, WINDOW)).toBe(2);
    expect(await h.store.hitCounter(a, START + 2 * MINUTE, WINDOW)).toBe(3);
    expect(await h.store.hitCounter(b, START + 2 * MINUTE, WINDOW)).toBe(2);
  });

  it('20 concurrent hits of one key are all counted', async () => {
    const h = t();
    const key = h.user('key');
    const counts = await Promise.all(Array.from({ length: 20 }, () => h.store.hitCounter(key, START + 5 * SECOND, WINDOW)));
    expect(Math.max(...counts)).toBe(20);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
    expect(await h.store.hitCounter(key, START + 6 * SECOND, WINDOW)).toBe(21);
  });

  it.runIf(options.createPeerStore !== undefined)('10 + 10 concurrent hits through two stores over the same data are all counted (createPeerStore)', async () => {
    const h = t();
    const peer = await h.peerStore();
    const key = h.user('key');
    const counts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? h.store : peer).hitCounter(key, START + 5 * SECOND, WINDOW)),
    );
    expect(Math.max(...counts)).toBe(20);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
    expect(await peer.hitCounter(key, START + 6 * SECOND, WINDOW)).toBe(21);
  });
}

function countersTests2(t: () => Harness<AlertStore>, options: { readonly createPeerStore?: unknown }): void {
  it('deleteCountersBefore deletes at most `limit` buckets that no window reaching the cutoff counts, and no live one', async () => {
    const h = t();
    const a = h.user('key-a'); // 1-minute buckets: bucket b counts until START + (b + 10) min
    const b = h.user('key-b'); // 6-minute buckets: bucket b counts until START + (b + 10) * 6 min
    expect(await h.store.hitCounter(a, START, WINDOW)).toBe(1);
    expect(await h.store.hitCounter(a, START + 3 * MINUTE, WINDOW)).toBe(2);
    expect(await h.store.hitCounter(b, START + 3 * MINUTE, HOUR)).toBe(1);
    expect(await h.store.deleteCountersBefore(START + 10 * MINUTE - 1, 100)).toBe(0);
    // a's bucket 0 ends its life at START + 10 min; nothing else does.
    expect(await h.store.deleteCountersBefore(START + 10 * MINUTE, 100)).toBe(1);
    expect(await h.store.deleteCountersBefore(START + 10 * MINUTE, 100)).toBe(0);
    expect(await h.store.hitCounter(a, START + 10 * MINUTE, WINDOW)).toBe(2);
    expect(await h.store.hitCounter(b, START + 10 * MINUTE, HOUR)).toBe(2);
    // Expired at START + 1 h: a's buckets 3 and 10, and b's bucket 0; b's bucket 1 lives on.
    expect(await h.store.deleteCountersBefore(START + HOUR, 2)).toBe(2);
    expect(await h.store.deleteCountersBefore(START + HOUR, 2)).toBe(1);
    expect(await h.store.deleteCountersBefore(START + HOUR, 2)).toBe(0);
    expect(await h.store.hitCounter(b, START + HOUR, HOUR)).toBe(2);
    expect(await h.store.hitCounter(a, START + HOUR, WINDOW)).toBe(1);
  });
}
