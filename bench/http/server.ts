/**
 * One server of `npm run bench:http`, run by bench/http.ts in a child process of its own:
 * `node --import tsx bench/http/server.ts <case>` with an IPC channel. It listens on 127.0.0.1 on
 * an ephemeral port and answers the parent's messages:
 *
 * - `{ type: 'start' }`: from now on, count CPU time and requests (and profile, with BENCH_PROFILE_DIR);
 * - `{ type: 'mark' }`: close one window of the run and open the next (CPU time and requests per window);
 * - `{ type: 'stop' }`: report `{ cpuMicros, handled, elu, windows }` for the run since `start`;
 * - `{ type: 'close' }`: close the app (server, manager, store) and exit.
 *
 * Nothing is measured between start and stop but the requests: the IPC messages come only at the edges.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { BUILDERS, type BenchEnv, type CaseId } from './apps.js';

export type ParentMessage = { type: 'start' } | { type: 'mark' } | { type: 'stop' } | { type: 'close' };
/** One window of the measured run: CPU time (user + system, µs) and requests served in it. */
export interface Window {
  cpuMicros: number;
  handled: number;
}
export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'started' }
  | { type: 'stopped'; cpuMicros: number; userMicros: number; handled: number; elu: number; windows: Window[]; profile: string | null }
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
    redisUrl: process.env.BENCH_REDIS_URL ?? '',
    redisPrefix: process.env.BENCH_REDIS_PREFIX ?? '',
  };
  const app = await build(env);
  let cpu: NodeJS.CpuUsage | undefined;
  let elu: EventLoopUtilization | undefined;
  let handled = 0;
  let inspector: Session | undefined;
  let marks: { cpu: NodeJS.CpuUsage; handled: number }[] = [];
  const mark = () => marks.push({ cpu: process.cpuUsage(), handled: app.handled() });
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
        marks = [{ cpu, handled }];
        send({ type: 'started' });
      } else if (message.type === 'mark') {
        mark();
      } else if (message.type === 'stop') {
        const used = process.cpuUsage(cpu);
        const count = app.handled() - handled;
        const loop = performance.eventLoopUtilization(elu);
        mark();
        // Snapshots are totals since the process started; a window is the difference of two.
        const total = (c: NodeJS.CpuUsage) => c.user + c.system;
        const windows = marks.slice(1).map((m, i) => ({ cpuMicros: total(m.cpu) - total(marks[i]!.cpu), handled: m.handled - marks[i]!.handled }));
        let profile: string | null = null;
        if (inspector !== undefined) {
          const { profile: data } = await inspector.post('Profiler.stop');
          profile = join(profileDir!, `${id.replace(/[^a-z0-9]+/gi, '_')}.cpuprofile`);
          writeFileSync(profile, JSON.stringify(data));
          inspector.disconnect();
        }
        send({ type: 'stopped', cpuMicros: used.user + used.system, userMicros: used.user, handled: count, elu: loop.utilization, windows, profile });
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
