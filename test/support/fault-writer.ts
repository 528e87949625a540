/**
 * Writes to a store as fast as it can until it is killed: creates under `maxSessionsPerUser`
 * (users `reject-<n>` through an `onLimit: 'reject'` manager, `evict-<n>` through an
 * `'evict-oldest'` one), rotations, revocations and metadata merges, several at a time. The fault
 * test kills it with SIGKILL at a random moment and then checks what it left behind.
 *
 * Environment: `SK_STORE` = `sqlite` (`SK_SQLITE_FILE`) or `postgres` (`SK_PG_URL`, `SK_PG_SCHEMA`);
 * `SK_MAX` the limit; `SK_USERS` users per policy. Sends `{ type: 'progress', ops }` every 50 operations.
 */
import { createSessionManager, isSessionError, type SessionManager, type SessionStore } from '../../src/index.js';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';

const env = process.env;
const store: SessionStore =
  env.SK_STORE === 'postgres'
    ? postgresStore({ connectionString: env.SK_PG_URL!, schema: env.SK_PG_SCHEMA!, poolSize: 6 })
    : sqliteStore({ filename: env.SK_SQLITE_FILE! });
await store.migrate();
const max = Number(env.SK_MAX ?? 3);
const users = Number(env.SK_USERS ?? 3);
const managers: Record<'reject' | 'evict', SessionManager> = {
  reject: createSessionManager({ store, maxSessionsPerUser: max, onLimit: 'reject' }),
  evict: createSessionManager({ store, maxSessionsPerUser: max, onLimit: 'evict-oldest' }),
};
/** Tokens this process holds, per session id, with the manager that made them. */
const held = new Map<string, { token: string; manager: SessionManager }>();
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
let ops = 0;

async function step(): Promise<void> {
  const roll = Math.random();
  const mine = [...held.entries()];
  if (roll < 0.45 || mine.length === 0) {
    const policy = pick(['reject', 'evict'] as const);
    const manager = managers[policy];
    try {
      const { session, token } = await manager.create({ userId: `${policy}-${Math.floor(Math.random() * users)}`, metadata: { n: ops } });
      held.set(session.id, { token, manager });
    } catch (err) {
      if (!isSessionError(err, 'SESSION_LIMIT')) throw err;
    }
    return;
  }
  const [id, { token, manager }] = pick(mine);
  try {
    if (roll < 0.65) {
      const { token: next } = await manager.rotate(token);
      held.set(id, { token: next, manager });
    } else if (roll < 0.8) {
      await manager.revoke(id, { reason: 'test' });
      held.delete(id);
    } else {
      await manager.update(id, { metadata: { [`k${ops % 7}`]: 'x'.repeat(ops % 300), at: ops } });
    }
  } catch (err) {
    // Evicted or revoked by a concurrent step: no longer ours.
    if (!isSessionError(err, 'SESSION_NOT_FOUND') && !isSessionError(err, 'SESSION_INACTIVE')) throw err;
    held.delete(id);
  }
}

async function worker(): Promise<void> {
  for (;;) {
    await step();
    if (++ops % 50 === 0) process.send!({ type: 'progress', ops });
  }
}

await Promise.all(Array.from({ length: 6 }, worker));
