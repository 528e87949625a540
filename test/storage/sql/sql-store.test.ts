/**
 * What the SQL store's pieces add beyond the conformance suite: the capability flags each driver
 * declares and the store follows, per-store state, `store.labs`, mappers by column name, and the
 * structural pool type of the Postgres adapter.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore, type PostgresPool } from '../../../adapters/storage/postgres/index.js';
import { PostgresDriver } from '../../../adapters/storage/postgres/postgres-driver.js';
import {
  ACTIVITY_COLUMNS,
  ALERT_COLUMNS,
  columnPositions,
  createSqlStore,
  LAB_COLUMNS,
  SESSION_COLUMNS,
  SqlStoreContext,
  type SqlDriver,
  type SqlStore,
} from '../../../adapters/storage/sql/index.js';
import { SessionMapper, toActivity, toAlert, toLab } from '../../../adapters/storage/sql/mappers/index.js';
import { sqliteStore } from '../../../adapters/storage/sqlite/index.js';
import { SqliteDriver, type SqliteDatabase } from '../../../adapters/storage/sqlite/sqlite-driver.js';
import { createSessionManager } from '../../../src/index.js';
import type { NewLabRecord } from '../../../src/labs/types.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../../support/services.js';

const reachable = serviceGate('PostgreSQL', await probePostgres());

function memoryDatabase(): SqliteDatabase {
  return new Database(':memory:') as unknown as SqliteDatabase;
}

/** A row of `columns` built from values by column name, as the driver would return it. */
function rowOf(columns: readonly string[], values: Record<string, unknown>): unknown[] {
  return columns.map((column) => (column in values ? values[column] : null));
}

function labRecord(id: string, subnet: string): NewLabRecord {
  return {
    id,
    sessionId: 'sess_1',
    userId: 'alice',
    template: 'web',
    createdAt: 1_000,
    expiresAt: 61_000,
    network: { name: `sk-lab-${id}`, id: null, subnet, gateway: subnet.replace(/0\/24$/, '1') },
    containers: [{ name: 'web', id: null, ip: subnet.replace(/0\/24$/, '10'), image: 'nginx:alpine' }],
  };
}

