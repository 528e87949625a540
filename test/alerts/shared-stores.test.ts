import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, type SessionManager, type SessionStore } from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { generateToken } from '../../src/token.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

const START = Date.parse('2030-01-01T00:00:00Z');

/**
 * Two managers over one database stand in for two app servers behind a load balancer: the counting
 * rules and rotated-token memory must see what either of them saw.
 */
function sharedStoreSuite(name: string, openPair: () => Promise<{ a: SessionStore; b: SessionStore; drop(): Promise<void> }>) {
  describe(`alert rules across two app servers (${name})`, () => {
    async function servers() {
      const { a, b, drop } = await openPair();
      const clock = manualClock(START);
      const one = createSessionManager({ store: a, clock: clock.now });
      const two = createSessionManager({ store: b, clock: clock.now });
      return {
        one,
        two,
        clock,
        async close() {
          await Promise.all([one.close(), two.close()]);
          await drop();
        },
      };
    }
    const typesOf = async (manager: SessionManager) => {
      await manager.alerts.flush();
      return (await manager.alerts.list()).items.map((a) => [a.type, a.count]);
    };

    it('token guesses split over both servers add up to one brute-force alert', async () => {
      const { one, two, close } = await servers();
      try {
        for (let i = 0; i < 10; i++) await one.validate(generateToken(), { ip: '203.0.113.66' });
        await one.alerts.flush();
        for (let i = 0; i < 9; i++) await two.validate(generateToken(), { ip: '203.0.113.66' });
        expect(await typesOf(two)).toEqual([]);
        await two.validate(generateToken(), { ip: '203.0.113.66' });
        expect(await typesOf(two)).toEqual([['tokenBruteForce', 1]]);
      } finally {
        await close();
      }
    });

    it('a token rotated on one server and replayed on the other is detected', async () => {
      const { one, two, clock, close } = await servers();
      try {
        const { token } = await one.create({ userId: 'u1' });
        await one.rotate(token);
        clock.advance('1m');
        expect(await two.validate(token)).toEqual({ ok: false, reason: 'unknown' });
        expect(await typesOf(two)).toEqual([['revokedTokenReuse', 1]]);
      } finally {
        await close();
      }
    });

    it('sessions created on both servers count together for rapidSessionCreation', async () => {
      const { one, two, close } = await servers();
      try {
        for (let i = 0; i < 6; i++) await one.create({ userId: 'u1' });
        await one.alerts.flush();
        for (let i = 0; i < 5; i++) await two.create({ userId: 'u1' });
        expect(await typesOf(two)).toEqual([['rapidSessionCreation', 1]]);
      } finally {
        await close();
      }
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-alerts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
sharedStoreSuite('SQLite file, two connections', async () => {
  const filename = join(dir, `alerts-${++files}.db`);
  const a = sqliteStore({ filename });
  await a.migrate();
  return { a, b: sqliteStore({ filename }), drop: async () => {} };
});

const reachable = serviceGate('PostgreSQL', await probePostgres());
describe.runIf(reachable)('postgres', () => {
  const pools: pg.Pool[] = [];
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await admin.end();
  });
  sharedStoreSuite('Postgres, two pools', async () => {
    const schema = `sk_alerts_${randomBytes(6).toString('hex')}`;
    const [poolA, poolB] = [new pg.Pool({ connectionString: POSTGRES_URL, max: 4 }), new pg.Pool({ connectionString: POSTGRES_URL, max: 4 })];
    pools.push(poolA, poolB);
    const a = postgresStore({ pool: poolA, schema });
    await a.migrate();
    return { a, b: postgresStore({ pool: poolB, schema }), drop: async () => void (await admin.query(`drop schema if exists ${schema} cascade`)) };
  });
});
