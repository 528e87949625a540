/**
 * One server of `npm run bench:http`, run by bench/http.ts in a child process of its own:
 * `node --import tsx bench/http/server.ts <case>` with an IPC channel. It listens on 127.0.0.1 on
 * an ephemeral port and answers the parent's messages:
 *
 * - `{ type: 'start' }`: from now on, count CPU time and requests (and profile, with BENCH_PROFILE_DIR);
 * - `{ type: 'stop' }`: report `{ cpuMicros, handled, elu }` for the window since `start`;
 * - `{ type: 'close' }`: close the app (server, manager, store) and exit.
 *
 * Nothing is measured between start and stop but the requests: the IPC messages come only at the edges.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { BUILDERS, type BenchEnv, type CaseId } from './apps.js';

export type ParentMessage = { type: 'start' } | { type: 'stop' } | { type: 'close' };
export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'started' }
  | { type: 'stopped'; cpuMicros: number; userMicros: number; handled: number; elu: number; profile: string | null }
  | { type: 'failed'; error: string };

const id = process.argv[2] as CaseId;
const send = (message: ChildMessage) => process.send!(message);
const profileDir = process.env.BENCH_PROFILE_DIR;

async function main(): Promise<void> {
  const build = BUILDERS[id];
  if (build === undefined) throw new Error(`unknown case ${id}`);
  const env: BenchEnv = {
    sqliteFile: process.env.BENCH_SQLITE_FILE ?? '',
    postgresUrl: process.env.BENCH_PG_URL ?? '',
    postgresSchema: process.env.BENCH_PG_SCHEMA ?? '',
  };
  const app = await build(env);
  let cpu: NodeJS.CpuUsage | undefined;
  let elu: EventLoopUtilization | undefined;
  let handled = 0;
  let inspector: Session | undefined;
  process.on('message', (message: ParentMessage) => {
    void (async () => {
      if (message.type === 'start') {
        if (profileDir !== undefined) {
          inspector = new Session();
          inspector.connect();
          await inspector.post('Profiler.enable');
          await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
          await inspector.post('Profiler.start');
        }
        handled = app.handled();
        elu = performance.eventLoopUtilization();
        cpu = process.cpuUsage();
        send({ type: 'started' });
      } else if (message.type === 'stop') {
        const used = process.cpuUsage(cpu);
        const count = app.handled() - handled;
        const loop = performance.eventLoopUtilization(elu);
        let profile: string | null = null;
        if (inspector !== undefined) {
          const { profile: data } = await inspector.post('Profiler.stop');
          profile = join(profileDir!, `${id.replace(/[^a-z0-9]+/gi, '_')}.cpuprofile`);
          writeFileSync(profile, JSON.stringify(data));
          inspector.disconnect();
        }
        send({ type: 'stopped', cpuMicros: used.user + used.system, userMicros: used.user, handled: count, elu: loop.utilization, profile });
      } else if (message.type === 'close') {
        await app.close();
        process.exit(0);
      }
    })().catch((error: unknown) => {
      send({ type: 'failed', error: String((error as Error)?.stack ?? error) });
      process.exit(1);
    });
  });
  send({ type: 'ready', port: app.port });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
