import { setTimeout as sleep } from 'node:timers/promises';

/** One answer, with when it was asked and answered (performance.now() ms). */
export interface Answer {
  /** Which client sent it (see {@link startLoad}). */
  client: string;
  started: number;
  ended: number;
  /** HTTP status; 0 when no answer came within the request timeout or the connection failed. */
  status: number;
  /** `error.code` of a JSON error body, else null. */
  code: string | null;
  /** Whether the answer carried a Set-Cookie that deletes the cookie (Max-Age=0 or an expiry in the past). */
  clearsCookie: boolean;
  /** What went wrong when status is 0. */
  failure?: string;
}

/** A client of the load: the cookie it sends (a session token) on `GET path`. */
export interface LoadClient {
  name: string;
  path: string;
  cookie?: string;
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
}

/** Sends one request and records the answer; never throws. */
export async function ask(base: string, client: LoadClient, timeoutMs = 10_000): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(base + client.path, {
      method: client.method ?? 'GET',
      headers: { ...(client.cookie === undefined ? {} : { cookie: client.cookie }), ...(client.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(client.body === undefined ? {} : { body: JSON.stringify(client.body) }),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let code: string | null = null;
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null;
    } catch {
      // Not JSON (204, HTML): no code.
    }
    const clearsCookie = response.headers.getSetCookie().some((c) => /max-age=0(;|$)/i.test(c) || /expires=thu, 01 jan 1970/i.test(c));
    return { client: client.name, started, ended: performance.now(), status: response.status, code, clearsCookie };
  } catch (err) {
    return { client: client.name, started, ended: performance.now(), status: 0, code: null, clearsCookie: false, failure: String((err as Error).message) };
  }
}

/** A running load: `stop()` ends it and resolves every answer, in the order they came. */
export interface Load {
  readonly answers: Answer[];
  stop(): Promise<Answer[]>;
}

/**
 * Each client asks in a loop, one request at a time with `pauseMs` between them, over loopback,
 * until stop(); bounded by `maxRequests` in all.
 *
 * @example
 * const load = startLoad(url, [{ name: 'alice', path: '/protected', cookie }]);
 * const answers = await load.stop();
 */
export function startLoad(base: string, clients: LoadClient[], options: { pauseMs?: number; maxRequests?: number } = {}): Load {
  const pauseMs = options.pauseMs ?? 3;
  const maxRequests = options.maxRequests ?? 50_000;
  const answers: Answer[] = [];
  let running = true;
  const loops = clients.map(async (client) => {
    while (running && answers.length < maxRequests) {
      answers.push(await ask(base, client));
      await sleep(pauseMs);
    }
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

/** Polls `condition` every 10 ms; resolves true once it holds, false after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** POST /login as `userId` on the test app; returns the cookie header that carries the session. */
export async function signIn(base: string, userId: string): Promise<string> {
  const response = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) });
  if (response.status !== 200) throw new Error(`POST /login answered ${response.status}: ${await response.text()}`);
  return `sid=${((await response.json()) as { token: string }).token}`;
}

/** The answers that break a rule, in a form that reads well in a failed assertion. */
export function summarize(answers: Answer[]): string[] {
  return answers.slice(0, 10).map((a) => `${a.client} ${a.status} ${a.code ?? ''}${a.clearsCookie ? ' clears cookie' : ''}${a.failure ? ` (${a.failure})` : ''} at ${a.started.toFixed(0)}`);
}
