import { describe, expect, it, vi } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, SessionError, type FullSessionStore as SessionStore } from '../../src/index.js';
import { extractResource } from '../../src/activity/classify.js';
import { redactString } from '../../src/activity/redact.js';

/** A real memory store whose activity writes fail while `down` is true: a database outage. */
function flakyStore(): { store: SessionStore; setDown(down: boolean): void; inserts: () => number } {
  const store = memoryStore();
  let down = false;
  let inserts = 0;
  const flaky = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key === 'insertActivity') {
        return async (...args: Parameters<SessionStore['insertActivity']>) => {
          inserts++;
          if (down) throw new Error('connection refused');
          return target.insertActivity(...args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: flaky, setDown: (value) => (down = value), inserts: () => inserts };
}

async function managerWith(store: SessionStore, activity: Parameters<typeof createSessionManager>[0]['activity']) {
  const sessions = createSessionManager({ store, activity });
  const { session } = await sessions.create({ userId: 'u1' });
  return { sessions, session };
}

describe('activity logger', () => {
  it('writes a full batch by itself, without flush()', async () => {
    const { store, inserts } = flakyStore();
    const { sessions, session } = await managerWith(store, { batchSize: 10, flushInterval: '1h' });
    for (let i = 0; i < 10; i++) sessions.activity.record(session, { path: `/api/x/${i}` });
    await vi.waitFor(() => expect(sessions.activity.stats().written).toBe(10), { timeout: 2000 });
    expect(inserts()).toBe(1);
    await sessions.close();
  });

  it('writes a partial batch when the flush interval passes', async () => {
    const { store } = flakyStore();
    const { sessions, session } = await managerWith(store, { batchSize: 100, flushInterval: '20ms' });
    sessions.activity.record(session, { path: '/api/x/1' });
    await vi.waitFor(() => expect(sessions.activity.stats()).toMatchObject({ queued: 0, written: 1 }), { timeout: 2000 });
    await sessions.close();
  });

  it('keeps a failed batch and retries it with backoff until the store is back; nothing is lost or doubled', async () => {
    const { store, setDown, inserts } = flakyStore();
    const { sessions, session } = await managerWith(store, { batchSize: 5, flushInterval: '10ms', retryDelay: '10ms', maxRetryDelay: '40ms' });
    setDown(true);
    for (let i = 0; i < 12; i++) sessions.activity.record(session, { path: `/api/x/${i}` });
    await vi.waitFor(() => expect(sessions.activity.stats().failed).toBeGreaterThanOrEqual(3), { timeout: 3000 });
    expect(sessions.activity.stats()).toMatchObject({ queued: 12, written: 0, dropped: 0 });
    await expect(sessions.activity.flush()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(sessions.activity.stats().queued).toBe(12);
    const attemptsWhileDown = inserts();
    setDown(false);
    await vi.waitFor(() => expect(sessions.activity.stats()).toMatchObject({ queued: 0, written: 12 }), { timeout: 3000 });
    expect(inserts()).toBeGreaterThan(attemptsWhileDown);
    const ids = (await sessions.activity.list({ userId: 'u1', limit: 100 })).items.map((r) => r.resourceId);
    expect(ids.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
    await sessions.close();
  });

  it('drops the oldest unwritten events when the queue is full, and counts them', async () => {
    const { store, setDown } = flakyStore();
    const { sessions, session } = await managerWith(store, { batchSize: 5, maxQueue: 10, flushInterval: '1h', retryDelay: '1h' });
    setDown(true);
    for (let i = 0; i < 25; i++) sessions.activity.record(session, { path: `/api/x/${i}` });
    expect(sessions.activity.stats()).toMatchObject({ queued: 10, dropped: 15 });
    setDown(false);
    await sessions.activity.flush();
    const kept = (await sessions.activity.list({ userId: 'u1', limit: 100 })).items.map((r) => Number(r.resourceId));
    // The newest ten survive, whatever was in flight when the queue overflowed.
    expect(kept.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => 15 + i));
    await sessions.close();
  });

  it('classifies with application rules first, then the built-in ones', async () => {
    const { store } = flakyStore();
    const { sessions, session } = await managerWith(store, { categories: [{ category: 'security', method: 'DELETE', path: '/api/v1/teams' }] });
    const cases: Array<[string, string, string]> = [
      ['DELETE', '/api/v1/teams/7', 'security'],
      ['GET', '/api/v1/teams/7', 'data'],
      ['POST', '/auth/login', 'auth'],
      ['DELETE', '/api/v1/me/sessions/ses_1', 'session'],
      ['GET', '/admin/users', 'admin'],
      ['PATCH', '/account/settings', 'profile'],
      ['GET', '/favicon.ico', 'other'],
    ];
    for (const [method, path] of cases) sessions.activity.record(session, { method, path, at: Date.now() });
    await sessions.activity.flush();
    const rows = (await sessions.activity.list({ userId: 'u1', limit: 100 })).items;
    for (const [method, path, category] of cases) {
      expect(rows.find((r) => r.method === method && r.path === path)?.category, `${method} ${path}`).toBe(category);
    }
    await sessions.close();
  });

  it('keeps only allow-listed query parameters, and an explicit category or resource wins', async () => {
    const { store } = flakyStore();
    const { sessions, session } = await managerWith(store, { allowQueryParams: ['page'] });
    sessions.activity.record(session, { path: '/api/search?q=private&page=3&token=abc', category: 'other', resource: 'report:Q3', type: 'export' });
    await sessions.activity.flush();
    const [row] = (await sessions.activity.list({ userId: 'u1' })).items;
    expect(row).toMatchObject({ path: '/api/search?page=3', category: 'other', resourceType: 'report', resourceId: 'Q3', type: 'export' });
    await sessions.close();
  });

  it('refuses events after close() with CLOSED rather than queueing what nothing would write', async () => {
    const { store } = flakyStore();
    const { sessions, session } = await managerWith(store, {});
    await sessions.close();
    expect(() => sessions.activity.record(session, { path: '/api/x/1' })).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('rejects invalid options with INVALID_CONFIG', () => {
    const store = memoryStore();
    for (const activity of [{ batchSize: 0 }, { maxQueue: 5, batchSize: 10 }, { flushInterval: '1ms' as const }, { categories: [{ category: 'nope', path: '/x' }] }]) {
      expect(() => createSessionManager({ store, activity: activity as never })).toThrow(SessionError);
    }
  });
});

describe('resource extraction', () => {
  it.each([
    ['/api/v1/conversations/123', { type: 'conversation', id: '123' }],
    ['/api/v1/conversations/123/messages/9', { type: 'message', id: '9' }],
    ['/api/v1/conversations/123/messages', { type: 'conversation', id: '123' }],
    ['/api/v2/categories/0b3c6a9e-8f43-4d61-9c1b-2a7b7f0e1d22', { type: 'category', id: '0b3c6a9e-8f43-4d61-9c1b-2a7b7f0e1d22' }],
    ['/api/boxes/ab12', { type: 'box', id: 'ab12' }],
    ['/api/v1/health', null],
    ['/', null],
  ])('%s', (path, expected) => {
    expect(extractResource(path)).toEqual(expected);
  });
});

describe('redaction', () => {
  it.each([
    ['card 4111-1111-1111-1111 ok', 'card [redacted:card] ok'],
    ['order 1234567890123 is not a card', 'order 1234567890123 is not a card'],
    ['write to jo.doe+x@mail.example.org', 'write to [redacted:email]'],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here', 'jwt [redacted:token] here'],
    ['plain words stay as they are', 'plain words stay as they are'],
    [`token skt_${'a1'.repeat(15)}-- ends in dashes`, 'token [redacted:token] ends in dashes'],
    [`/reset/skt_-${'b'.repeat(30)}_`, '/reset/[redacted:token]'],
  ])('%s', (input, expected) => {
    expect(redactString(input)).toBe(expected);
  });
});
