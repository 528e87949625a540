/**
 * The Express test app (test/http/servers/express.ts) in a process of its own, so that a fault test
 * sees it crash. Configured by the environment:
 *
 * - `SK_STORE`: `postgres` (with `SK_PG_URL`, `SK_PG_SCHEMA`, and `SK_PG_POOL` = `owned` for a
 *   `connectionString` store of `SK_PG_POOL_SIZE` connections or `passed` for a `pg.Pool` of that
 *   size given to the store) or `sqlite` (with `SK_SQLITE_FILE`, optional `SK_SQLITE_BUSY_TIMEOUT`;
 *   `SK_SQLITE_PASSED=1` opens the database here and passes it to the store).
 *
 * Sends `{ type: 'ready', url }` once listening. Answers `{ type: 'pool' }` with the passed pool's
 * counts and each of its clients' number of `'error'` listeners, `{ type: 'close-database' }` by
 * closing the passed SQLite database, `{ type: 'stop' }` by closing everything and exiting 0.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { createSessionManager, type SessionStore } from '../../src/index.js';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { frameworks } from '../http/servers.js';

const env = process.env;
let store: SessionStore;
let pool: pg.Pool | null = null;
let database: Database.Database | null = null;
const clients = new Set<pg.PoolClient>();
if (env.SK_STORE === 'postgres') {
  const size = Number(env.SK_PG_POOL_SIZE ?? 4);
  const url = `${env.SK_PG_URL!}?application_name=${env.SK_PG_APP ?? 'sk-fault-app'}`;
  if (env.SK_PG_POOL === 'passed') {
    pool = new pg.Pool({ connectionString: url, max: size });
    // What the README asks of anyone passing a pool: idle clients dying must not crash the app.
    pool.on('error', () => {});
    pool.on('connect', (client) => void clients.add(client));
    pool.on('remove', (client) => void clients.delete(client));
    store = postgresStore({ pool, schema: env.SK_PG_SCHEMA! });
  } else {
    store = postgresStore({ connectionString: url, poolSize: size, schema: env.SK_PG_SCHEMA! });
  }
} else if (env.SK_SQLITE_PASSED === '1') {
  database = new Database(env.SK_SQLITE_FILE!);
  database.pragma('journal_mode = WAL');
  store = sqliteStore({ database });
} else {
  store = sqliteStore({
    filename: env.SK_SQLITE_FILE!,
    ...(env.SK_SQLITE_BUSY_TIMEOUT === undefined ? {} : { busyTimeout: Number(env.SK_SQLITE_BUSY_TIMEOUT) }),
  });
}
await store.migrate();
// Defaults otherwise, alerts included: that is what an operator runs.
const sessions = createSessionManager({ store });
const express = frameworks.find((framework) => framework.name === 'express')!;
const server = await express.start(sessions, { middleware: { cookie: { secure: false } } });

process.on('message', (message: { type?: string }) => {
  if (message.type === 'pool' && pool !== null) {
    process.send!({
      type: 'pool',
      totalCount: pool.totalCount,
      idleCount: pool.idleCount,
      waitingCount: pool.waitingCount,
      errorListeners: [...clients].map((client) => client.listenerCount('error')),
    });
  }
  if (message.type === 'close-database' && database !== null) {
    // Someone else's code closing the database the store was given.
    database.close();
    process.send!({ type: 'closed' });
  }
  if (message.type === 'stop') {
    void server
      .close()
      .then(() => sessions.close())
      .finally(() => process.exit(0));
  }
});
process.send!({ type: 'ready', url: server.url });
