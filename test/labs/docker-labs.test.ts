import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { dockerLabs, LAB_LABELS, LabError, type DockerLabsOptions, type Lab, type LabContainer, type DockerClient, type Labs, type LabStatus, type LabStore } from '../../adapters/provisioner/docker/index.js';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, isSessionError, type SessionManager, type SessionStore } from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { LAB_IMAGE, POSTGRES_URL, probeDocker, probePostgres, serviceGate } from '../support/services.js';
import { labShell } from './lab-shell.js';

const available = serviceGate('Docker', await probeDocker());
const postgres = available && serviceGate('PostgreSQL', await probePostgres());
const run = promisify(execFile);
/** The egress test adds (and removes) a host firewall rule: it needs iptables and root. */
const iptables =
  available &&
  (await run('iptables', ['-S', 'INPUT']).then(
    () => true,
    (err: Error) => (console.warn(`[skip] iptables is not usable (${err.message.split('\n')[0]}): the egress firewall test is skipped`), false),
  ));

/** Docker objects of this file carry this scope; other test files use their own scope and pool. */
const SCOPE = 'test-docker-labs';
const POOL = '10.250.0.0/16';
const START = Date.parse('2030-01-01T00:00:00Z');
const docker = new Docker();
const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-labs-'));

const box = (name: string, ip: number, image = LAB_IMAGE) => ({ name, image, ip, cmd: ['sleep', '3600'], memory: '32m', cpus: 0.25, pids: 64 });
const TEMPLATES = {
  duo: { containers: [box('attacker', 10), box('target', 20)], timeLimit: '1h', maxExtensions: 1 },
  solo: { containers: [box('box', 10)], timeLimit: '2h' },
  broken: { containers: [box('first', 10), box('second', 11), box('third', 12, 'sessionkeeper-no-such-image:latest')] },
  // An attacker that may ping (NET_RAW) and a web server, as the lab example has them.
  range: {
    containers: [
      { ...box('attacker', 10), capAdd: ['NET_RAW'] },
      { ...box('target', 20), cmd: ['httpd', '-f', '-p', '80', '-h', '/tmp'] },
    ],
  },
  egress: { containers: [box('box', 10)], internal: false },
} satisfies DockerLabsOptions['templates'];
const TEMPLATE_NAMES = Object.keys(TEMPLATES);

/** A session store with its lab store beside it, as the built-in stores are. */
type StoreWithLabs = SessionStore & { readonly labs: LabStore };

interface World {
  sessions: SessionManager;
  labs: Labs;
  clock: ReturnType<typeof manualClock>;
  store: StoreWithLabs;
  /** The store's lab store, which the provisioner writes. */
  labStore: LabStore;
  errors: unknown[];
  /** A new provisioner over the same manager, as after a restart. */
  restart(options?: Partial<DockerLabsOptions>): Labs;
}

const open: World[] = [];
let files = 0;

/** A manager and a provisioner; `settle: false` returns before the provisioner's start-up pass is over. */
async function world(options: Partial<DockerLabsOptions> = {}, store?: StoreWithLabs, { settle = true } = {}): Promise<World> {
  if (store === undefined) {
    store = sqliteStore({ filename: join(dir, `labs-${files++}.db`) });
    await store.migrate();
  }
  const clock = manualClock(START);
  const sessions = createSessionManager({ store, clock: clock.now, idleTimeout: '1h', absoluteTimeout: '1d' });
  const errors: unknown[] = [];
  const labStore = store.labs;
  const make = (more: Partial<DockerLabsOptions> = {}) =>
    dockerLabs({
      manager: sessions,
      store: labStore,
      clock: clock.now,
      addressPool: POOL,
      templates: TEMPLATES,
      scope: SCOPE,
      reconcileInterval: false,
      idleStop: false,
      maxLabsPerUser: 2,
      onError: (error) => errors.push(error),
      ...options,
      ...more,
    });
  const w: World = { sessions, labs: make(), clock, store, labStore, errors, restart: (more) => (w.labs = make(more)) };
  open.push(w);
  if (!settle) return w;
  // The start-up pass, finished (a provisioner pointed at no engine reports its failure to onError).
  await w.labs.reconcile().catch(() => expect(options.docker, 'only a provisioner without an engine may fail its first pass').toBeDefined());
  return w;
}

