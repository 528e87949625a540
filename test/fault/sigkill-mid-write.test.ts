import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, isSessionError, type Session, type SessionStore } from '../../src/index.js';
import { startChild } from '../support/child-process.js';
import { serviceGate } from '../support/services.js';
import { probeThrowawayPostgres, startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';

const MAX = 3;
const USERS = 3;
const KILLS = 3;

/** One backend: how the writer reaches it, how the test reopens it, and raw SQL for what the API does not show. */
interface Backend {
  env: Record<string, string>;
  open(): SessionStore;
  /** `sk.` stands for the store's schema. */
  sql(text: string): Promise<Record<string, unknown>[]>;
  /** Checks of the database file itself. */
  extra?(): Promise<void>;
  close(): Promise<void>;
}

const pgAvailable = serviceGate('throwaway PostgreSQL (initdb, pg_ctl)', probeThrowawayPostgres());

describe('an app process killed with SIGKILL in the middle of writes', () => {
  let server: ThrowawayPostgres | undefined;
  beforeAll(async () => {
    if (pgAvailable) server = await startThrowawayPostgres();
  }, 60_000);
  afterAll(() => server?.destroy());

  const backends: { name: string; runIf: boolean; make: () => Backend }[] = [
    {
      name: 'SQLite file',
      runIf: true,
      make() {
        const dir = mkdtempSync(join(tmpdir(), 'sk-fault-kill-'));
        const file = join(dir, 'sessions.db');
        let raw: Database.Database | null = null;
        const connection = () => (raw ??= new Database(file, { readonly: true }));
        return {
          env: { SK_STORE: 'sqlite', SK_SQLITE_FILE: file },
          open: () => sqliteStore({ filename: file }),
          sql: async (text) => connection().prepare(text.replaceAll('sk.', '')).all() as Record<string, unknown>[],
          async extra() {
            expect(connection().pragma('integrity_check', { simple: true })).toBe('ok');
          },
          async close() {
            raw?.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
    {
      name: 'PostgreSQL',
      runIf: pgAvailable,
      make() {
        const schema = `fault_${randomBytes(5).toString('hex')}`;
        const admin = new pg.Pool({ connectionString: server!.url, max: 2 });
        return {
          env: { SK_STORE: 'postgres', SK_PG_URL: server!.url, SK_PG_SCHEMA: schema },
          open: () => postgresStore({ connectionString: server!.url, schema, poolSize: 2 }),
          sql: async (text) => (await admin.query(text.replaceAll('sk.', `${schema}.`))).rows,
          close: () => admin.end(),
        };
      },
    },
  ];

  for (const { name, runIf, make } of backends) {
    it.runIf(runIf)(`${name}: after ${KILLS} kills at random moments the store holds only whole sessions, at most ${MAX} active per user, rotations pointing at existing sessions, and a new manager still enforces the limit with both policies`, async () => {
      const backend = make();
      try {
        for (let round = 1; round <= KILLS; round++) {
          const writer = startChild('fault-writer.ts', { ...backend.env, SK_MAX: String(MAX), SK_USERS: String(USERS) });
          try {
            await writer.next('progress');
            const delay = Math.floor(Math.random() * 400);
            await sleep(delay);
            expect(writer.alive(), `the writer failed on its own:\n${writer.output()}`).toBe(true);
            await writer.kill();
            console.log(`[fault] ${name}: kill ${round} ${delay} ms after the writer's first 50 operations`);
          } finally {
            await writer.kill();
          }
          await checkConsistency(backend);
        }
      } finally {
        await backend.close();
      }
    }, 90_000);
  }
});

// --- internal ---

async function checkConsistency(backend: Backend): Promise<void> {
  const store = backend.open();
  try {
    await store.migrate();
    const now = Date.now();
    const all: Session[] = [];
    // Every row reads back through the store's own mapping: a half-written one would throw here.
    for await (const page of store.scan({}, 100)) all.push(...page);
    expect(all.length).toBeGreaterThan(0);
    for (const s of all) {
      expect(s.userId).toMatch(/^(reject|evict)-\d+$/);
      expect(['active', 'revoked']).toContain(s.status);
      expect(s.revokedAt === null).toBe(s.status === 'active');
      expect(s.revokeReason === null).toBe(s.status === 'active');
      // Only the evicting policy revokes for the limit.
      if (s.revokeReason !== null) expect(s.userId.startsWith('evict') ? ['test', 'limit'] : ['test']).toContain(s.revokeReason);
      expect(s.lastActiveAt).toBeGreaterThanOrEqual(s.createdAt);
      expect(s.expiresAt).toBeLessThanOrEqual(s.absoluteExpiresAt);
      expect(typeof s.metadata.n).toBe('number');
    }
    const userIds = [...new Set(all.map((s) => s.userId))];
    for (const userId of userIds) {
      const mine = all.filter((s) => s.userId === userId);
      const active = mine.filter((s) => s.status === 'active' && s.expiresAt > now);
      expect((await store.listByUser(userId)).length).toBe(mine.length);
      expect(await store.countActive(userId, now)).toBe(active.length);
      expect(active.length).toBeLessThanOrEqual(MAX);
    }
    // A rotation record exists only with its session, for the same user.
    const [{ n: orphans }] = (await backend.sql('select count(*) as n from sk.rotated_tokens r where not exists (select 1 from sk.sessions s where s.id = r.session_id and s.user_id = r.user_id)')) as [{ n: unknown }];
    expect(Number(orphans)).toBe(0);
    await backend.extra?.();

    // A new process's managers enforce the limit on what the killed one left.
    const reject = createSessionManager({ store, maxSessionsPerUser: MAX, onLimit: 'reject', alerts: false });
    const evict = createSessionManager({ store, maxSessionsPerUser: MAX, onLimit: 'evict-oldest', alerts: false });
    for (let u = 0; u < USERS; u++) {
      const rejecting = `reject-${u}`;
      const room = MAX - (await reject.count(rejecting));
      for (let i = 0; i < room; i++) await reject.create({ userId: rejecting, metadata: { n: -1 } });
      await expect(reject.create({ userId: rejecting, metadata: { n: -1 } })).rejects.toSatisfy((err) => isSessionError(err, 'SESSION_LIMIT'));
      const evicting = `evict-${u}`;
      for (let i = 0; i <= MAX; i++) await evict.create({ userId: evicting, metadata: { n: -1 } });
      expect(await evict.count(evicting)).toBe(MAX);
    }
  } finally {
    await store.close();
  }
}
