import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A TypeScript script run in its own Node process (through tsx), talking to the test over IPC. */
export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the next message of this `type` the child sends; rejects if it exits first or after `timeoutMs`. */
  next<T = Record<string, unknown>>(type: string, timeoutMs?: number): Promise<T>;
  send(message: Record<string, unknown>): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** What it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts `script` (a path relative to this folder, e.g. `'fault-app.ts'`) with `env` added to the
 * environment. A crash is observable: `exited` and `output()`.
 *
 * @example
 * const app = startChild('fault-app.ts', { SK_STORE: 'sqlite', SK_SQLITE_FILE: file });
 * const { url } = await app.next<{ url: string }>('ready');
 */
export function startChild(script: string, env: Record<string, string>): Child {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  const inbox: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  child.on('message', (message) => {
    inbox.push(message as Record<string, unknown>);
    for (const wake of waiters) wake();
  });
  return {
    process: child,
    exited,
    alive: () => running,
    output: () => output,
    send: (message) => void child.send(message),
    next<T>(type: string, timeoutMs = 20_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const finish = (error: Error | null, value?: unknown) => {
          waiters.delete(check);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(value as T);
        };
        const check = () => {
          const index = inbox.findIndex((m) => m.type === type);
          if (index !== -1) finish(null, inbox.splice(index, 1)[0]);
        };
        const timer = setTimeout(() => finish(new Error(`child ${script} sent no '${type}' within ${timeoutMs} ms\n${output}`)), timeoutMs);
        waiters.add(check);
        void exited.then(({ code, signal }) => {
          check();
          if (waiters.has(check)) finish(new Error(`child ${script} exited (code ${code}, signal ${signal}) before sending '${type}'\n${output}`));
        });
        check();
      });
    },
    async kill() {
      if (running) child.kill('SIGKILL');
      await exited;
    },
  };
}
