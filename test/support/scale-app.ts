/**
 * The Express test app (test/http/servers/express.ts) as one of several app servers on one shared
 * store, in a process of its own (see test/scale and bench/scale.ts). Configured by the environment:
 *
 * - the store: what `SharedStore.env` of ./shared-store.ts gives (`SK_STORE=redis|postgres` and its location);
 * - `SK_MAX_SESSIONS`, `SK_ON_LIMIT`: `maxSessionsPerUser` and `onLimit`, when set;
 * - `SK_SESSIONS_ONLY=1`: activity and alerts off, so a Postgres app does what a Redis one does.
 *
 * Sends `{ type: 'ready', url }` once listening. Answers `{ type: 'cpu' }` with
 * `{ type: 'cpu', user, system }` (µs since the process started, from `process.cpuUsage()`), and
 * `{ type: 'stop' }` by closing everything and exiting 0.
 */
import { createSessionManager, type SessionManagerOptions } from '../../src/index.js';
import { frameworks } from '../http/servers.js';
import { openSharedStore } from './shared-store.js';

const env = process.env;
const opened = await openSharedStore(env);
// Idempotent; the creator of the shared store has migrated it already.
await opened.store.migrate();
const options: SessionManagerOptions = { store: opened.store };
if (env.SK_MAX_SESSIONS !== undefined) options.maxSessionsPerUser = Number(env.SK_MAX_SESSIONS);
if (env.SK_ON_LIMIT !== undefined) options.onLimit = env.SK_ON_LIMIT as 'reject' | 'evict-oldest';
if (env.SK_SESSIONS_ONLY === '1' && env.SK_STORE !== 'redis') Object.assign(options, { activity: false, alerts: false });
const sessions = createSessionManager(options);
const express = frameworks.find((framework) => framework.name === 'express')!;
const server = await express.start(sessions, { middleware: { cookie: { secure: false } } });

process.on('message', (message: { type?: string }) => {
  if (message.type === 'cpu') process.send!({ type: 'cpu', ...process.cpuUsage() });
  if (message.type === 'stop') {
    void server
      .close()
      .then(() => sessions.close())
      .then(() => opened.close())
      .finally(() => process.exit(0));
  }
});
process.send!({ type: 'ready', url: server.url });
