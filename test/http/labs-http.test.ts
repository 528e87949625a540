import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerLabs, LabError } from '../../adapters/provisioner/docker/index.js';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, type SessionManager } from '../../src/index.js';
import type { Labs, LabStatsView, LabView } from '../../src/labs/index.js';
import { LAB_IMAGE, probeDocker, serviceGate } from '../support/services.js';
import { frameworks, LABS_PREFIX, type TestServer } from './servers.js';

// The lab routes on every framework in ./servers.ts, over real HTTP on 127.0.0.1, against the real
// Docker engine. One manager and one provisioner serve all three apps; each framework's users are
// its own, and the tests of one framework run in order on the lab its "start" test made.

const available = serviceGate('Docker', await probeDocker());

/** Labels this file's Docker objects; other test files use other scopes and address pools. */
const SCOPE = 'test-http-labs';
const ADDRESS_POOL = '10.251.0.0/16';
const MiB = 1024 * 1024;
const EVIL = 'https://evil.example';
const LAB_ID = /^lab_[A-Za-z0-9_-]{21}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** What Docker's own error text looks like: host paths, the runtime, the daemon. */
const DOCKER_TEXT = /\/var\/|docker|daemon|runc|oci runtime|no such file|exec format/i;
const LAB_VIEW_KEYS = ['containers', 'createdAt', 'error', 'expiresAt', 'extensions', 'id', 'network', 'sessionId', 'status', 'stopReason', 'template', 'updatedAt'];

