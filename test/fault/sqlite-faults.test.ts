import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { startChild } from '../support/child-process.js';
import { ask, signIn, summarize, type Answer } from '../support/http-load.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The Express app on a SQLite file of a fresh temp dir, in a child process. */
async function startApp(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sk-fault-sqlite-'));
  dirs.push(dir);
  const file = join(dir, 'sessions.db');
  const app = startChild('fault-app.ts', { SK_STORE: 'sqlite', SK_SQLITE_FILE: file, ...env });
  onTestFinished(() => app.kill());
  const { url } = await app.next<{ url: string }>('ready');
  return { app, url, dir, file };
}

const unavailable = (a: Answer) => a.status === 503 && a.code === 'STORE_UNAVAILABLE' && !a.clearsCookie;

describe('SQLite faults over HTTP', () => {
  it("the file write-locked by another process (BEGIN EXCLUSIVE): writes answer 503 STORE_UNAVAILABLE after the busy timeout, reads still answer 200, the cookie is kept, and writes work again once the lock is released", async () => {
    const { app, url, file } = await startApp({ SK_SQLITE_BUSY_TIMEOUT: '400' });
    const alice = await signIn(url, 'alice');
    const locker = new Database(file);
    onTestFinished(() => void (locker.open && locker.close()));
    locker.exec('BEGIN EXCLUSIVE');

    // WAL readers are not blocked by a writer: validating a session needs no write.
    expect(await ask(url, { name: 'alice', path: '/protected', cookie: alice })).toMatchObject({ status: 200 });
    const login = await ask(url, { name: 'bob', path: '/login', method: 'POST', body: { userId: 'bob' } });
    const logout = await ask(url, { name: 'alice', path: '/logout', method: 'POST', cookie: alice });
    for (const answer of [login, logout]) {
      expect(answer, summarize([answer]).join()).toSatisfy(unavailable);
      // It waited for the lock as long as the busy timeout allows, and no longer: not a hang.
      expect(answer.ended - answer.started).toBeGreaterThanOrEqual(350);
      expect(answer.ended - answer.started).toBeLessThan(3000);
    }
    // The failed logout changed nothing: alice is still signed in.
    expect(await ask(url, { name: 'alice', path: '/protected', cookie: alice })).toMatchObject({ status: 200 });

    locker.exec('COMMIT');
    expect(await ask(url, { name: 'alice', path: '/logout', method: 'POST', cookie: alice })).toMatchObject({ status: 204 });
    expect(await ask(url, { name: 'alice', path: '/protected', cookie: alice })).toMatchObject({ status: 401 });
    expect(typeof (await signIn(url, 'bob'))).toBe('string');
    expect(app.alive()).toBe(true);
  }, 30_000);

  for (const removal of [
    { name: 'the database file unlinked', remove: (file: string) => unlinkSync(file) },
    { name: 'its directory removed', remove: (_file: string, dir: string) => rmSync(dir, { recursive: true, force: true }) },
  ]) {
    it(`${removal.name} while the app runs: within 2 s every request answers 503 STORE_UNAVAILABLE instead of going on in a file nobody will open again; the cookie is kept`, async () => {
      const { app, url, file, dir } = await startApp();
      const alice = await signIn(url, 'alice');
      const bob = await signIn(url, 'bob');
      expect(await ask(url, { name: 'bob', path: '/logout', method: 'POST', cookie: bob })).toMatchObject({ status: 204 });
      removal.remove(file, dir);

      const removed = performance.now();
      let last: Answer | undefined;
      while (performance.now() - removed < 2000) {
        last = await ask(url, { name: 'alice', path: '/protected', cookie: alice });
        if (last.status !== 200) break;
      }
      expect(last, summarize([last!]).join()).toSatisfy(unavailable);
      console.log(`[fault] SQLite: ${removal.name} noticed after ${(last!.ended - removed).toFixed(0)} ms`);
      const after = [
        await ask(url, { name: 'alice', path: '/protected', cookie: alice }),
        await ask(url, { name: 'bob', path: '/protected', cookie: bob }),
        await ask(url, { name: 'carol', path: '/login', method: 'POST', body: { userId: 'carol' } }),
        await ask(url, { name: 'alice', path: '/logout', method: 'POST', cookie: alice }),
      ];
      expect(summarize(after.filter((a) => !unavailable(a)))).toEqual([]);
      expect(app.alive()).toBe(true);
    }, 30_000);
  }

  it('a database handle closed under the store (by the code that passed it): every request answers 503 STORE_UNAVAILABLE, never 401', async () => {
    const { app, url } = await startApp({ SK_SQLITE_PASSED: '1' });
    const alice = await signIn(url, 'alice');
    app.send({ type: 'close-database' });
    await app.next('closed');
    const after = [
      await ask(url, { name: 'alice', path: '/protected', cookie: alice }),
      await ask(url, { name: 'alice', path: '/public', cookie: alice }),
      await ask(url, { name: 'bob', path: '/login', method: 'POST', body: { userId: 'bob' } }),
      await ask(url, { name: 'alice', path: '/logout', method: 'POST', cookie: alice }),
    ];
    expect(summarize(after.filter((a) => !unavailable(a)))).toEqual([]);
    expect(app.alive()).toBe(true);
  }, 30_000);

  it('a file that is not a SQLite database: sqliteStore() throws STORE_UNAVAILABLE, not a driver error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-fault-sqlite-'));
    dirs.push(dir);
    const file = join(dir, 'garbage.db');
    writeFileSync(file, Buffer.alloc(8192, 0x41));
    expect(() => sqliteStore({ filename: file })).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE' }));
  });
});