describe('driver capability flags', () => {
  it('SQLite declares a synchronous, in-process engine: no batching, arrays, writable CTEs, jsonb or row locks', () => {
    const driver = new SqliteDriver(memoryDatabase(), true, undefined);
    expect(driver.capabilities).toEqual({
      synchronous: true,
      batchLookups: false,
      arrayParameters: false,
      writableCtes: false,
      jsonb: false,
      rowLocks: false,
      advisoryLocks: false,
      clusteredTables: true,
      collatedText: false,
    });
    expect(typeof driver.querySync).toBe('function');
    expect(Object.isFrozen(driver.capabilities)).toBe(true);
  });

  it('Postgres declares a networked engine with every statement-saving feature and no synchronous path', () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL });
    const driver = new PostgresDriver(pool, true, 'public');
    expect(driver.capabilities).toEqual({
      synchronous: false,
      batchLookups: true,
      arrayParameters: true,
      writableCtes: true,
      jsonb: true,
      rowLocks: true,
      advisoryLocks: true,
      clusteredTables: false,
      collatedText: true,
    });
    expect((driver as SqlDriver).querySync).toBeUndefined();
    return driver.close();
  });

  it('a driver whose synchronous flag disagrees with its querySync is refused with INVALID_CONFIG', () => {
    const sqlite = new SqliteDriver(memoryDatabase(), true, undefined);
    const lying: SqlDriver = { ...driverMethods(sqlite), capabilities: { ...sqlite.capabilities, synchronous: true }, querySync: undefined };
    expect(() => new SqlStoreContext(lying, '')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it('the store follows the flags, not the engine name: SQLite driven through its asynchronous path behaves the same', async () => {
    const sqlite = new SqliteDriver(memoryDatabase(), true, undefined);
    const asynchronous: SqlDriver = { ...driverMethods(sqlite), name: 'sqlite', capabilities: { ...sqlite.capabilities, synchronous: false, clusteredTables: false } };
    const store = createSqlStore(asynchronous, '');
    await store.migrate();
    const sessions = createSessionManager({ store, maxSessionsPerUser: 2 });
    const first = await sessions.create({ userId: 'u1', userAgent: 'curl/8.4.0', metadata: { a: 1 } });
    await sessions.create({ userId: 'u1' });
    const third = await sessions.create({ userId: 'u1' });
    expect((await sessions.validate(first.token)).ok).toBe(false);
    const valid = await sessions.validate(third.token);
    expect(valid.ok && valid.session.id).toBe(third.session.id);
    expect((await store.mergeMetadata(third.session.id, { b: 2 }, Date.now(), 4096))?.metadata).toEqual({ b: 2 });
    expect(await store.hitCounter('k', Date.now(), 60_000)).toBe(1);
    expect(await store.hitCounter('k', Date.now(), 60_000)).toBe(2);
    await sessions.close();
  });
});

describe('per-store state', () => {
  it('two stores over one database keep separate device caches', async () => {
    const database = new Database(':memory:');
    const a = sqliteStore({ database });
    const b = sqliteStore({ database });
    await a.migrate();
    const manager = createSessionManager({ store: a });
    const { session, token } = await manager.create({ userId: 'u1', userAgent: 'curl/8.4.0' });
    expect((await manager.validate(token)).ok).toBe(true);
    expect(cachedDevices(a)).toBe(1);
    expect(cachedDevices(b)).toBe(0);
    // The row's device changes under the same key: a store that never parsed it reads the row's JSON,
    // where a cache shared by the process would have answered with a's parsed device.
    const changed = { ...session.device, label: 'changed elsewhere' };
    database.prepare('update sessions set device = ? where id = ?').run(JSON.stringify(changed), session.id);
    const { tokenHash } = database.prepare('select token_hash as tokenHash from sessions where id = ?').get(session.id) as { tokenHash: string };
    expect((await b.findByTokenHash(tokenHash))?.device).toEqual(changed);
    expect((await a.findByTokenHash(tokenHash))?.device).toEqual(session.device);
    await manager.close();
    await b.close();
    database.close();
  });

  it('closing one store leaves another over the same database open', async () => {
    const database = new Database(':memory:');
    const a = sqliteStore({ database });
    const b = sqliteStore({ database });
    await a.migrate();
    await a.close();
    await expect(a.findById('x')).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(b.findById('x')).resolves.toBeNull();
    await b.close();
    database.close();
  });
});

describe('migrations', () => {
  it('records the same six migration names as before the split, so existing databases have nothing to apply', async () => {
    const database = new Database(':memory:');
    const store = sqliteStore({ database, tablePrefix: 'app_' });
    await store.migrate();
    await store.migrate();
    const names = database.prepare('select name from app_migrations order by name').all() as { name: string }[];
    expect(names.map((row) => row.name)).toEqual([
      '0001_create_sessions',
      '0002_create_activity',
      '0003_create_alerts',
      '0004_create_rotated_tokens_and_counters',
      '0005_create_labs',
      '0006_index_alerts_for_retention',
    ]);
    // SQLite's clusteredTables flag: the keyed tables are WITHOUT ROWID.
    const sessionsSql = (database.prepare("select sql from sqlite_master where name = 'app_sessions'").get() as { sql: string }).sql;
    expect(sessionsSql).toMatch(/without rowid/i);
    await store.close();
    database.close();
  });
});

describe('store.labs and store.capabilities', () => {
  it('sqliteStore() exposes a separate lab store over the same tables, and the lab methods on the store delegate to it', async () => {
    const store = sqliteStore({ database: new Database(':memory:') });
    await store.migrate();
    expect(store.labs).not.toBe(store);
    const lab = await store.labs.insertLab('alice', { maxPerUser: 2, maxTotal: 5 }, (held) => {
      expect(held.size).toBe(0);
      return labRecord('lab_a', '10.10.1.0/24');
    });
    expect(lab).toMatchObject({ id: 'lab_a', status: 'provisioning', subnetHeld: true });
    expect(await store.labs.getLab('lab_a')).toEqual(lab);
    await store.labs.insertLab('alice', { maxPerUser: 2, maxTotal: 5 }, (held) => {
      expect([...held]).toEqual(['10.10.1.0/24']);
      return labRecord('lab_b', '10.10.2.0/24');
    });
    expect((await store.labs.listLabs({ userId: 'alice' })).map((l) => l.id)).toEqual(['lab_a', 'lab_b']);
    await expect(store.labs.insertLab('alice', { maxPerUser: 2, maxTotal: 5 }, () => labRecord('lab_c', '10.10.3.0/24'))).rejects.toMatchObject({
      code: 'LAB_LIMIT',
    });
    const stopped = await store.labs.updateLab('lab_a', { statuses: ['provisioning'] }, { updatedAt: 2_000, status: 'stopped', releaseSubnet: true });
    expect(stopped).toMatchObject({ status: 'stopped', subnetHeld: false });
    expect(await store.labs.deleteLabsEndedBefore(3_000, 10)).toBe(1);
    await store.close();
    await expect(store.labs.getLab('lab_b')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('reports { activity: true, alerts: true }, read-only', () => {
    const store = sqliteStore({ database: new Database(':memory:') });
    expect(store.capabilities).toEqual({ activity: true, alerts: true });
    expect(Object.isFrozen(store.capabilities)).toBe(true);
    // @ts-expect-error capabilities is readonly
    expect(() => (store.capabilities = { activity: false, alerts: false })).toThrow();
    return store.close();
  });
});

describe('mappers read columns by name', () => {
  it('columnPositions gives each column its index in the list', () => {
    const at = columnPositions(SESSION_COLUMNS);
    SESSION_COLUMNS.forEach((column, i) => expect(at[column]).toBe(i));
  });

  it('a session row maps field by field, BIGINT strings to numbers, and a device parsed once per mapper', () => {
    const mapper = new SessionMapper();
    const device = { class: 'desktop', label: 'Chrome on macOS' };
    const row = rowOf(SESSION_COLUMNS, {
      id: 's1',
      user_id: 'u1',
      tenant_id: 't1',
      created_at: '1000',
      last_active_at: '2000',
      expires_at: '3000',
      absolute_expires_at: '4000',
      revoked_at: '2500',
      revoke_reason: 'logout',
      ip: '203.0.113.9',
      user_agent: 'ua',
      device: JSON.stringify(device),
      metadata: '{"plan":"pro"}',
      device_key: 'k1',
    });
    const session = mapper.toSession(row);
    expect(session).toEqual({
      id: 's1',
      userId: 'u1',
      tenantId: 't1',
      status: 'revoked',
      createdAt: 1000,
      lastActiveAt: 2000,
      expiresAt: 3000,
      absoluteExpiresAt: 4000,
      revokedAt: 2500,
      revokeReason: 'logout',
      ip: '203.0.113.9',
      userAgent: 'ua',
      device,
      metadata: { plan: 'pro' },
    });
    expect(mapper.toSession(rowOf(SESSION_COLUMNS, { ...Object.fromEntries(SESSION_COLUMNS.map((c, i) => [c, row[i]])), device: null })).device).toBe(session.device);
    expect(mapper.cachedDevices).toBe(1);
  });

  it('activity, alert and lab rows map from their column lists', () => {
    const activity = toActivity(
      rowOf(ACTIVITY_COLUMNS, { id: 'a1', session_id: 's1', user_id: null, ts: '5', type: 'request', category: 'http', status: 200, details: '{"x":1}' }),
    );
    expect(activity).toMatchObject({ id: 'a1', sessionId: 's1', userId: null, ts: 5, category: 'http', status: 200, durationMs: null, details: { x: 1 } });
    const alert = toAlert(
      rowOf(ALERT_COLUMNS, { id: 'al1', type: 't', severity: 'high', status: 'open', created_at: 1, last_seen_at: '2', evidence: '{}', dedup_key: 'd', count: '3' }),
    );
    expect(alert).toMatchObject({ id: 'al1', severity: 'high', lastSeenAt: 2, count: 3, updatedAt: null, note: null });
    const lab = toLab(
      rowOf(LAB_COLUMNS, {
        id: 'lab_1',
        session_id: 's1',
        user_id: 'u1',
        template: 'web',
        status: 'active',
        network_name: 'n',
        subnet: '10.0.0.0/24',
        gateway: '10.0.0.1',
        subnet_held: 1,
        containers: '[]',
        created_at: 1,
        updated_at: 2,
        expires_at: 3,
        extensions: 0,
      }),
    );
    expect(lab).toMatchObject({ id: 'lab_1', status: 'active', network: { name: 'n', id: null, subnet: '10.0.0.0/24' }, subnetHeld: true, error: null });
  });
});

describe.runIf(reachable)('postgres: a structural pool', () => {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
  const schemas: string[] = [];
  afterAll(async () => {
    for (const schema of schemas) await pool.query(`drop schema if exists ${schema} cascade`);
    await pool.end();
  });

  it('any object with connect/query/end/on works as the pool, and concurrent lookups share one query (batchLookups)', async () => {
    const queries: string[] = [];
    // Not a pg.Pool: only the four methods the store's type asks for.
    const counting: PostgresPool = {
      connect: (callback) => pool.connect(callback),
      query: (config) => (queries.push(config.text), pool.query(config)),
      end: async () => {},
      on: () => counting,
    };
    const schema = `sk_test_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    const store: SqlStore = postgresStore({ pool: counting, schema });
    await store.migrate();
    const sessions = createSessionManager({ store });
    await Promise.all(Array.from({ length: 5 }, (_, i) => sessions.create({ userId: `u${i}` })));
    const hashes = await pool.query<{ token_hash: string }>(`select token_hash from ${schema}.sessions`);
    queries.length = 0;
    const results = await Promise.all(hashes.rows.map((r) => store.findByTokenHash(r.token_hash)));
    expect(results).toHaveLength(5);
    expect(results.every((s) => s !== null)).toBe(true);
    expect(queries.filter((text) => text.includes('any('))).toHaveLength(1);
    await sessions.close();
  });
});

describe('postgres adapter loads no pg until a store it opens runs a statement', () => {
  it('importing the adapter and creating a store from a connection string leave pg unloaded', () => {
    const adapter = fileURLToPath(new URL('../../../adapters/storage/postgres/index.ts', import.meta.url));
    const script = `
      const { createRequire } = await import('node:module');
      const { postgresStore } = await import(${JSON.stringify(adapter)});
      postgresStore({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
      const cache = createRequire(import.meta.url).cache;
      console.log(Object.keys(cache).filter((file) => /node_modules[\\\\/]pg[\\\\/]/.test(file)).length);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.trim()).toBe('0');
  });
});

// --- helpers ---

/** The driver's methods bound to it, to build a driver with other flags over the same database. */
function driverMethods(driver: SqlDriver): SqlDriver {
  return {
    name: driver.name,
    capabilities: driver.capabilities,
    db: driver.db,
    schema: driver.schema,
    query: driver.query.bind(driver),
    transaction: driver.transaction.bind(driver),
    isMissingTable: driver.isMissingTable.bind(driver),
    close: driver.close.bind(driver),
  };
}

function cachedDevices(store: SqlStore): number {
  return (store as unknown as { sessions: { mapper: SessionMapper } }).sessions.mapper.cachedDevices;
}
