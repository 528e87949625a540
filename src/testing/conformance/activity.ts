import { describe, expect, it } from 'vitest';
import type { ActivityRecord, ActivityStore } from '../../contracts.js';
import { SessionError } from '../../errors.js';
import { START, SECOND, MINUTE, HOUR, expectError, type Harness } from './harness.js';

export function activityRow(overrides: Partial<ActivityRecord> & Pick<ActivityRecord, 'id' | 'sessionId' | 'ts'>): ActivityRecord {
  return {
    userId: null,
    type: 'request',
    category: 'data',
    method: 'GET',
    path: '/api/items',
    status: 200,
    durationMs: 5,
    bytesIn: 0,
    bytesOut: 512,
    resourceType: null,
    resourceId: null,
    details: null,
    ...overrides,
  };
}

export function describeActivity(t: () => Harness<ActivityStore>): void {
  describe('activity', () => {
    activityTests1(t);
    activityTests2(t);
  });
}

function activityTests1(t: () => Harness<ActivityStore>): void {
  it('insertActivity/listActivity: every field round-trips; newest first; filters and keyset position', async () => {
    const h = t();
    const userId = h.user();
    const rows = [
      activityRow({ id: 'act_a', sessionId: 'ses_1', userId, ts: START, category: 'auth', method: 'POST', path: '/login', details: { note: 'ünïcödé 🙂', n: 1, nested: { ok: true } } }),
      activityRow({ id: 'act_b', sessionId: 'ses_1', userId, ts: START + MINUTE, resourceType: 'conversation', resourceId: '123' }),
      activityRow({ id: 'act_c', sessionId: 'ses_2', userId, ts: START + MINUTE }),
      activityRow({ id: 'act_d', sessionId: 'ses_3', userId: h.user('other'), ts: START + 2 * MINUTE }),
      activityRow({ id: 'act_e', sessionId: 'ses_2', userId, ts: START + 3 * MINUTE, method: null, path: null, status: null, durationMs: null, bytesIn: null, bytesOut: null }),
    ];
    await h.store.insertActivity(rows);
    const byUser = await h.store.listActivity({ userId, limit: 10 });
    expect(byUser.map((r) => r.id)).toEqual(['act_e', 'act_c', 'act_b', 'act_a']);
    expect(byUser[3]).toEqual(rows[0]);
    expect(byUser[0]).toEqual(rows[4]);
    expect((await h.store.listActivity({ sessionId: 'ses_1', limit: 10 })).map((r) => r.id)).toEqual(['act_b', 'act_a']);
    expect((await h.store.listActivity({ userId, category: 'auth', limit: 10 })).map((r) => r.id)).toEqual(['act_a']);
    expect((await h.store.listActivity({ userId, since: START + MINUTE, until: START + 3 * MINUTE, limit: 10 })).map((r) => r.id)).toEqual(['act_c', 'act_b']);
    expect((await h.store.listActivity({ userId, before: { ts: START + MINUTE, id: 'act_c' }, limit: 10 })).map((r) => r.id)).toEqual(['act_b', 'act_a']);
    expect((await h.store.listActivity({ userId, limit: 2 })).map((r) => r.id)).toEqual(['act_e', 'act_c']);
  });

  it('insertActivity skips rows whose id is already stored, so a retried batch adds nothing twice', async () => {
    const h = t();
    const row = activityRow({ id: 'act_same', sessionId: 'ses_x', userId: h.user(), ts: START });
    await h.store.insertActivity([row]);
    await h.store.insertActivity([row, { ...row, id: 'act_new' }]);
    expect((await h.store.listActivity({ sessionId: 'ses_x', limit: 10 })).map((r) => r.id)).toEqual(['act_same', 'act_new'].sort().reverse());
  });

  it('deleteActivityBefore deletes at most `limit` rows older than the cutoff', async () => {
    const h = t();
    const userId = h.user();
    await h.store.insertActivity(Array.from({ length: 5 }, (_, i) => activityRow({ id: `act_${i}`, sessionId: 'ses_d', userId, ts: START + i * HOUR })));
    expect(await h.store.deleteActivityBefore(START + 3 * HOUR, 2)).toBe(2);
    expect(await h.store.deleteActivityBefore(START + 3 * HOUR, 2)).toBe(1);
    expect(await h.store.deleteActivityBefore(START + 3 * HOUR, 2)).toBe(0);
    expect((await h.store.listActivity({ userId, limit: 10 })).map((r) => r.ts)).toEqual([START + 4 * HOUR, START + 3 * HOUR]);
  });

  it('record() → flush() → list() pages through every row once, newest first, with the user resolved from a bare session id', async () => {
    const h = t();
    const m = h.manager();
    const userId = h.user();
    const { session } = await m.create({ userId });
    for (let i = 0; i < 23; i++) {
      m.activity.record(i % 2 === 0 ? session : session.id, { method: 'GET', path: `/api/v1/items/${i}`, status: 200, at: START + i * SECOND });
    }
    expect(m.activity.stats()).toMatchObject({ queued: 23, written: 0 });
    await m.activity.flush();
    expect(m.activity.stats()).toMatchObject({ queued: 0, written: 23, dropped: 0, failed: 0 });
    const seen: ActivityRecord[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await m.activity.list({ userId, limit: 5, ...(cursor ? { cursor } : {}) });
      seen.push(...result.items);
      if (result.nextCursor === null) break;
      cursor = result.nextCursor;
    }
    expect(seen.map((r) => r.resourceId)).toEqual(Array.from({ length: 23 }, (_, i) => String(22 - i)));
    expect(seen.every((r) => r.userId === userId && r.sessionId === session.id && r.resourceType === 'item' && r.category === 'data')).toBe(true);
    const bySession = await m.activity.list({ sessionId: session.id, since: START + 20 * SECOND, limit: 50 });
    expect(bySession.items.map((r) => r.resourceId)).toEqual(['22', '21', '20']);
    expect(bySession.nextCursor).toBeNull();
  });
}

