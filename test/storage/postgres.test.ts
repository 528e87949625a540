import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe } from 'vitest';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import type { SessionStore } from '../../src/index.js';
import { runLabStoreConformance, runSessionStoreConformance } from '../../src/testing/index.js';
import { labsUnderTest } from '../support/lab-store.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

const reachable = serviceGate('PostgreSQL', await probePostgres());

describe.runIf(reachable)('postgres', () => {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
  const peers: pg.Pool[] = [];
  const schemas = new WeakMap<SessionStore, string>();
  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.end()));
    await pool.end();
  });

  // Each test gets its own schema, so tests and test files never see each other's rows.
  runSessionStoreConformance('postgres', {
    createStore: async () => {
      const schema = `sk_test_${randomBytes(6).toString('hex')}`;
      const store = postgresStore({ pool, schema });
      schemas.set(store, schema);
      await store.migrate();
      return store;
    },
    destroyStore: async (store) => {
      await pool.query(`drop schema if exists ${schemas.get(store)} cascade`);
    },
    // A separate pool stands in for another app server.
    createPeerStore: (store) => {
      const peer = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
      peers.push(peer);
      return postgresStore({ pool: peer, schema: schemas.get(store)! });
    },
    // A real pg_dump of the store's schema, data included.
    dump: async (store) =>
      execFileSync('pg_dump', ['--dbname', POSTGRES_URL, '--schema', schemas.get(store)!, '--data-only', '--inserts'], {
        encoding: 'utf8',
      }),
  });

  const labSchemas = new WeakMap<object, string>();
  runLabStoreConformance('postgres', {
    createStore: async () => {
      const schema = `sk_test_${randomBytes(6).toString('hex')}`;
      const store = postgresStore({ pool, schema });
      await store.migrate();
      const handle = labsUnderTest(store);
      labSchemas.set(handle, schema);
      return handle;
    },
    destroyStore: async (handle) => {
      await pool.query(`drop schema if exists ${labSchemas.get(handle)} cascade`);
    },
    createPeerStore: (handle) => {
      const peer = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
      peers.push(peer);
      return labsUnderTest(postgresStore({ pool: peer, schema: labSchemas.get(handle)! }));
    },
  });
});
