/**
 * A lab session end to end (`npm run lab`, after `npm run build`): starts the lab example on an
 * ephemeral port of 127.0.0.1, then acts as its client with fetch and a cookie. It signs in as
 * "ada", starts a lab, reads its stats, extends it, signs out, and shows that the lab stopped with
 * the session and that Docker has nothing left of it.
 *
 * Needs a Docker engine with the lab image (`bash scripts/docker-engine.sh` provides both).
 * LAB_IMAGE, LAB_POOL and LAB_SCOPE change the image, the address pool and the label scope.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { LabStatsView, LabView } from 'sessionkeeper/express';
import { createLabApp } from './app.js';

const image = process.env.LAB_IMAGE ?? 'sessionkeeper-busybox:latest';
const addressPool = process.env.LAB_POOL ?? '10.200.0.0/16';
const scope = process.env.LAB_SCOPE ?? 'example';

const docker = new Docker({ timeout: 5000 });
const problem = await dockerProblem();
if (problem !== null) {
  console.error(`${problem}: run \`bash scripts/docker-engine.sh\` to start an engine with the lab image, then try again.`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-lab-'));
const example = await createLabApp({ filename: join(dir, 'lab.db'), image, addressPool, scope, stopLabsOnClose: true });
const server = example.app.listen(0, '127.0.0.1');
await once(server, 'listening');
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
console.log(`lab example on ${base} (pool ${addressPool}, scope ${scope})`);

try {
  const client = jsonClient(base);

  const me = (await client.send('POST', '/login', { name: 'ada' }, 200)) as { userId: string; sessionId: string };
  console.log(`signed in as ${me.userId} (session ${me.sessionId})`);

  const { lab } = (await client.send('POST', '/api/v1/me/labs', { template: 'web-pentest' }, 201)) as { lab: LabView };
  console.log(`started lab ${lab.id} from ${lab.template}: ${lab.status}, expires in ${fromNow(lab.expiresAt)}`);
  console.log(`  network ${lab.network.name}  subnet ${lab.network.subnet}  gateway ${lab.network.gateway}`);
  for (const c of lab.containers) console.log(`  ${c.name.padEnd(8)} ${c.ip.padEnd(15)} ${c.image}`);

  const { labs: mine } = (await client.send('GET', '/api/v1/me/labs', undefined, 200)) as { labs: LabView[] };
  console.log(`GET /api/v1/me/labs: ${mine.map((l) => `${l.id} (${l.status})`).join(', ')}`);

  const { stats } = (await client.send('GET', `/api/v1/me/labs/${lab.id}/stats`, undefined, 200)) as { stats: LabStatsView };
  console.log(`stats at ${stats.at}:`);
  for (const c of stats.containers) {
    console.log(
      `  ${c.name.padEnd(8)} cpu ${c.cpuPercent.toFixed(2)}%  mem ${bytes(c.memoryBytes)} / ${bytes(c.memoryLimitBytes)}  rx ${bytes(c.rxBytes)}  tx ${bytes(c.txBytes)}  pids ${c.pids}`,
    );
  }

  const { lab: extended } = (await client.send('POST', `/api/v1/me/labs/${lab.id}/extend`, { by: '30m' }, 200)) as { lab: LabView };
  console.log(`extended by 30m: expires in ${fromNow(extended.expiresAt)} (extension ${extended.extensions} of 3)`);

  await client.send('POST', '/logout', undefined, 204);
  const after = await client.send('GET', '/api/v1/me/labs', undefined, 401);
  console.log(`signed out: the session is revoked, GET /api/v1/me/labs now answers 401 ${(after as { error: { code: string } }).error.code}`);

  // The user is signed out, so the server side (the `labs` object) is asked from here on.
  const started = Date.now();
  const stopped = await until(async () => {
    const current = await example.labs.get(lab.id);
    return current?.status === 'stopped' ? current : null;
  });
  console.log(`lab ${lab.id}: ${stopped.status} (stopReason ${stopped.stopReason}) ${Date.now() - started} ms after sign-out`);

  const filters = { label: [`sessionkeeper.lab=${lab.id}`] };
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  console.log(`Docker objects labelled sessionkeeper.lab=${lab.id}: ${containers.length} containers, ${networks.length} networks`);
  if (stopped.stopReason !== 'session-revoked' || containers.length + networks.length > 0) throw new Error('the lab did not end with its session');
  console.log('done: the lab lived and ended with its session');
} catch (error) {
  console.error(`lab example failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await example.close();
  rmSync(dir, { recursive: true, force: true });
}

// --- internal ---

/** A browser-like JSON client: keeps the session cookie and sends its Origin on every request. */
function jsonClient(base: string) {
  let cookie: string | null = null;
  return {
    async send(method: string, path: string, body: unknown, expected: number): Promise<unknown> {
      const headers: Record<string, string> = { origin: base, accept: 'application/json' };
      if (cookie !== null) headers.cookie = cookie;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      for (const setCookie of response.headers.getSetCookie()) {
        const pair = setCookie.split(';')[0]!;
        // Sign-out sends the cookie back empty (and expired).
        cookie = pair.endsWith('=') ? null : pair;
      }
      const text = await response.text();
      if (response.status !== expected) throw new Error(`${method} ${path} answered ${response.status} ${text}`);
      return text === '' ? undefined : (JSON.parse(text) as unknown);
    },
  };
}

async function dockerProblem(): Promise<string | null> {
  try {
    await docker.ping();
  } catch (error) {
    return `No Docker engine answers (${(error as Error).message})`;
  }
  try {
    await docker.getImage(image).inspect();
    return null;
  } catch {
    return `The image ${image} is not on the Docker engine`;
  }
}

async function until<T>(probe: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function fromNow(iso: string): string {
  const minutes = Math.round((Date.parse(iso) - Date.now()) / 60_000);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}
