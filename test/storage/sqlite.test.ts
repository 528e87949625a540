import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, type SessionStore } from '../../src/index.js';
import { runLabStoreConformance, runSessionStoreConformance } from '../../src/testing/index.js';
import { labsUnderTest } from '../support/lab-store.js';

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

// The lab store of the same two configurations: a file with a second connection as the peer, and a
// caller-owned in-memory database.
const labFiles = new WeakMap<object, string>();
runLabStoreConformance('sqlite (file)', {
  createStore: async () => {
    const filename = join(dir, `labs-${++counter}.db`);
    const store = sqliteStore({ filename });
    await store.migrate();
    const handle = labsUnderTest(store);
    labFiles.set(handle, filename);
    return handle;
  },
  createPeerStore: (handle) => labsUnderTest(sqliteStore({ filename: labFiles.get(handle)! })),
});

runLabStoreConformance('sqlite (:memory:, caller-owned database)', {
  createStore: async () => {
    const database = new Database(':memory:');
    const store = sqliteStore({ database, tablePrefix: 'sk_' });
    await store.migrate();
    return { ...labsUnderTest(store), close: async () => { await store.close(); database.close(); } };
  },
});

describe('sqlite device keys', () => {
  it('validate() returns the device of a row whose device this process has never parsed', async () => {
    const database = new Database(':memory:');
    const store = sqliteStore({ database });
    await store.migrate();
    const sessions = createSessionManager({ store });
    const { session, token } = await sessions.create({ userId: 'u1', userAgent: 'curl/8.4.0' });
    // As if another process had written a device this one has not seen: new JSON under a new key.
    const device = { ...session.device, label: `written elsewhere ${randomUUID()}` };
    database.prepare('update sessions set device = ?, device_key = ? where id = ?').run(JSON.stringify(device), randomUUID().slice(0, 22), session.id);
    const result = await sessions.validate(token);
    expect(result.ok && result.session.device).toEqual(device);
    expect(result.ok && result.session).toEqual(await sessions.get(session.id));
    await sessions.close();
    database.close();
  });
});
