/**
 * The Redis plumbing of the benches: a client that fails fast when Redis is not there, and the
 * deletion of a run's keys (every bench writes under a key prefix of its own).
 */
import { createClient } from 'redis';

/** A connected client, or the reason Redis did not answer (no reconnects: a bench fails fast). */
export async function connectRedis(url: string) {
  const client = createClient({ url, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    return await client.connect();
  } catch (err) {
    return (err as Error).message;
  }
}

export type BenchRedis = Exclude<Awaited<ReturnType<typeof connectRedis>>, string>;

/** Deletes every key under `prefix`, in batches of a SCAN page. */
export async function deleteKeys(client: BenchRedis, prefix: string): Promise<void> {
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length > 0) await client.unlink(keys);
  }
}