describe.runIf(available)('lab routes', () => {
  const docker = new Docker();
  let manager: SessionManager;
  let labs: Labs;
  /** What the provisioner reported to onError: Docker's own wording belongs there, not in HTTP answers. */
  const reported: unknown[] = [];

  beforeAll(async () => {
    const store = memoryStore();
    manager = createSessionManager({ store });
    labs = dockerLabs({
      manager,
      store: store.labs,
      docker,
      addressPool: ADDRESS_POOL,
      templates: {
        tiny: {
          containers: [{ name: 'box', image: LAB_IMAGE, cmd: ['sleep', '3600'], memory: '32m', cpus: 0.2, ip: 10 }],
          timeLimit: '1h',
          maxExtensions: 2,
        },
        broken: { containers: [{ name: 'box', image: 'sessionkeeper-no-such-image:latest', cmd: ['sleep', '3600'], memory: '32m', ip: 10 }] },
        // The engine refuses to start it (the OCI runtime's error names host paths and runc).
        crashing: { containers: [{ name: 'box', image: LAB_IMAGE, cmd: ['/sessionkeeper-no-such-binary'], memory: '32m', ip: 10 }] },
      },
      maxLabsPerUser: 1,
      idleStop: false,
      reconcileInterval: false,
      scope: SCOPE,
      onError: (error) => void reported.push(error),
    });
    // The start-up pass removes what a crashed earlier run left under this scope.
    await labs.reconcile();
  });

  afterAll(async () => {
    if (labs !== undefined) {
      for (const lab of await labs.list()) await labs.stop(lab.id);
      await labs.close();
    }
    await manager?.close();
    const filters = { label: [`sessionkeeper.scope=${SCOPE}`] };
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect(await docker.listNetworks({ filters })).toEqual([]);
  });

  /** Containers and networks Docker has for a lab, found by its label. */
  async function dockerObjectsOf(labId: string) {
    const filters = { label: [`sessionkeeper.lab=${labId}`] };
    return { containers: await docker.listContainers({ all: true, filters }), networks: await docker.listNetworks({ filters }) };
  }

  describe.each(frameworks)('over $name', (framework) => {
    let server: TestServer;
    let api: Api;
    let alice: User;
    let bob: User;
    let carol: User;
    /** Alice's lab, started by the "start" test and used by the tests after it. */
    let lab: LabView;

    beforeAll(async () => {
      server = await framework.start(manager, { labs });
      api = new Api(server);
      alice = await api.login(`alice-${framework.name}`);
      bob = await api.login(`bob-${framework.name}`);
      carol = await api.login(`carol-${framework.name}`);
    });

    afterAll(async () => {
      for (const user of [alice, bob, carol]) {
        if (user === undefined) continue;
        for (const live of await labs.list({ userId: user.userId })) await labs.stop(live.id);
      }
      await server?.close();
    });

    it('answers 401 UNAUTHENTICATED without a session, and with a token that does not validate', async () => {
      const someId = `lab_${'a'.repeat(21)}`;
      for (const [method, path, body] of [
        ['GET', '/', undefined],
        ['POST', '/', { template: 'tiny' }],
        ['GET', `/${someId}`, undefined],
        ['GET', `/${someId}/stats`, undefined],
        ['POST', `/${someId}/extend`, { by: '5m' }],
        ['POST', `/${someId}/stop`, undefined],
      ] as const) {
        expectError(await api.send(method, path, { body }), 401, 'UNAUTHENTICATED');
      }
      expectError(await api.send('GET', '/', { bearer: 'skt_not-a-token' }), 401, 'UNAUTHENTICATED');
      expect(await labs.list({ includeEnded: true })).not.toContainEqual(expect.objectContaining({ userId: expect.stringContaining(framework.name) }));
    });

    it('POST / starts a lab for the current session: 201 with its network subnet and container address', async () => {
      const reply = await api.send('POST', '/', { bearer: alice.token, body: { template: 'tiny' } });
      expect(reply.status).toBe(201);
      lab = (reply.body as { lab: LabView }).lab;
      expect(Object.keys(lab).sort()).toEqual(LAB_VIEW_KEYS);
      const base = /^(10\.251\.\d{1,3})\.0\/24$/.exec(lab.network.subnet)?.[1];
      expect(base).toBeDefined();
      expect(lab).toEqual({
        id: expect.stringMatching(LAB_ID),
        sessionId: alice.sessionId,
        template: 'tiny',
        status: 'active',
        network: { name: `sk-lab-${lab.id}`, subnet: `${base}.0/24`, gateway: `${base}.1` },
        containers: [{ name: 'box', ip: `${base}.10`, image: LAB_IMAGE }],
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
        expiresAt: expect.stringMatching(ISO),
        extensions: 0,
        stopReason: null,
        error: null,
      });
      expect(Date.parse(lab.expiresAt) - Date.parse(lab.createdAt)).toBe(60 * 60_000);

      // Docker really runs it, on the address the API reported, in the lab's own network.
      const { containers, networks } = await dockerObjectsOf(lab.id);
      expect(containers).toHaveLength(1);
      expect(containers[0]!.State).toBe('running');
      expect(networks.map((n) => n.Name)).toEqual([lab.network.name]);
      const inspected = await docker.getContainer(containers[0]!.Id).inspect();
      expect(inspected.NetworkSettings.Networks[lab.network.name]?.IPAddress).toBe(`${base}.10`);
      expect(inspected.HostConfig.Memory).toBe(32 * MiB);
    });

    it('GET / lists the live labs of the current user only', async () => {
      const mine = await api.send('GET', '/', { bearer: alice.token });
      expect(mine.status).toBe(200);
      expect(mine.body).toEqual({ labs: [lab] });
      const theirs = await api.send('GET', '/', { bearer: bob.token });
      expect(theirs.body).toEqual({ labs: [] });
    });

    it('GET /:id returns the lab with its network and containers', async () => {
      const reply = await api.send('GET', `/${lab.id}`, { bearer: alice.token });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ lab });
    });

    it('GET /:id/stats samples each container: one, limited to 32 MiB', async () => {
      const reply = await api.send('GET', `/${lab.id}/stats`, { bearer: alice.token });
      expect(reply.status).toBe(200);
      const { stats } = reply.body as { stats: LabStatsView };
      expect(stats.labId).toBe(lab.id);
      expect(stats.at).toMatch(ISO);
      expect(stats.containers).toEqual([
        {
          name: 'box',
          cpuPercent: expect.any(Number),
          memoryBytes: expect.any(Number),
          memoryLimitBytes: 32 * MiB,
          rxBytes: expect.any(Number),
          txBytes: expect.any(Number),
          pids: expect.any(Number),
        },
      ]);
      expect(stats.containers[0]!.pids).toBeGreaterThanOrEqual(1);
      expect(stats.network).toEqual({
        name: lab.network.name,
        subnet: lab.network.subnet,
        endpoints: [{ name: `sk-lab-${lab.id}-box`, ip: lab.containers[0]!.ip }],
      });
    });

    it('POST /:id/extend refuses a `by` that is not a positive duration within the time limit: 400', async () => {
      for (const body of [{ by: 'soon' }, { by: '0m' }, { by: -5 }, { by: '2h' }, 'by=5m', [{ by: '5m' }]]) {
        expectError(await api.send('POST', `/${lab.id}/extend`, { bearer: alice.token, body }), 400, 'INVALID_ARGUMENT');
      }
    });

    it('POST /:id/extend moves expiresAt by `by` (the default without one) up to the template caps', async () => {
      const first = await api.send('POST', `/${lab.id}/extend`, { bearer: alice.token, body: { by: '30m' } });
      expect(first.status).toBe(200);
      const extended = (first.body as { lab: LabView }).lab;
      expect(extended.extensions).toBe(1);
      expect(Date.parse(extended.expiresAt) - Date.parse(lab.expiresAt)).toBe(30 * 60_000);

      // No body: the routes' defaultExtend, 30 minutes.
      const second = await api.send('POST', `/${lab.id}/extend`, { bearer: alice.token });
      expect(second.status).toBe(200);
      lab = (second.body as { lab: LabView }).lab;
      expect(lab.extensions).toBe(2);
      expect(Date.parse(lab.expiresAt) - Date.parse(extended.expiresAt)).toBe(30 * 60_000);

      expectError(await api.send('POST', `/${lab.id}/extend`, { bearer: alice.token, body: { by: '5m' } }), 409, 'EXTENSION_LIMIT');
      expect((await labs.get(lab.id))!.extensions).toBe(2);
    });

    it("another user's lab is 404 LAB_NOT_FOUND on every route, exactly like a missing one, and is left alone", async () => {
      const missing = `lab_${'Z'.repeat(21)}`;
      for (const [method, suffix, body] of [
        ['GET', '', undefined],
        ['GET', '/stats', undefined],
        ['POST', '/extend', { by: '5m' }],
        ['POST', '/stop', undefined],
      ] as const) {
        expectError(await api.send(method, `/${lab.id}${suffix}`, { bearer: bob.token, body }), 404, 'LAB_NOT_FOUND');
        expectError(await api.send(method, `/${missing}${suffix}`, { bearer: bob.token, body }), 404, 'LAB_NOT_FOUND');
      }
      expect(await labs.get(lab.id)).toMatchObject({ status: 'active', extensions: 2 });
    });

    it('refuses malformed input with 400 before anything is looked up', async () => {
      for (const id of ['nope', 'lab_short', `lab_${'a'.repeat(22)}`, `lab_${'a'.repeat(20)}!`, 'ses_abc', 'lab_%2E%2E']) {
        expectError(await api.send('GET', `/${id}`, { bearer: alice.token }), 400, 'INVALID_ARGUMENT');
        expectError(await api.send('GET', `/${id}/stats`, { bearer: alice.token }), 400, 'INVALID_ARGUMENT');
        expectError(await api.send('POST', `/${id}/extend`, { bearer: alice.token, body: { by: '5m' } }), 400, 'INVALID_ARGUMENT');
        expectError(await api.send('POST', `/${id}/stop`, { bearer: alice.token }), 400, 'INVALID_ARGUMENT');
      }
      for (const body of [undefined, {}, { template: '' }, { template: 't'.repeat(65) }, { template: 5 }, ['tiny'], 'tiny']) {
        expectError(await api.send('POST', '/', { bearer: carol.token, body }), 400, 'INVALID_ARGUMENT');
      }
      expectError(await api.send('POST', '/', { bearer: carol.token, rawBody: '{"template":' }), 400, 'INVALID_BODY');
      expectError(await api.send('GET', '/?all=maybe', { bearer: alice.token }), 400, 'INVALID_ARGUMENT');
      expect(await labs.list({ userId: carol.userId, includeEnded: true })).toEqual([]);
    });

    it('an unknown template is 400 TEMPLATE_UNKNOWN', async () => {
      expectError(await api.send('POST', '/', { bearer: bob.token, body: { template: 'huge' } }), 400, 'TEMPLATE_UNKNOWN');
      expect(await labs.list({ userId: bob.userId, includeEnded: true })).toEqual([]);
    });

    it('a second start with maxLabsPerUser 1 is 409 LAB_LIMIT', async () => {
      expectError(await api.send('POST', '/', { bearer: alice.token, body: { template: 'tiny' } }), 409, 'LAB_LIMIT');
      expect(await labs.list({ userId: alice.userId })).toHaveLength(1);
    });

    it('a cross-site POST authenticated by the cookie is 403 FORBIDDEN_ORIGIN; reads and same-origin requests pass', async () => {
      expectError(await api.send('POST', `/${lab.id}/stop`, { cookie: alice.cookie, origin: EVIL }), 403, 'FORBIDDEN_ORIGIN');
      expectError(await api.send('POST', '/', { cookie: bob.cookie, origin: EVIL, body: { template: 'tiny' } }), 403, 'FORBIDDEN_ORIGIN');
      expectError(await api.send('POST', `/${lab.id}/extend`, { cookie: alice.cookie, headers: { 'sec-fetch-site': 'cross-site' }, body: { by: '1m' } }), 403, 'FORBIDDEN_ORIGIN');
      expect(await labs.get(lab.id)).toMatchObject({ status: 'active', extensions: 2 });
      expect(await labs.list({ userId: bob.userId })).toEqual([]);

      expect((await api.send('GET', `/${lab.id}`, { cookie: alice.cookie, origin: EVIL })).status).toBe(200);
      // Same origin, by cookie: passes the check and reaches the provisioner (which refuses the third extension).
      expectError(await api.send('POST', `/${lab.id}/extend`, { cookie: alice.cookie, origin: server.url, body: { by: '1m' } }), 409, 'EXTENSION_LIMIT');
    });

    it('POST /:id/stop stops the lab and Docker has no container or network left for it', async () => {
      const reply = await api.send('POST', `/${lab.id}/stop`, { bearer: alice.token });
      expect(reply.status).toBe(200);
      const stopped = (reply.body as { lab: LabView }).lab;
      expect(stopped).toMatchObject({ id: lab.id, status: 'stopped', stopReason: 'stopped', error: null });
      expect(await dockerObjectsOf(lab.id)).toEqual({ containers: [], networks: [] });

      expect((await api.send('GET', '/', { bearer: alice.token })).body).toEqual({ labs: [] });
      expect((await api.send('GET', '/?all=1', { bearer: alice.token })).body).toEqual({ labs: [stopped] });
      // Stopping again returns it unchanged; an ended lab has no stats and cannot be extended.
      const again = await api.send('POST', `/${lab.id}/stop`, { bearer: alice.token });
      expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: { lab: stopped } });
      expectError(await api.send('GET', `/${lab.id}/stats`, { bearer: alice.token }), 409, 'LAB_NOT_ACTIVE');
      expectError(await api.send('POST', `/${lab.id}/extend`, { bearer: alice.token, body: { by: '5m' } }), 409, 'LAB_NOT_ACTIVE');
    });

    it('a template whose image is missing is 500 IMAGE_MISSING, without a stack, and leaves nothing behind', async () => {
      const reply = await api.send('POST', '/', { bearer: carol.token, body: { template: 'broken' } });
      expectError(reply, 500, 'IMAGE_MISSING');
      expect(reply.text).not.toContain('sessionkeeper-no-such-image');

      const all = (await api.send('GET', '/?all=1', { bearer: carol.token })).body as { labs: LabView[] };
      const failed = all.labs.find((l) => l.template === 'broken')!;
      expect(failed).toMatchObject({ template: 'broken', status: 'failed' });
      // Only the code and the fixed message of the start's own answer.
      expect(failed.error).toEqual({ code: 'IMAGE_MISSING', message: (reply.body as ErrorBody).error.message });
      expect(await dockerObjectsOf(failed.id)).toEqual({ containers: [], networks: [] });
      expect((await api.send('GET', '/', { bearer: carol.token })).body).toEqual({ labs: [] });
    });

    it("a lab the engine cannot start is 502 DOCKER_ERROR, and no view of it carries Docker's text, which stays in labs.get() and onError", async () => {
      const reply = await api.send('POST', '/', { bearer: carol.token, body: { template: 'crashing' } });
      expectError(reply, 502, 'DOCKER_ERROR');
      const fixed = (reply.body as ErrorBody).error.message;

      const listed = await api.send('GET', '/?all=1', { bearer: carol.token });
      const failed = (listed.body as { labs: LabView[] }).labs.find((l) => l.template === 'crashing')!;
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'DOCKER_ERROR', message: fixed } });
      expect(Object.keys(failed.error!).sort()).toEqual(['code', 'message']);
      const single = await api.send('GET', `/${failed.id}`, { bearer: carol.token });
      expect((single.body as { lab: LabView }).lab.error).toEqual({ code: 'DOCKER_ERROR', message: fixed });
      for (const text of [reply.text, listed.text, single.text]) {
        expect(text.replaceAll('"code":"DOCKER_ERROR"', '')).not.toMatch(DOCKER_TEXT);
        expect(text).not.toContain(`sk-lab-${failed.id}-box`);
      }

      // The operator still has Docker's own account: in the stored lab and through onError.
      const stored = await labs.get(failed.id);
      expect(stored!.error).toMatchObject({ code: 'DOCKER_ERROR', container: 'box' });
      expect(String(stored!.error!.message)).toMatch(/sessionkeeper-no-such-binary/);
      expect(reported.some((e) => e instanceof LabError && e.code === 'DOCKER_ERROR' && /sessionkeeper-no-such-binary/.test(e.message))).toBe(true);
      expect(await dockerObjectsOf(failed.id)).toEqual({ containers: [], networks: [] });
    });
  });
});

