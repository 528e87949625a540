/**
 * One of the processes of the concurrent-limit fault test: a manager with `maxSessionsPerUser` on
 * a Postgres store. Sends `{ type: 'ready' }` once its pool is warm, then on `{ type: 'go' }` starts
 * `SK_CREATES` creates for `SK_USER` at once and answers `{ type: 'done', created, limited, failures, startedAt, endedAt }`.
 *
 * Environment: `SK_PG_URL`, `SK_PG_SCHEMA`, `SK_MAX`, `SK_ON_LIMIT` (`reject` | `evict-oldest`).
 */
import { createSessionManager, isSessionError } from '../../src/index.js';
import { postgresStore } from '../../adapters/storage/postgres/index.js';

const env = process.env;
const store = postgresStore({ connectionString: env.SK_PG_URL!, schema: env.SK_PG_SCHEMA!, poolSize: 10 });
const sessions = createSessionManager({
  store,
  maxSessionsPerUser: Number(env.SK_MAX),
  onLimit: env.SK_ON_LIMIT as 'reject' | 'evict-oldest',
  alerts: false,
});
// Every connection of the pool open before the start, so the creates race each other, not the connects.
await Promise.all(Array.from({ length: 10 }, () => sessions.count('warm-up')));

process.on('message', async (message: { type?: string }) => {
  if (message.type !== 'go') return;
  const startedAt = Date.now();
  const outcomes = await Promise.allSettled(Array.from({ length: Number(env.SK_CREATES) }, () => sessions.create({ userId: env.SK_USER! })));
  const created: string[] = [];
  let limited = 0;
  const failures: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') created.push(outcome.value.session.id);
    else if (isSessionError(outcome.reason, 'SESSION_LIMIT')) limited++;
    else failures.push(String(outcome.reason));
  }
  process.send!({ type: 'done', created, limited, failures, startedAt, endedAt: Date.now() });
  await sessions.close();
  process.exit(0);
});
process.send!({ type: 'ready' });