function activityTests2(t: () => Harness<ActivityStore>): void {
  it('stores no token, query secret, email or password that a request carried', async () => {
    const h = t();
    const m = h.manager();
    const userId = h.user();
    const { session, token } = await m.create({ userId });
    m.activity.record(session, {
      method: 'POST',
      path: `/reset-password/${token}?email=someone@example.com&page=2`,
      details: { password: 'hunter2', authorization: `Bearer ${token}`, comment: `mail me at someone@example.com, card 4111 1111 1111 1111, token ${token}` },
    });
    await m.activity.flush();
    const [row] = (await m.activity.list({ userId })).items;
    const text = JSON.stringify(row);
    for (const secret of [token, token.slice(4), 'hunter2', 'someone@example.com', '4111 1111 1111 1111', 'page=2']) expect(text).not.toContain(secret);
    expect(row).toMatchObject({ category: 'auth', path: '/reset-password/[redacted:token]' });
  });

  it('close() writes the activity still queued before it closes the store', async () => {
    const h = t();
    const m = h.manager();
    const { session } = await m.create({ userId: h.user() });
    for (let i = 0; i < 6; i++) m.activity.record(session, { path: '/api/things' });
    expect(h.calls('insertActivity')).toBe(0);
    await m.close();
    expect(h.calls('insertActivity')).toBe(1);
    expect(m.activity.stats()).toMatchObject({ queued: 0, written: 6 });
  });

  it('cleanup({ activityOlderThan }) prunes old rows in batches', async () => {
    const h = t();
    const userId = h.user();
    const m = h.manager();
    const { session } = await m.create({ userId });
    for (let i = 0; i < 6; i++) m.activity.record(session, { path: '/api/things', at: START - i * 24 * HOUR });
    await m.activity.flush();
    h.clock.set(START + HOUR);
    // Rows of START-2d .. START-5d are older than 36 h: 4 rows, in batches of 3.
    const deleteCalls = h.calls('deleteActivityBefore');
    await m.cleanup({ activityOlderThan: '36h', batchSize: 3 });
    expect(h.calls('deleteActivityBefore') - deleteCalls).toBe(2);
    expect((await m.activity.list({ userId })).items.map((r) => r.ts)).toEqual([START, START - 24 * HOUR]);
  });

  it('list() rejects a forged cursor, both or neither of sessionId/userId, and a bad limit with INVALID_ARGUMENT', async () => {
    const h = t();
    const m = h.manager();
    const userId = h.user();
    await expectError(() => m.activity.list({ userId, cursor: 'not-a-cursor' }), 'INVALID_ARGUMENT');
    await expectError(() => m.activity.list({ userId, sessionId: 'ses_x' }), 'INVALID_ARGUMENT');
    await expectError(() => m.activity.list({}), 'INVALID_ARGUMENT');
    await expectError(() => m.activity.list({ userId, limit: 0 }), 'INVALID_ARGUMENT');
    await expectError(() => m.activity.list({ userId, limit: 1001 }), 'INVALID_ARGUMENT');
    expect(() => m.activity.record('', {})).toThrow(SessionError);
  });
}