// --- helpers ---

interface User {
  userId: string;
  sessionId: string;
  token: string;
  /** The Cookie header a browser would send. */
  cookie: string;
}

interface ErrorBody {
  error: { code: string; message: string };
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

interface RequestOptions {
  bearer?: string;
  cookie?: string;
  origin?: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  rawBody?: string;
}

/** fetch() against one test app; paths are relative to the lab routes. */
class Api {
  constructor(private readonly server: TestServer) {}

  async login(userId: string): Promise<User> {
    const response = await fetch(`${this.server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) });
    expect(response.status).toBe(200);
    const { id, token } = (await response.json()) as { id: string; token: string };
    return { userId, sessionId: id, token, cookie: `__Host-sid=${token}` };
  }

  /** Every lab route answers `Cache-Control: no-store`, and an error never carries a stack trace. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
    if (options.cookie !== undefined) headers.cookie = options.cookie;
    if (options.origin !== undefined) headers.origin = options.origin;
    let body: string | undefined;
    if (options.body !== undefined || options.rawBody !== undefined) {
      body = options.rawBody ?? JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const url = `${this.server.url}${LABS_PREFIX}${path === '/' ? '' : path.startsWith('/?') ? path.slice(1) : path}`;
    const response = await fetch(url, { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    const parsed: unknown = text !== '' && (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined;
    expect(response.headers.get('cache-control'), `${method} ${path}`).toBe('no-store');
    if (response.status >= 400) {
      expect(text).not.toMatch(/\bat .+:\d+:\d+|node_modules|\.ts\b|"stack"/);
    }
    return { status: response.status, headers: response.headers, text, body: parsed };
  }
}

/** The JSON error shape and nothing else: `{ error: { code, message } }`. */
function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, body: reply.body }).toEqual({ status, body: { error: { code, message: expect.any(String) } } });
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
}
