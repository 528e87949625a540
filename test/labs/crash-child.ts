/**
 * The process that crashes in docker-labs.test.ts: a provisioner on a memory store starts LAB_COUNT
 * labs on the real engine (scope LAB_SCOPE, pool LAB_POOL), prints them as one JSON line, and waits
 * for the SIGKILL that loses its store with the labs still running.
 */
import { dockerLabs } from '../../adapters/provisioner/docker/index.js';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager } from '../../src/index.js';

const count = Number(process.env.LAB_COUNT ?? 2);
const store = memoryStore();
const sessions = createSessionManager({ store });
const labs = dockerLabs({
  manager: sessions,
  store: store.labs,
  addressPool: process.env.LAB_POOL!,
  scope: process.env.LAB_SCOPE!,
  templates: { solo: { containers: [{ name: 'box', image: process.env.LAB_IMAGE!, ip: 10, cmd: ['sleep', '3600'], memory: '32m', cpus: 0.25, pids: 64 }] } },
  maxLabsPerUser: count,
  reconcileInterval: false,
  idleStop: false,
});
await labs.reconcile();
const { session } = await sessions.create({ userId: 'crashed' });
const started = [];
for (let i = 0; i < count; i++) started.push(await labs.start(session.id, 'solo'));
process.stdout.write(`${JSON.stringify(started.map((lab) => ({ id: lab.id, subnet: lab.network.subnet })))}\n`);
// Kept alive until killed.
setInterval(() => {}, 60_000);
