import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a PostgreSQL server that can lose the server's reply to one
 * statement after the server has carried it out: the fault "committed, but the acknowledgement never
 * arrived" that a retry must survive.
 */
export interface PostgresProxy {
  /** `postgres://postgres@127.0.0.1:<proxy port>/<database>` */
  readonly url: string;
  /**
   * The next time the server completes a command whose tag starts with `tag` (e.g. `'INSERT'`), the
   * proxy lets the server finish the transaction (ReadyForQuery), then drops that reply and cuts the
   * connection. Resolves once it has done so.
   */
  loseNextReply(tag: string): Promise<void>;
  close(): Promise<void>;
}

/** @example const proxy = await startPostgresProxy(server.url); proxy.loseNextReply('INSERT'); */
export async function startPostgresProxy(target: string): Promise<PostgresProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  let armed: { tag: string; done: () => void } | null = null;
  const proxy = createServer((client) => {
    const server = connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(server);
    const cut = () => {
      client.destroy();
      server.destroy();
    };
    client.on('error', cut).on('close', () => (sockets.delete(client), server.destroy()));
    server.on('error', cut).on('close', () => (sockets.delete(server), client.destroy()));
    client.on('data', (chunk: Buffer) => server.write(chunk));
    // Server to client: whole protocol messages (type byte, int32 length including itself).
    let pending = Buffer.alloc(0);
    let holding = false;
    server.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1) + 1;
        if (pending.length < length) break;
        const type = String.fromCharCode(pending[0]!);
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        if (!holding && armed !== null && type === 'C' && message.subarray(5).toString('latin1').startsWith(armed.tag)) holding = true;
        if (holding) {
          // The transaction is over once the server says ReadyForQuery: only now is the reply lost.
          if (type === 'Z') {
            const { done } = armed!;
            armed = null;
            cut();
            done();
            return;
          }
          continue;
        }
        client.write(message);
      }
    });
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const { port } = proxy.address() as { port: number };
  return {
    url: `postgres://${upstream.username}@127.0.0.1:${port}${upstream.pathname}`,
    loseNextReply: (tag) => new Promise<void>((resolve) => (armed = { tag, done: resolve })),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
