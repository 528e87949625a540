/**
 * Starts the Koa example on http://127.0.0.1:3000 (`tsx examples/koa/server.ts`). PORT changes the
 * port; SESSIONKEEPER_DB the SQLite file.
 */
import type { AddressInfo } from 'node:net';
import { createApp, DEFAULT_DATABASE } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const filename = process.env.SESSIONKEEPER_DB ?? DEFAULT_DATABASE;
const { app, close } = await createApp({ filename });

const server = app.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(`sessionkeeper Koa example: http://127.0.0.1:${actual}/`);
  console.log(`sessions are stored in ${filename}; Ctrl+C stops the server`);
});
server.on('error', (error) => {
  console.error(`cannot listen on 127.0.0.1:${port}: ${error.message}`);
  process.exitCode = 1;
  void close();
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => void close());
    server.closeAllConnections();
  });
}
