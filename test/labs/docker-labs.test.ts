import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { dockerLabs, LAB_LABELS, LabError, type DockerLabsOptions, type Lab, type Labs, type LabStatus } from '../../adapters/provisioner/docker/index.js';
import { postgresStore } from '../../adapters/storage/postgres/index.js';
import { sqliteStore } from '../../adapters/storage/sqlite/index.js';
import { createSessionManager, isSessionError, type SessionManager, type SessionStore } from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { LAB_IMAGE, POSTGRES_URL, probeDocker, probePostgres, serviceGate } from '../support/services.js';

const available = serviceGate('Docker', await probeDocker());
const postgres = available && serviceGate('PostgreSQL', await probePostgres());

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
} satisfies DockerLabsOptions['templates'];

interface World {
  sessions: SessionManager;
  labs: Labs;
  clock: ReturnType<typeof manualClock>;
  store: SessionStore;
  errors: unknown[];
  /** A new provisioner over the same manager, as after a restart. */
  restart(options?: Partial<DockerLabsOptions>): Labs;
}

const open: World[] = [];
let files = 0;

async function world(options: Partial<DockerLabsOptions> = {}, store?: SessionStore): Promise<World> {
  if (store === undefined) {
    store = sqliteStore({ filename: join(dir, `labs-${files++}.db`) });
    await store.migrate();
  }
  const clock = manualClock(START);
  const sessions = createSessionManager({ store, clock: clock.now, idleTimeout: '1h', absoluteTimeout: '1d' });
  const errors: unknown[] = [];
  const make = (more: Partial<DockerLabsOptions> = {}) =>
    dockerLabs({
      manager: sessions,
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
  const w: World = { sessions, labs: make(), clock, store, errors, restart: (more) => (w.labs = make(more)) };
  open.push(w);
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
    expect(unknown.details).toEqual({ templates: ['duo', 'solo', 'broken'] });
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
    const lab = await w.store.insertLab('rita', { maxPerUser: 5, maxTotal: 5 }, () => ({
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
});
