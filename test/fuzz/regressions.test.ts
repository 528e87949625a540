import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createDeviceParser, createSessionManager, parseDevice, parseDuration, SessionError } from '../../src/index.js';
import { createSessionHttp, errorResponse } from '../../src/http/index.js';

// The minimal counterexamples the property suites in this folder found, each as a plain test of the
// attack or misuse through the public API, so that a regression names its bug.

const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-regressions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
});
