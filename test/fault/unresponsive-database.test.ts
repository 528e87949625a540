import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { createSessionManager, SessionError } from '../../src/index.js';

/**
 * A database host that accepts the connection and then says nothing (a hung server, a half-open
 * firewall): the store opened by connection string must answer STORE_UNAVAILABLE, not hang.
 */
describe('a PostgreSQL host that accepts connections and never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let url: string;
  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    url = `postgres://postgres@127.0.0.1:${port}/silent`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('validate() and create() fail with STORE_UNAVAILABLE after the connect timeout instead of waiting forever', async () => {
    const sessions = createSessionManager({ store: postgresStore({ connectionString: url, poolSize: 2 }), alerts: false });
    try {
      const outcomes = await Promise.allSettled([sessions.validate(`skt_${'a'.repeat(32)}`), sessions.create({ userId: 'u1' })]);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as SessionError;
        expect(error).toBeInstanceOf(SessionError);
        expect(error.code).toBe('STORE_UNAVAILABLE');
      }
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      await sessions.close().catch(() => {});
    }
  }, 30_000); // without a connect timeout both calls wait forever: this timeout is the proof
});
