/**
 * Starts the Fastify example on http://127.0.0.1:3000 (`tsx examples/fastify/server.ts`). PORT
 * changes the port; SESSIONKEEPER_DB the SQLite file.
 */
import { createApp, DEFAULT_DATABASE } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const filename = process.env.SESSIONKEEPER_DB ?? DEFAULT_DATABASE;
const { app, close } = await createApp({ filename });

try {
  const address = await app.listen({ port, host: '127.0.0.1' });
  console.log(`sessionkeeper Fastify example: ${address}/`);
  console.log(`sessions are stored in ${filename}; Ctrl+C stops the server`);
} catch (error) {
  console.error(`cannot listen on 127.0.0.1:${port}: ${(error as Error).message}`);
  process.exitCode = 1;
  await close();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void close());
