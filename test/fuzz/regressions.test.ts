import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createDeviceParser, createSessionManager, parseDevice, parseDuration, SessionError, type SessionStore } from '../../src/index.js';
import { createSessionHttp, errorResponse } from '../../src/http/index.js';
import { manualClock } from '../../src/testing/index.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

// The minimal counterexamples the property suites in this folder found, each as a plain test of the
// attack or misuse through the public API, so that a regression names its bug.

const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-regressions-'));
const pgPool = serviceGate('PostgreSQL', await probePostgres()) ? new pg.Pool({ connectionString: POSTGRES_URL, max: 2 }) : null;
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await pgPool?.query(`drop schema if exists ${schema} cascade`);
  await pgPool?.end();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh migrated store of each kind this machine has (Postgres in its own schema). */
async function stores(): Promise<Array<[string, SessionStore]>> {
  const list: Array<[string, SessionStore]> = [
    ['memory', memoryStore()],
    ['sqlite', sqliteStore({ filename: join(dir, `${randomBytes(4).toString('hex')}.db`) })],
  ];
  if (pgPool !== null) {
    const schema = `sk_regr_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    list.push(['postgres', postgresStore({ pool: pgPool, schema })]);
  }
  for (const [, store] of list) await store.migrate();
  return list;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return error instanceof SessionError ? error.code : `${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}

describe('found by the property suites', () => {
  it("parseDuration refuses a duration whose milliseconds are past 2^53 ('918097824d') instead of returning an inexact number", () => {
    expect(codeOf(() => parseDuration('918097824d', 'by', 'INVALID_ARGUMENT'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parseDuration('999999999d', 'idleTimeout'))).toBe('INVALID_CONFIG');
    // The largest whole number of days that is still exact.
    expect(parseDuration('104249991d', 'by')).toBe(104249991 * 86_400_000);
  });

  it('a client hint brand or platform named "constructor" or "__proto__" is an unknown name, not Object.prototype', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const device = parseDevice({ headers: { 'sec-ch-ua': `"${name}";v="131"`, 'sec-ch-ua-platform': `"${name}"` } });
      expect(typeof device.label).toBe('string');
      expect(device.label).not.toMatch(/native code|\[object/);
      for (const value of [device.browser.name, device.os.name]) expect(value === null || typeof value === 'string').toBe(true);
    }
    // Stored as it was parsed: a function in the device would vanish from its JSON in SQL stores.
    const manager = createSessionManager({ store: memoryStore() });
    const { session } = await manager.create({ userId: 'u', headers: { 'sec-ch-ua': '"constructor";v="1"', 'sec-ch-ua-platform': '"constructor"' } });
    expect(JSON.parse(JSON.stringify(session.device))).toEqual(session.device);
    await manager.close();
  });

  it('createDeviceParser({ cacheSize: Object.create(null) }) throws INVALID_CONFIG, not a TypeError from its message', () => {
    expect(codeOf(() => createDeviceParser({ cacheSize: Object.create(null) as number }))).toBe('INVALID_CONFIG');
  });

  it('createSessionHttp({ allowedOrigins: false }) throws INVALID_CONFIG, not a TypeError', async () => {
    const manager = createSessionManager({ store: memoryStore() });
    for (const allowedOrigins of [false, 'https://app.example', {}, 1]) {
      expect(codeOf(() => createSessionHttp(manager, { allowedOrigins } as never))).toBe('INVALID_CONFIG');
    }
    await manager.close();
  });

  it('errorResponse() of a body-parser-like error with a NaN or fractional status is a 500, never a response with status NaN', () => {
    for (const status of [Number.NaN, 400.5, Number.POSITIVE_INFINITY]) {
      expect(errorResponse({ statusCode: status, expose: true }).status).toBe(500);
      expect(errorResponse({ status, code: 'FST_ERR_CTP_INVALID_JSON' }).status).toBe(500);
    }
  });

  it.each(['memory', 'sqlite'])(
    'activity.record() of an event with an invalid Date, a fractional or out-of-range at, or a non-number durationMs does not poison the log (%s)',
    async (kind) => {
      const store = kind === 'memory' ? memoryStore() : sqliteStore({ filename: join(dir, 'activity.db') });
      await store.migrate();
      const manager = createSessionManager({ store });
      const { session } = await manager.create({ userId: 'u' });
      const hostile = [{ at: new Date(Number.NaN) }, { at: 1.5 }, { at: 1e300 }, { durationMs: Object.create(null) as number }, { durationMs: 10n as unknown as number }];
      for (const event of hostile) manager.activity.record(session, { ...event, path: '/api/v1/items/1' });
      await manager.activity.flush();
      manager.activity.record(session, { path: '/after' });
      await manager.activity.flush();
      const { items } = await manager.activity.list({ sessionId: session.id });
      expect(items).toHaveLength(hostile.length + 1);
      for (const row of items) expect(Number.isSafeInteger(row.ts)).toBe(true);
      expect(manager.activity.stats()).toMatchObject({ queued: 0, failed: 0 });
      await manager.close();
    },
  );

  it('cleanup() of null or of a non-object throws INVALID_ARGUMENT (null was a TypeError)', async () => {
    const manager = createSessionManager({ store: memoryStore() });
    for (const options of [null, '30d', 5]) await expect(manager.cleanup(options as never)).rejects.toMatchObject({ name: 'SessionError', code: 'INVALID_ARGUMENT' });
    await manager.close();
  });

  it('activity.record() refuses a session id with NUL or a lone surrogate, and stores NUL-free, well-formed text on every store (Postgres failed the batch for good)', async () => {
    const rows: unknown[] = [];
    for (const [kind, store] of await stores()) {
      const manager = createSessionManager({ store });
      const { session } = await manager.create({ userId: 'u' });
      for (const id of ['ses_\0', 'ses_\ud800']) expect(codeOf(() => manager.activity.record(id, {}))).toBe('INVALID_ARGUMENT');
      manager.activity.record(session, { type: 'log\0in', method: 'GE\0T', path: '/a\0b/\ud800', resource: 'conver\0sation:12\0\udc00' });
      manager.activity.record({ ...session, userId: 'u\0' }, { type: 'x\ud83d' });
      await manager.activity.flush();
      const { items } = await manager.activity.list({ sessionId: session.id });
      expect(items, kind).toHaveLength(2);
      rows.push(items.map(({ id: _id, sessionId: _session, ts: _ts, ...row }) => row));
      await manager.close();
    }
    expect(rows[0]).toMatchObject([
      { type: 'x\ufffd', userId: 'u' },
      { type: 'login', method: 'GET', path: '/ab/\ufffd', resourceType: 'conversation', resourceId: '12\ufffd', userId: 'u' },
    ]);
    // Read back alike from every store.
    for (const other of rows.slice(1)) expect(other).toEqual(rows[0]);
  });

  it('alert and activity lookups by an id or user id with NUL or a lone surrogate are INVALID_ARGUMENT on every store (Postgres answered STORE_UNAVAILABLE)', async () => {
    for (const [kind, store] of await stores()) {
      const manager = createSessionManager({ store });
      for (const bad of ['alr_\0', 'u\0', '\ud800']) {
        for (const call of [() => manager.alerts.acknowledge(bad), () => manager.alerts.resolve(bad), () => manager.alerts.list({ userId: bad }), () => manager.activity.list({ userId: bad }), () => manager.activity.list({ sessionId: bad })]) {
          await expect(call(), `${kind} ${JSON.stringify(bad)}`).rejects.toMatchObject({ name: 'SessionError', code: 'INVALID_ARGUMENT' });
        }
      }
      await manager.close();
    }
  });

  it('stats, activity.list and alerts.list take a fractional since/until (the next whole millisecond) and refuse one no Date can hold, on every store (Postgres answered STORE_UNAVAILABLE)', async () => {
    for (const [kind, store] of await stores()) {
      const clock = manualClock('2030-01-01T00:00:00Z');
      const manager = createSessionManager({ store, clock: clock.now });
      const { session } = await manager.create({ userId: 'u' });
      manager.activity.record(session, { path: '/x' });
      await manager.activity.flush();
      const at = session.createdAt;
      expect((await manager.stats({ since: at - 0.5 })).total, kind).toBe(1);
      expect((await manager.stats({ since: at + 0.5 })).total, kind).toBe(0);
      expect((await manager.activity.list({ userId: 'u', since: 5e-324 })).items, kind).toHaveLength(1);
      expect((await manager.activity.list({ userId: 'u', until: at + 0.5 })).items, kind).toHaveLength(1);
      expect((await manager.activity.list({ userId: 'u', until: at - 0.5 })).items, kind).toHaveLength(0);
      expect((await manager.alerts.list({ since: 0.5 })).items, kind).toEqual([]);
      for (const since of [1e300, -1e300, 8.64e15 + 1]) {
        await expect(manager.stats({ since }), kind).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(manager.activity.list({ userId: 'u', until: since }), kind).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(manager.alerts.list({ since }), kind).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      await manager.close();
    }
  });
});