async function labelled(kind: 'containers' | 'networks', labId?: string): Promise<string[]> {
  const filters = { label: [`${LAB_LABELS.scope}=${SCOPE}`, ...(labId ? [`${LAB_LABELS.lab}=${labId}`] : [])] };
  if (kind === 'containers') return (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0]!);
  return (await docker.listNetworks({ filters })).map((n) => n.Name);
}

async function until(labs: Labs, id: string, status: LabStatus): Promise<Lab> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const lab = await labs.get(id);
    if (lab?.status === status || Date.now() > deadline) return lab!;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function expectLabError(promise: Promise<unknown>, code: string): Promise<LabError> {
  const error = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(error, `expected LabError ${code}`).toBeInstanceOf(LabError);
  expect((error as LabError).code).toBe(code);
  return error as LabError;
}

/** Runs `script` in a container of a lab, as a user of the lab would. */
const shell = (containerId: string, script: string) => labShell(docker, containerId, script);

/**
 * A TCP server on every host address that answers each connection with a marker; `peers` are the
 * addresses that connected. The targets a lab could try: every IPv4 address of the host.
 */
async function hostServer() {
  const peers: string[] = [];
  const server = createServer((socket) => {
    peers.push(socket.remoteAddress ?? '?');
    socket.end('sessionkeeper-host-answered\n');
  });
  server.listen(0, '0.0.0.0');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
  return { port, peers, addresses, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** From inside a container: which of `addresses` answer on `port` (connections in parallel, 2 s each). */
async function reachable(containerId: string, addresses: readonly string[], port: number): Promise<string[]> {
  const probes = addresses.map((a) => `(nc -w 2 ${a} ${port} </dev/null 2>/dev/null | grep -q sessionkeeper-host-answered && echo "open ${a}") &`);
  const { output } = await shell(containerId, `${probes.join(' ')} wait`);
  return [...output.matchAll(/^open (\S+)$/gm)].map((m) => m[1]!).sort();
}

afterEach(async () => {
  // Each test leaves nothing behind: stop what it started, then a reconcile removes any stray object.
  for (const w of open.splice(0)) {
    for (const lab of await w.labs.list()) await w.labs.stop(lab.id).catch(() => {});
    await w.labs.reconcile().catch(() => {});
    await w.labs.close();
    await w.sessions.close();
  }
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (!available) return;
  expect(await labelled('containers')).toEqual([]);
  expect(await labelled('networks')).toEqual([]);
});

describe.runIf(available)('dockerLabs on a real Docker engine', () => {
  it('starts a lab: its own network on the allocated subnet, containers on fixed addresses with limits', async () => {
    const { sessions, labs } = await world();
    const { session } = await sessions.create({ userId: 'alice' });
    const lab = await labs.start(session.id, 'duo');

    expect(lab).toMatchObject({ sessionId: session.id, userId: 'alice', template: 'duo', status: 'active', extensions: 0 });
    expect(lab.network).toEqual({ name: `sk-lab-${lab.id}`, id: expect.any(String), subnet: '10.250.0.0/24', gateway: '10.250.0.1' });
    expect(lab.expiresAt).toBe(START + 3_600_000);

    const network = await docker.getNetwork(lab.network.name).inspect();
    expect(network.Id).toBe(lab.network.id);
    expect(network.Internal).toBe(true);
    expect(network.IPAM?.Config).toEqual([{ Subnet: '10.250.0.0/24', Gateway: '10.250.0.1' }]);
    expect(network.Labels).toMatchObject({ [LAB_LABELS.lab]: lab.id, [LAB_LABELS.session]: session.id, [LAB_LABELS.user]: 'alice' });

    expect(lab.containers.map((c) => [c.name, c.ip])).toEqual([
      ['attacker', '10.250.0.10'],
      ['target', '10.250.0.20'],
    ]);
    for (const container of lab.containers) {
      const info = await docker.getContainer(container.id!).inspect();
      expect(info.State.Running).toBe(true);
      expect(info.Name).toBe(`/sk-lab-${lab.id}-${container.name}`);
      expect(info.NetworkSettings.Networks[lab.network.name]!.IPAddress).toBe(container.ip);
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([lab.network.name]);
      expect(info.HostConfig).toMatchObject({ Memory: 32 * 1024 * 1024, NanoCpus: 250_000_000, PidsLimit: 64 });
      expect(info.Config.Labels).toMatchObject({ [LAB_LABELS.lab]: lab.id, [LAB_LABELS.user]: 'alice' });
    }
    expect(await labs.get(lab.id)).toEqual(lab);
  });

  it('gives concurrent starts different subnets', async () => {
    const { sessions, labs } = await world({ maxLabsPerUser: 5 });
    const owners = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((userId) => sessions.create({ userId })));
    const started = await Promise.all(owners.map(({ session }) => labs.start(session.id, 'solo')));
    const subnets = started.map((lab) => lab.network.subnet);
    expect(new Set(subnets).size).toBe(4);
    expect(subnets.sort()).toEqual(['10.250.0.0/24', '10.250.1.0/24', '10.250.2.0/24', '10.250.3.0/24']);
  });

  it.runIf(postgres)('two provisioners over one Postgres database allocate different subnets and share the caps', async () => {
    const table = `labs_${Date.now()}_`;
    const a = postgresStore({ connectionString: POSTGRES_URL, tablePrefix: table });
    const b = postgresStore({ connectionString: POSTGRES_URL, tablePrefix: table });
    await a.migrate();
    const one = await world({ maxLabsPerUser: 1 }, a);
    const two = await world({ maxLabsPerUser: 1 }, b);
    const [x, y] = await Promise.all([one.sessions.create({ userId: 'p1' }), two.sessions.create({ userId: 'p2' })]);
    const [onA, onB] = await Promise.all([one.labs.start(x.session.id, 'solo'), two.labs.start(y.session.id, 'solo')]);
    expect(onA.network.subnet).not.toBe(onB.network.subnet);
    // p1's lab was started through server one; server two sees it against p1's cap.
    const again = await two.sessions.create({ userId: 'p1' });
    await expectLabError(two.labs.start(again.session.id, 'solo'), 'LAB_LIMIT');
  });

  it('enforces the per-user cap at the cap, and a stopped lab frees its place and its subnet', async () => {
    const { sessions, labs } = await world({ maxLabsPerUser: 1 });
    const { session } = await sessions.create({ userId: 'bob' });
    const first = await labs.start(session.id, 'solo');
    const refused = await expectLabError(labs.start(session.id, 'solo'), 'LAB_LIMIT');
    expect(refused.details).toMatchObject({ limit: 'maxLabsPerUser', max: 1 });
    expect(await labs.list({ userId: 'bob' })).toHaveLength(1);

    const stopped = await labs.stop(first.id);
    expect(stopped).toMatchObject({ status: 'stopped', stopReason: 'stopped', subnetHeld: false });
    expect(await labelled('containers', first.id)).toEqual([]);
    expect(await labelled('networks', first.id)).toEqual([]);
    // Stopping a lab leaves the session signed in.
    expect((await sessions.get(session.id))?.status).toBe('active');

    const second = await labs.start(session.id, 'solo');
    expect(second.network.subnet).toBe(first.network.subnet);
    expect(await labs.stop(first.id)).toEqual(stopped);
  });

  it('reports each status change in order', async () => {
    const { sessions, labs } = await world();
    const seen: [LabStatus | null, LabStatus][] = [];
    labs.on('status', ({ lab, from }) => void seen.push([from, lab.status]));
    const { session } = await sessions.create({ userId: 'carol' });
    const lab = await labs.start(session.id, 'solo');
    await labs.stop(lab.id);
    expect(seen).toEqual([
      [null, 'provisioning'],
      ['provisioning', 'active'],
      ['active', 'stopping'],
      ['stopping', 'stopped'],
    ]);
  });

  it('tears the lab down when its session is revoked', async () => {
    const { sessions, labs } = await world();
    const { session } = await sessions.create({ userId: 'dave' });
    const lab = await labs.start(session.id, 'duo');
    await sessions.revoke(session.id, { reason: 'logout' });
    const stopped = await until(labs, lab.id, 'stopped');
    expect(stopped).toMatchObject({ status: 'stopped', stopReason: 'session-revoked', subnetHeld: false });
    expect(await labelled('containers', lab.id)).toEqual([]);
    expect(await labelled('networks', lab.id)).toEqual([]);
  });

  it('a sweep stops labs whose session expired or whose time is up', async () => {
    const { sessions, labs, clock } = await world();
    const expiring = await sessions.create({ userId: 'erin' });
    const busy = await sessions.create({ userId: 'frank' });
    const a = await labs.start(expiring.session.id, 'solo');
    const b = await labs.start(busy.session.id, 'duo'); // time limit 1 h

    clock.advance('30m');
    await sessions.validate(busy.token);
    expect(await labs.reconcile()).toMatchObject({ stopped: 0 });
    clock.advance('35m'); // erin's session is past its 1 h idle timeout; frank's lab past its time limit
    await sessions.validate(busy.token);
    expect(await labs.reconcile()).toMatchObject({ stopped: 2 });
    expect(await labs.get(a.id)).toMatchObject({ status: 'stopped', stopReason: 'session-expired' });
    expect(await labs.get(b.id)).toMatchObject({ status: 'stopped', stopReason: 'time-limit' });
    expect((await sessions.get(busy.session.id))?.status).toBe('active');
    expect(await labs.list()).toEqual([]);
  });

  it('a sweep stops a lab whose session sat idle, counting recorded activity as use', async () => {
    const { sessions, labs, clock } = await world({ idleStop: '20m' });
    const busy = await sessions.create({ userId: 'gina' });
    const idle = await sessions.create({ userId: 'hal' });
    const kept = await labs.start(busy.session.id, 'solo');
    const dropped = await labs.start(idle.session.id, 'solo');
    clock.advance('15m');
    sessions.activity.record(busy.session, { method: 'GET', path: '/labs', status: 200 });
    await sessions.activity.flush();
    clock.advance('10m');
    expect(await labs.reconcile()).toMatchObject({ stopped: 1 });
    expect(await labs.get(dropped.id)).toMatchObject({ status: 'stopped', stopReason: 'idle' });
    expect(await labs.get(kept.id)).toMatchObject({ status: 'active' });
  });

  it('extends a lab within its template bounds', async () => {
    const { sessions, labs } = await world();
    const { session } = await sessions.create({ userId: 'hank' });
    const lab = await labs.start(session.id, 'duo');
    const extended = await labs.extend(lab.id, '30m');
    expect(extended).toMatchObject({ extensions: 1, expiresAt: lab.expiresAt + 1_800_000 });
    const limit = await expectLabError(labs.extend(lab.id, '30m'), 'EXTENSION_LIMIT');
    expect(limit.details).toEqual({ maxExtensions: 1 });

    const other = await labs.start((await sessions.create({ userId: 'ivy' })).session.id, 'solo');
    const tooLong = await labs.extend(other.id, '3h').catch((err: unknown) => err);
    expect(isSessionError(tooLong, 'INVALID_ARGUMENT')).toBe(true);
    await labs.stop(other.id);
    await expectLabError(labs.extend(other.id, '10m'), 'LAB_NOT_ACTIVE');
    await expectLabError(labs.extend('lab_doesnotexist000000000', '10m'), 'LAB_NOT_FOUND');
  });

  it('rolls a failed start back: the containers made so far and the network go, the lab is failed with the evidence', async () => {
    const { sessions, labs } = await world();
    const { session } = await sessions.create({ userId: 'jack' });
    const error = await expectLabError(labs.start(session.id, 'broken'), 'IMAGE_MISSING');
    expect(error.details).toMatchObject({ image: 'sessionkeeper-no-such-image:latest', statusCode: 404 });

    const [failed] = await labs.list({ userId: 'jack', includeEnded: true });
    expect(failed).toMatchObject({ status: 'failed', subnetHeld: false });
    expect(failed!.error).toMatchObject({ code: 'IMAGE_MISSING', statusCode: 404, container: 'third' });
    expect(String(failed!.error!.message)).toMatch(/sessionkeeper-no-such-image/);
    expect(await labelled('containers', failed!.id)).toEqual([]);
    expect(await labelled('networks', failed!.id)).toEqual([]);
    // The failed lab neither counts against the cap nor keeps its subnet.
    expect((await labs.start(session.id, 'solo')).network.subnet).toBe(failed!.network.subnet);
  });

  it('skips subnets that overlap networks Docker already has, and names them when none is left', async () => {
    const foreign = await docker.createNetwork({ Name: `sk-test-foreign-${process.pid}`, IPAM: { Config: [{ Subnet: '10.250.0.0/23' }] } });
    try {
      const { sessions, labs } = await world({ maxLabsPerUser: 5 });
      const { session } = await sessions.create({ userId: 'kim' });
      expect((await labs.start(session.id, 'solo')).network.subnet).toBe('10.250.2.0/24');

      const cramped = await world({ addressPool: '10.250.0.0/23' });
      const other = await cramped.sessions.create({ userId: 'lee' });
      const error = await expectLabError(cramped.labs.start(other.session.id, 'solo'), 'SUBNET_OVERLAP');
      expect(error.details).toEqual({ networks: [`sk-test-foreign-${process.pid}`] });
      expect(await cramped.labs.list({ includeEnded: true })).toEqual([]);
    } finally {
      await foreign.remove();
    }
  });

  it('refuses a start when the pool is exhausted, an unknown template, or an inactive session', async () => {
    const { sessions, labs } = await world({ addressPool: '10.250.8.0/23', maxLabsPerUser: 5 });
    const { session } = await sessions.create({ userId: 'max' });
    await labs.start(session.id, 'solo');
    await labs.start(session.id, 'solo');
    const exhausted = await expectLabError(labs.start(session.id, 'solo'), 'POOL_EXHAUSTED');
    expect(exhausted.details).toEqual({ size: 2 });
    const unknown = await expectLabError(labs.start(session.id, 'nope'), 'TEMPLATE_UNKNOWN');
    expect(unknown.details).toEqual({ templates: TEMPLATE_NAMES });
    await sessions.revoke(session.id);
    const inactive = await labs.start(session.id, 'solo').catch((err: unknown) => err);
    expect(isSessionError(inactive, 'SESSION_INACTIVE')).toBe(true);
  });

  it('reports an unreachable engine as DOCKER_UNAVAILABLE and stores nothing', async () => {
    const { sessions, labs, errors } = await world({ docker: { socketPath: join(dir, 'no-docker.sock') } });
    const { session } = await sessions.create({ userId: 'nina' });
    const error = await expectLabError(labs.start(session.id, 'solo'), 'DOCKER_UNAVAILABLE');
    expect(error.message).toMatch(/did not answer/);
    expect(await labs.list({ includeEnded: true })).toEqual([]);
    // The start-up reconcile failed the same way and was reported, not thrown.
    expect(errors.some((e) => e instanceof LabError && e.code === 'DOCKER_UNAVAILABLE')).toBe(true);
  });

  it('samples container stats and lists the endpoints on the lab network', async () => {
    const { sessions, labs } = await world();
    const { session } = await sessions.create({ userId: 'olga' });
    const lab = await labs.start(session.id, 'duo');
    const stats = await labs.stats(lab.id);
    expect(stats.containers.map((c) => c.name)).toEqual(['attacker', 'target']);
    for (const c of stats.containers) {
      expect(c.memoryLimitBytes).toBe(32 * 1024 * 1024);
      expect(c.memoryBytes).toBeGreaterThan(0);
      expect(c.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(c.pids).toBeGreaterThanOrEqual(1);
    }
    expect(stats.network.endpoints.map((e) => e.ip).sort()).toEqual(['10.250.0.10', '10.250.0.20']);
  });

  it('shows a stranger attached to the lab network, and disconnects it to remove the network on stop', async () => {
    const { sessions, labs } = await world();
    const { session } = await sessions.create({ userId: 'sam' });
    const lab = await labs.start(session.id, 'solo');
    const stranger = await docker.createContainer({
      name: `sk-test-stranger-${process.pid}`,
      Image: LAB_IMAGE,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: lab.network.name },
    });
    try {
      await stranger.start();
      const { network } = await labs.stats(lab.id);
      expect(network.endpoints.map((e) => e.name).sort()).toEqual([`sk-lab-${lab.id}-box`, `sk-test-stranger-${process.pid}`]);
      // Docker refuses to remove a network with endpoints; the teardown disconnects the stranger and retries.
      expect(await labs.stop(lab.id)).toMatchObject({ status: 'stopped', subnetHeld: false });
      expect(await labelled('networks', lab.id)).toEqual([]);
      const after = await stranger.inspect();
      expect(after.State.Running).toBe(true);
      expect(Object.keys(after.NetworkSettings.Networks)).not.toContain(lab.network.name);
    } finally {
      await stranger.remove({ force: true });
    }
  });

  it('reconciles after a crash: ended sessions, orphaned objects, interrupted provisioning, held subnets', async () => {
    const w = await world();
    const { sessions } = w;
    const revoked = await sessions.create({ userId: 'pam' });
    const kept = await sessions.create({ userId: 'quinn' });
    const lost = await w.labs.start(revoked.session.id, 'solo');
    const survivor = await w.labs.start(kept.session.id, 'solo');

    // The process dies: no provisioner hears the revoke.
    await w.labs.close();
    await sessions.revoke(revoked.session.id);
    // Objects with our labels but no lab row, as if the row were deleted mid-teardown.
    const ghostId = 'lab_ghostghostghostghost1';
    const labels = { [LAB_LABELS.lab]: ghostId, [LAB_LABELS.scope]: SCOPE, [LAB_LABELS.session]: 'ses_x', [LAB_LABELS.user]: 'x' };
    const ghostNet = await docker.createNetwork({ Name: `sk-lab-${ghostId}`, Labels: labels, IPAM: { Config: [{ Subnet: '10.250.99.0/24' }] } });
    const ghost = await docker.createContainer({ name: `sk-lab-${ghostId}-box`, Image: LAB_IMAGE, Cmd: ['sleep', '3600'], Labels: labels, HostConfig: { NetworkMode: ghostNet.id } });
    await ghost.start();

    const labs = w.restart();
    const report = await labs.reconcile();
    expect(report).toEqual({ stopped: 1, removedContainers: 1, removedNetworks: 1, releasedSubnets: 0 });
    expect(await labs.get(lost.id)).toMatchObject({ status: 'stopped', stopReason: 'session-revoked', subnetHeld: false });
    expect(await labs.get(survivor.id)).toMatchObject({ status: 'active' });
    expect(await labelled('containers', ghostId)).toEqual([]);
    expect(await labelled('networks', ghostId)).toEqual([]);
    expect((await docker.getContainer(survivor.containers[0]!.id!).inspect()).State.Running).toBe(true);
  });

  it('reconcile finishes a start that a crash interrupted, once it is clearly abandoned', async () => {
    const w = await world();
    const { session } = await w.sessions.create({ userId: 'rita' });
    // A provisioning row with its network made, as a process leaves it when it dies mid-start.
    const lab = await w.labStore.insertLab('rita', { maxPerUser: 5, maxTotal: 5 }, () => ({
      id: 'lab_interruptedinterrupt1',
      sessionId: session.id,
      userId: 'rita',
      template: 'solo',
      createdAt: START,
      expiresAt: START + 3_600_000,
      network: { name: 'sk-lab-lab_interruptedinterrupt1', id: null, subnet: '10.250.50.0/24', gateway: '10.250.50.1' },
      containers: [{ name: 'box', id: null, ip: '10.250.50.10', image: LAB_IMAGE }],
    }));
    const labels = { [LAB_LABELS.lab]: lab.id, [LAB_LABELS.scope]: SCOPE, [LAB_LABELS.session]: session.id, [LAB_LABELS.user]: 'rita' };
    await docker.createNetwork({ Name: lab.network.name, Labels: labels, IPAM: { Config: [{ Subnet: lab.network.subnet }] } });

    const labs = w.restart();
    expect(await labs.reconcile()).toMatchObject({ stopped: 0, removedNetworks: 0 });
    w.clock.advance('6m');
    expect(await labs.reconcile()).toMatchObject({ stopped: 1 });
    expect(await labs.get(lab.id)).toMatchObject({ status: 'stopped', stopReason: 'reconciled', subnetHeld: false });
    expect(await labelled('networks', lab.id)).toEqual([]);
  });

  it('cleanup() deletes, in batches, the records of labs that ended more than olderThan ago; manager.cleanup() leaves labs alone', async () => {
    const { sessions, labs, clock } = await world({ maxLabsPerUser: 5 });
    const first = await sessions.create({ userId: 'uma' });
    const old = [await labs.start(first.session.id, 'solo'), await labs.start(first.session.id, 'solo')];
    for (const lab of old) await labs.stop(lab.id);
    clock.advance('2h');
    const { session } = await sessions.create({ userId: 'uma' });
    const recent = await labs.stop((await labs.start(session.id, 'solo')).id);
    const live = await labs.start(session.id, 'solo');
    clock.advance('1h');

    await sessions.cleanup({ olderThan: '1h' });
    expect(await labs.list({ includeEnded: true })).toHaveLength(4);
    await expect(labs.cleanup({ olderThan: '1h', batchSize: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // Two ended before the cutoff, deleted one per store call.
    expect(await labs.cleanup({ olderThan: '90m', batchSize: 1 })).toBe(2);
    for (const lab of old) expect(await labs.get(lab.id)).toBeNull();
    expect(await labs.get(recent.id)).toMatchObject({ status: 'stopped' });
    expect(await labs.get(live.id)).toMatchObject({ status: 'active' });
    expect(await labs.cleanup()).toBe(0);
  });

  it('accepts any dockerode-shaped client: a plain object that forwards to dockerode (as a tracing wrapper does) runs a lab from start to stop', async () => {
    const calls = new Set<string>();
    const traced: DockerClient = {
      version: () => (calls.add('version'), docker.version()),
      listNetworks: (options) => (calls.add('listNetworks'), docker.listNetworks(options)),
      listContainers: (options) => (calls.add('listContainers'), docker.listContainers(options)),
      createNetwork: (options) => (calls.add('createNetwork'), docker.createNetwork(options)),
      createContainer: (options) => (calls.add('createContainer'), docker.createContainer(options)),
      getContainer: (id) => (calls.add('getContainer'), docker.getContainer(id)),
      getNetwork: (id) => (calls.add('getNetwork'), docker.getNetwork(id)),
    };
    expect(traced).not.toBeInstanceOf(Docker);
    const { sessions, labs } = await world({ docker: traced });
    const { session } = await sessions.create({ userId: 'vera' });
    const lab = await labs.start(session.id, 'solo');
    expect(lab.status).toBe('active');
    expect((await docker.getContainer(lab.containers[0]!.id!).inspect()).State.Running).toBe(true);
    expect((await labs.stats(lab.id)).containers).toHaveLength(1);
    expect(await labs.stop(lab.id)).toMatchObject({ status: 'stopped', subnetHeld: false });
    expect(await labelled('containers', lab.id)).toEqual([]);
    expect(await labelled('networks', lab.id)).toEqual([]);
    expect([...calls].sort()).toEqual(['createContainer', 'createNetwork', 'getContainer', 'getNetwork', 'listContainers', 'listNetworks', 'version']);
  });

  it('runs every container without capabilities but its template capAdd, with no-new-privileges and bounded json-file logs', async () => {
    const { sessions, labs } = await world();
    const { session } = await sessions.create({ userId: 'tess' });
    const lab = await labs.start(session.id, 'range');
    const [attacker, target] = lab.containers as [LabContainer, LabContainer];
    for (const container of lab.containers) {
      const { HostConfig } = await docker.getContainer(container.id!).inspect();
      expect(HostConfig.CapDrop).toEqual(['ALL']);
      expect(HostConfig.CapAdd ?? []).toEqual(container.name === 'attacker' ? ['NET_RAW'] : []);
      expect(HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
      expect(HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '2' } });
      expect(HostConfig).toMatchObject({ Memory: 32 * 1024 * 1024, NanoCpus: 250_000_000, PidsLimit: 64 });
    }
    // As a lab user sees it: no capability at all in the target, NET_RAW (bit 13) alone in the attacker.
    expect((await shell(target.id!, 'grep -E "CapEff|NoNewPrivs" /proc/self/status')).output).toMatch(/CapEff:\s+0{16}\s+NoNewPrivs:\s+1/);
    expect((await shell(attacker.id!, 'grep CapEff /proc/self/status')).output).toMatch(/CapEff:\s+0{12}2000/);
    // NET_RAW is what ping needs: the attacker pings the target, the target cannot ping back.
    expect(await shell(attacker.id!, `ping -c 1 -W 2 ${target.ip}`)).toMatchObject({ code: 0 });
    expect(await shell(target.id!, `ping -c 1 -W 2 ${attacker.ip}`)).toMatchObject({ code: 1, output: expect.stringMatching(/permission denied/i) });
    // The web server still binds port 80 without NET_BIND_SERVICE (Docker lets containers bind low ports).
    expect((await shell(attacker.id!, `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 ${target.ip} 80`)).output).toMatch(/^HTTP\/1\.[01] /);
  });

  it('an internal lab has no route to the host: neither its gateway address nor any host address answers, while its containers reach each other', async () => {
    const host = await hostServer();
    try {
      const { sessions, labs } = await world();
      const { session } = await sessions.create({ userId: 'uma' });
      const lab = await labs.start(session.id, 'range');
      const [attacker, target] = lab.containers as [LabContainer, LabContainer];
      expect(await reachable(attacker.id!, [lab.network.gateway, ...host.addresses], host.port)).toEqual([]);
      expect(host.peers).toEqual([]);
      // The probe works: the lab's own web server answers the attacker.
      expect((await shell(attacker.id!, `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 ${target.ip} 80`)).output).toMatch(/^HTTP\/1\.[01] /);
      // Why: the host's bridge for the lab holds no address in the lab subnet (inhibit_ipv4 on this engine).
      const hostAddresses = Object.values(networkInterfaces()).flat().map((a) => a?.address);
      expect(hostAddresses).not.toContain(lab.network.gateway);
      const network = await docker.getNetwork(lab.network.name).inspect();
      expect(network.Options).toMatchObject({ 'com.docker.network.bridge.inhibit_ipv4': 'true' });
    } finally {
      await host.close();
    }
  });

  it.runIf(iptables)('a lab with egress (internal: false) reaches the host through its gateway until the INPUT rule the README gives drops the pool', async () => {
    const host = await hostServer();
    const rule = ['INPUT', '-s', POOL, '-j', 'DROP'];
    try {
      const { sessions, labs } = await world();
      const { session } = await sessions.create({ userId: 'vera' });
      const lab = await labs.start(session.id, 'egress');
      const [box] = lab.containers as [LabContainer];
      expect((await docker.getNetwork(lab.network.name).inspect()).Internal).toBe(false);
      // A gateway is needed for egress, and the host answers on it: the provisioner cannot prevent that.
      expect(await reachable(box.id!, [lab.network.gateway], host.port)).toEqual([lab.network.gateway]);
      await run('iptables', ['-I', ...rule]);
      expect(await reachable(box.id!, [lab.network.gateway, ...host.addresses], host.port)).toEqual([]);
    } finally {
      await run('iptables', ['-D', ...rule]).catch(() => {});
      await host.close();
    }
  });

  it("a start right after a crash that lost the store succeeds, and the dead process's labs are removed", async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts')], {
      env: { ...process.env, LAB_SCOPE: SCOPE, LAB_POOL: POOL, LAB_IMAGE, LAB_COUNT: '3' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => void (printed += chunk.toString()));
    const exited = once(child, 'exit');
    await Promise.race([
      new Promise<void>((resolve) => child.stdout.on('data', () => printed.includes('\n') && resolve())),
      exited.then(() => expect.fail('the crashing process exited before it had started its labs')),
    ]);
    const left = JSON.parse(printed) as { id: string; subnet: string }[];
    child.kill('SIGKILL');
    expect((await exited)[1]).toBe('SIGKILL');
    expect(left.map((l) => l.subnet)).toEqual(['10.250.0.0/24', '10.250.1.0/24', '10.250.2.0/24']);
    for (const { id } of left) expect(await labelled('containers', id)).toHaveLength(1);

    // The restarted process has a fresh memory store, the same scope and pool, and starts a lab at once.
    const { sessions, labs } = await world({}, memoryStore(), { settle: false });
    const { session } = await sessions.create({ userId: 'walt' });
    const lab = await labs.start(session.id, 'solo');
    expect(lab.status).toBe('active');
    // It waited for the start-up pass, which removed the dead process's labs first: the lowest subnet is free again.
    expect(lab.network.subnet).toBe('10.250.0.0/24');
    expect((await docker.getNetwork(lab.network.name).inspect()).IPAM?.Config?.[0]?.Subnet).toBe(lab.network.subnet);
    await labs.reconcile();
    for (const { id } of left) {
      expect(await labelled('containers', id)).toEqual([]);
      expect(await labelled('networks', id)).toEqual([]);
    }
    expect((await docker.getContainer(lab.containers[0]!.id!).inspect()).State.Running).toBe(true);
  }, 60_000);

  it('a start skips the subnets of same-scope networks its store does not know (a second provisioner with another store)', async () => {
    const mine = await world();
    const other = await world(); // another SQLite file: another store, the same scope and pool
    const theirs = await other.labs.start((await other.sessions.create({ userId: 'xena' })).session.id, 'solo');
    const lab = await mine.labs.start((await mine.sessions.create({ userId: 'yuri' })).session.id, 'solo');
    expect(lab.status).toBe('active');
    expect(lab.network.subnet).not.toBe(theirs.network.subnet);
    expect((await docker.getContainer(theirs.containers[0]!.id!).inspect()).State.Running).toBe(true);
  });
});
