/**
 * NUL and lone surrogates in ids and text, through the public API on every store: misuse is a typed
 * INVALID_ARGUMENT before anything reaches the store, and text a client sent is cleaned or ignored.
 * Never STORE_UNAVAILABLE, which is what Postgres makes of a NUL in a text parameter.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, SessionError, type SessionManager, type SessionStore } from '../../src/index.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

const NUL = 'a\0b';
const LONE = 'a\ud800b';
const pgReachable = serviceGate('PostgreSQL', await probePostgres());
const pool = pgReachable ? new pg.Pool({ connectionString: POSTGRES_URL, max: 4 }) : null;
const schemas: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'sk-text-'));
afterAll(async () => {
  for (const schema of schemas) await pool!.query(`drop schema if exists ${schema} cascade`);
  await pool?.end();
  rmSync(dir, { recursive: true, force: true });
});

const STORES: Array<[string, boolean, () => Promise<SessionStore>]> = [
  ['memory', true, async () => memoryStore()],
  [
    'sqlite',
    true,
    async () => {
      const store = sqliteStore({ filename: join(dir, `${randomBytes(4).toString('hex')}.db`) });
      await store.migrate();
      return store;
    },
  ],
  [
    'postgres',
    pgReachable,
    async () => {
      const schema = `sk_text_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      const store = postgresStore({ pool: pool!, schema });
      await store.migrate();
      return store;
    },
  ],
];

async function rejection(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (err) {
    return err;
  }
  return undefined;
}

async function expectInvalid(label: string, action: () => unknown): Promise<void> {
  const err = await rejection(action);
  expect(err, `${label}: nothing thrown`).toBeInstanceOf(SessionError);
  expect((err as SessionError).code, `${label}: ${(err as Error).message}`).toBe('INVALID_ARGUMENT');
}

for (const [name, available, open] of STORES) {
  describe.runIf(available)(`NUL and lone surrogates on ${name}`, () => {
    async function manager(): Promise<{ m: SessionManager; failures: unknown[] }> {
      const failures: unknown[] = [];
      const m = createSessionManager({ store: await open(), alerts: { onError: (error) => void failures.push(error) } });
      return { m, failures };
    }

    it('in ids, user ids, tenants and reasons: INVALID_ARGUMENT from every method, never STORE_UNAVAILABLE', async () => {
      const { m } = await manager();
      const { session } = await m.create({ userId: 'u1' });
      for (const bad of [NUL, LONE]) {
        const cases: Array<[string, () => unknown]> = [
          ['create userId', () => m.create({ userId: bad })],
          ['create tenantId', () => m.create({ userId: 'u1', tenantId: bad })],
          ['get', () => m.get(bad)],
          ['list', () => m.list(bad)],
          ['count', () => m.count(bad)],
          ['extend', () => m.extend(bad, '1m')],
          ['update', () => m.update(bad, { metadata: {} })],
          ['revoke', () => m.revoke(bad)],
          ['revoke reason', () => m.revoke(session.id, { reason: bad })],
          ['revokeAll', () => m.revokeAll(bad)],
          ['revokeAll except', () => m.revokeAll('u1', { except: bad })],
          ['activity.list userId', () => m.activity.list({ userId: bad })],
          ['activity.list sessionId', () => m.activity.list({ sessionId: bad })],
          ['alerts.list userId', () => m.alerts.list({ userId: bad })],
          ['alerts.acknowledge', () => m.alerts.acknowledge(bad)],
          ['alerts.resolve note', () => m.alerts.resolve('alr_x', { note: bad })],
        ];
        for (const [label, action] of cases) await expectInvalid(`${label} ${JSON.stringify(bad)}`, action);
      }
      expect((await m.get(session.id))?.status).toBe('active');
      await m.close();
    });

    it('in what a client sent (user agent, client hints, request path): cleaned or ignored, and stored', async () => {
      const { m, failures } = await manager();
      await m.create({ userId: 'u2', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0' });
      // A second device for the same user makes the newDevice rule write an alert from the device name.
      const { session, token } = await m.create({
        userId: 'u2',
        userAgent: `Mozilla/5.0 (Linux; Android 14; K) Chrome/131.0.0.0 Mobile${NUL}`,
        headers: { 'sec-ch-ua-model': `"Pixel${NUL}"`, 'sec-ch-ua-platform': `"And${NUL}roid"`, 'sec-ch-ua-platform-version': '"14.0.0"' },
      });
      expect(JSON.stringify(session.device)).not.toContain('\\u0000');
      expect(session.device?.model ?? '').not.toContain('\0');
      expect((await m.validate(token, { userAgent: `x${NUL}`, headers: { 'sec-ch-ua-model': `"${NUL}"` } })).ok).toBe(true);
      m.activity.record(session, { method: 'GE\0T', path: '/a\0/b', status: 200 });
      await m.activity.flush();
      await m.alerts.flush();
      const { items } = await m.activity.list({ sessionId: session.id });
      expect(items.map((row) => [row.method, row.path])).toEqual([['GET', '/a/b']]);
      expect(failures).toEqual([]);
      expect((await m.alerts.list({ userId: 'u2' })).items.map((a) => a.type)).toContain('newDevice');
      await m.close();
    });

    it("in a custom rule's finding: reported to onError as INVALID_ARGUMENT, not a store failure", async () => {
      const failures: unknown[] = [];
      const m = createSessionManager({
        store: await open(),
        alerts: {
          onError: (error) => void failures.push(error),
          custom: [{ type: 'nulRule', events: ['created'], evaluate: (event) => (event.type === 'created' ? { userId: event.session.userId, severity: 'low', evidence: {}, dedupKey: `k${NUL}` } : null) }],
        },
      });
      await m.create({ userId: 'u3' });
      await m.alerts.flush();
      expect(failures).toHaveLength(1);
      expect(failures[0]).toBeInstanceOf(SessionError);
      expect(failures[0]).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((await m.alerts.list({ userId: 'u3' })).items).toEqual([]);
      await m.close();
    });
  });
}
