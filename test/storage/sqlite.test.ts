import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import type { SessionStore } from '../../src/index.js';
import { runSessionStoreConformance } from '../../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = new WeakMap<SessionStore, string>();
let counter = 0;

runSessionStoreConformance('sqlite (file)', {
  createStore: async () => {
    const filename = join(dir, `store-${++counter}.db`);
    const store = sqliteStore({ filename });
    files.set(store, filename);
    await store.migrate();
    return store;
  },
  // A second connection to the same file stands in for another process.
  createPeerStore: (store) => sqliteStore({ filename: files.get(store)! }),
  // Every byte on disk: the database file and its write-ahead log.
  dump: async (store) => {
    const filename = files.get(store)!;
    return [filename, `${filename}-wal`]
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file).toString('latin1'))
      .join('\n');
  },
});

const databases = new WeakMap<SessionStore, Database.Database>();

runSessionStoreConformance('sqlite (:memory:, caller-owned database)', {
  createStore: async () => {
    const database = new Database(':memory:');
    const store = sqliteStore({ database, tablePrefix: 'sk_' });
    databases.set(store, database);
    await store.migrate();
    return store;
  },
  // A second store over the same connection, as two parts of one app would share it.
  createPeerStore: (store) => sqliteStore({ database: databases.get(store)!, tablePrefix: 'sk_' }),
  destroyStore: (store) => {
    databases.get(store)?.close();
  },
  dump: async (store) => databases.get(store)!.serialize().toString('latin1'),
});
