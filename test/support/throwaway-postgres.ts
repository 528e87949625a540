import { execFile, execFileSync } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL server of its own in a temp dir, on a free port of 127.0.0.1, for the fault suites:
 * they stop, kill -9 and restart it, which they must never do to the machine's service.
 */
export interface ThrowawayPostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres`; trust auth. */
  readonly url: string;
  /** `pg_ctl stop -m <mode>`: `immediate` aborts every backend without a checkpoint (crash recovery on restart). */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** SIGKILL of the postmaster, then waits until none of its processes is left (a restart needs that). */
  kill(): Promise<void>;
  /** `pg_ctl start` on the same data dir and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** The last lines of the server log, for failure messages. */
  logTail(lines?: number): string;
  /** Stops the server (immediate) and removes its directory. Safe to call twice. */
  destroy(): Promise<void>;
}

/** Why no throwaway server can be started here (binaries missing, no `postgres` user), or null. */
export function probeThrowawayPostgres(): string | null {
  const bin = binDir();
  if (bin === null) return 'initdb, pg_ctl and postgres were not found (pg_config --bindir, /usr/lib/postgresql/*/bin; set SESSIONKEEPER_PG_BINDIR)';
  if (isRoot()) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root needs a `postgres` user to run initdb and postgres as';
    }
  }
  return null;
}

/**
 * initdb (trust auth) and start a server; call {@link ThrowawayPostgres.destroy} in afterAll.
 *
 * @example
 * const pg = await startThrowawayPostgres();
 * afterAll(() => pg.destroy());
 * await pg.stop('immediate'); await pg.start();
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const bin = binDir();
  if (bin === null) throw new Error(probeThrowawayPostgres()!);
  const root = mkdtempSync(join(tmpdir(), 'sk-throwaway-pg-'));
  const data = join(root, 'data');
  const log = join(root, 'server.log');
  let destroyed = false;
  // If the test process dies before afterAll, the server must not outlive it.
  const onExit = () => {
    const pid = postmasterPid(data);
    if (pid !== null) tryKill(pid);
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  if (isRoot()) {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim()));
    chownSync(root, uid!, gid!);
  }
  const run = (tool: string, args: string[], timeoutMs: number) => runAsPostgres(join(bin, tool), args, timeoutMs);
  const pgCtl = (args: string[]) => run('pg_ctl', ['-D', data, ...args], 40_000);
  const port = await freePort();
  const server: ThrowawayPostgres = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async (mode = 'immediate') => void (await pgCtl(['stop', '-m', mode, '-w', '-t', '30'])),
    async kill() {
      const pid = postmasterPid(data);
      if (pid === null) throw new Error('throwaway Postgres: no postmaster.pid, the server is not running');
      const family = [pid, ...childrenOf(pid)];
      process.kill(pid, 'SIGKILL');
      // Backends notice the postmaster's death and exit by themselves; a restart fails while any of
      // them still holds the shared memory.
      if (!(await waitUntil(() => family.every((p) => !alive(p)), 10_000))) {
        for (const p of family) tryKill(p);
        await waitUntil(() => family.every((p) => !alive(p)), 5_000);
      }
      // Postgres refuses to start while the old postmaster's pid exists, a zombie included (its
      // kill(pid, 0) succeeds). Init reaps it soon; where it does not, the pid file is stale.
      if (!(await waitUntil(() => procStat(pid) === null, 5_000))) rmSync(join(data, 'postmaster.pid'), { force: true });
    },
    async start() {
      try {
        await pgCtl(['start', '-w', '-t', '30', '-l', log]);
      } catch (err) {
        throw new Error(`${(err as Error).message}\nserver log:\n${server.logTail()}`);
      }
    },
    logTail: (lines = 20) => (existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no server log)'),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      process.removeListener('exit', onExit);
      const pid = postmasterPid(data);
      if (pid !== null && alive(pid)) await pgCtl(['stop', '-m', 'immediate', '-w', '-t', '30']).catch(() => tryKill(pid));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], 60_000);
    // Only loopback, the socket in our own dir, and no fsync (a test server; a crash of the
    // postgres processes still recovers, only an OS crash could lose data).
    writeFileSync(
      join(data, 'postgresql.auto.conf'),
      [
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${root}'`,
        'max_connections = 100',
        'shared_buffers = 16MB',
        'fsync = off',
        'full_page_writes = off',
        "log_min_messages = 'warning'",
      ].join('\n') + '\n',
      { flag: 'a' },
    );
    await server.start();
  } catch (err) {
    await server.destroy();
    throw new Error(`throwaway Postgres failed to start: ${(err as Error).message}`);
  }
  return server;
}

// --- internal ---

function isRoot(): boolean {
  return userInfo().uid === 0;
}

/** The directory holding initdb, pg_ctl and postgres. */
function binDir(): string | null {
  const candidates: string[] = [];
  if (process.env.SESSIONKEEPER_PG_BINDIR) candidates.push(process.env.SESSIONKEEPER_PG_BINDIR);
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // No pg_config on PATH: look where Debian and Ubuntu install the server.
  }
  try {
    for (const version of readdirSync('/usr/lib/postgresql').sort().reverse()) candidates.push(`/usr/lib/postgresql/${version}/bin`);
  } catch {
    // Not a Debian layout.
  }
  return candidates.find((dir) => ['initdb', 'pg_ctl', 'postgres'].every((tool) => isExecutable(join(dir, tool)))) ?? null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** initdb and postgres refuse to run as root: run them as the `postgres` user then. */
function runAsPostgres(tool: string, args: string[], timeoutMs: number): Promise<string> {
  const [command, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', tool, ...args]] : [tool, args];
  return new Promise((resolve, reject) => {
    execFile(command, argv, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')}: ${error.message}${stderr ? `\n${stderr.trim()}` : ''}`));
      else resolve(stdout);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function postmasterPid(data: string): number | null {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Linux: the processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat !== null && stat.ppid === pid) children.push(Number(entry));
  }
  return children;
}

/** A zombie counts as gone: whether anyone reaps it depends on the machine's init. */
function alive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}

function procStat(pid: number): { state: string; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
