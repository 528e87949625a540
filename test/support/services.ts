import { execFile } from 'node:child_process';
import pg from 'pg';

/** The Postgres the suites use; .ci/run points it at a fresh database per run. */
export const POSTGRES_URL = process.env.SESSIONKEEPER_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Whether a suite that needs `service` can run. Locally an unreachable service skips the suite with
 * a printed reason; under CI=true it is a failure, never a silent skip.
 */
export function serviceGate(service: string, problem: string | null): boolean {
  if (problem === null) return true;
  const message = `${service} is not reachable (${problem})`;
  if (process.env.CI) throw new Error(`${message}; CI=true requires it`);
  console.warn(`[skip] ${message}: its suites are skipped. Set CI=true to make this a failure.`);
  return false;
}

/** Connects once to Postgres; resolves to null when it answers, else to the reason it did not. */
export async function probePostgres(url = POSTGRES_URL): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The browser the browser tests drive: Debian's Chromium package (`apt-get install chromium`). */
export const CHROMIUM_PATH = process.env.SESSIONKEEPER_CHROMIUM ?? '/usr/bin/chromium';

/** Runs `chromium --version` once; resolves to null when it answers, else to the reason it did not. */
export function probeChromium(path = CHROMIUM_PATH): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(path, ['--version'], { timeout: 10_000 }, (error, stdout) => {
      if (error) resolve(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed (apt-get install chromium)' : error.message}`);
      else resolve(/chrom/i.test(stdout) ? null : `${path} --version printed ${JSON.stringify(stdout.trim())}`);
    });
  });
}

/** The image lab tests run: busybox imported by scripts/docker-engine.sh, since nothing can be pulled. */
export const LAB_IMAGE = process.env.SESSIONKEEPER_LAB_IMAGE ?? 'sessionkeeper-busybox:latest';

/**
 * Pings the Docker engine (DOCKER_HOST or /var/run/docker.sock) and checks the lab image is there;
 * resolves to null when both are, else to the reason (`bash scripts/docker-engine.sh` fixes both).
 */
export async function probeDocker(): Promise<string | null> {
  const { default: Docker } = await import('dockerode');
  const docker = new Docker({ timeout: 5000 });
  try {
    await docker.ping();
  } catch (err) {
    return `Docker engine: ${(err as Error).message}; start one with bash scripts/docker-engine.sh`;
  }
  try {
    await docker.getImage(LAB_IMAGE).inspect();
    return null;
  } catch {
    return `image ${LAB_IMAGE} is missing; build it with bash scripts/docker-engine.sh`;
  }
}

/** The Redis the suites use (each test under its own random key prefix); .ci/run may point it elsewhere. */
export const REDIS_URL = process.env.SESSIONKEEPER_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Connects once to Redis and PINGs; resolves to null when it answers, else to the reason it did not. */
export async function probeRedis(url = REDIS_URL): Promise<string | null> {
  const { createClient } = await import('redis');
  const client = createClient({ url, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    if (client.isOpen) await client.close().catch(() => {});
  }
}
