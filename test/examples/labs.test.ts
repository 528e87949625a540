/**
 * The lab example end to end on the real Docker engine: the app over HTTP on 127.0.0.1 (sign in,
 * start a lab, list it, read its stats, extend it, sign out, and the lab stops with the session),
 * and `examples/labs/run.ts` as a user runs it. The example imports the package by name, so this
 * runs against the build (`npm test` builds first).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabApp, type LabExampleApp } from '../../examples/labs/app.js';
import type { LabStatsView, LabView } from '../../src/labs/index.js';
import { labShell } from '../labs/lab-shell.js';
import { LAB_IMAGE, probeDocker, serviceGate } from '../support/services.js';

const available = serviceGate('Docker', await probeDocker());

/** Scopes and pools of this file's Docker objects; no other suite uses them. */
const APP = { scope: 'test-example-labs', addressPool: '10.201.0.0/16' };
const SCRIPT = { scope: 'test-example-labs-run', addressPool: '10.202.0.0/16' };
const root = join(import.meta.dirname, '..', '..');

describe.runIf(available)('lab example', () => {
  const docker = new Docker();
  const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-example-labs-'));
  let example: LabExampleApp;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // stopLabsOnClose: a failed test leaves no lab running; the start-up reconcile removes what a crashed run left.
    example = await createLabApp({ filename: join(dir, 'labs.db'), image: LAB_IMAGE, ...APP, stopLabsOnClose: true });
    server = example.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await example?.close();
    rmSync(dir, { recursive: true, force: true });
    for (const { scope } of [APP, SCRIPT]) {
      const filters = { label: [`sessionkeeper.scope=${scope}`] };
      expect(await docker.listContainers({ all: true, filters })).toEqual([]);
      expect(await docker.listNetworks({ filters })).toEqual([]);
    }
  });

  it('signs in, starts, lists, measures and extends a lab over HTTP; signing out stops it and removes its Docker objects', async () => {
    let cookie = '';
    const send = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { origin: url, ...(cookie ? { cookie } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, setCookie: response.headers.getSetCookie(), body: (text === '' ? undefined : JSON.parse(text)) as Record<string, unknown> | undefined };
    };

    expect((await send('POST', '/api/v1/me/labs', { template: 'web-pentest' })).status).toBe(401);
    expect((await send('POST', '/login', { name: '' })).status).toBe(400);

    const login = await send('POST', '/login', { name: 'ada' });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ userId: 'ada', sessionId: expect.stringMatching(/^ses_/) });
    expect(login.setCookie[0]).toMatch(/^sid=skt_[^;]+;.*HttpOnly/i);
    cookie = login.setCookie[0]!.split(';')[0]!;

    const started = await send('POST', '/api/v1/me/labs', { template: 'web-pentest' });
    expect(started.status).toBe(201);
    const lab = started.body!.lab as LabView;
    const base = /^(10\.201\.\d{1,3})\.0\/24$/.exec(lab.network.subnet)?.[1];
    expect(base).toBeDefined();
    expect(lab).toMatchObject({
      sessionId: login.body!.sessionId,
      template: 'web-pentest',
      status: 'active',
      network: { name: `sk-lab-${lab.id}`, subnet: `${base}.0/24`, gateway: `${base}.1` },
      containers: [
        { name: 'attacker', ip: `${base}.10`, image: LAB_IMAGE },
        { name: 'target', ip: `${base}.20`, image: LAB_IMAGE },
      ],
      extensions: 0,
      stopReason: null,
    });
    const network = await docker.getNetwork(lab.network.name).inspect();
    expect(network.Internal).toBe(true);
    expect(network.Labels).toMatchObject({ 'sessionkeeper.lab': lab.id, 'sessionkeeper.scope': APP.scope, 'sessionkeeper.user': 'ada' });
    // Inside the lab: the attacker, given NET_RAW back, pings the target and reads its web server; the target has no capability.
    const [attacker, target] = (await example.labs.get(lab.id))!.containers;
    expect(await labShell(docker, attacker!.id!, `ping -c 1 -W 2 ${target!.ip}`)).toMatchObject({ code: 0 });
    expect((await labShell(docker, attacker!.id!, `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 ${target!.ip} 80`)).output).toMatch(/^HTTP\/1\.[01] /);
    expect((await labShell(docker, target!.id!, 'grep CapEff /proc/self/status')).output).toMatch(/CapEff:\s+0{16}/);

    // maxLabsPerUser: 1
    const second = await send('POST', '/api/v1/me/labs', { template: 'web-pentest' });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ error: { code: 'LAB_LIMIT' } });

    const list = await send('GET', '/api/v1/me/labs');
    expect(list.status).toBe(200);
    expect((list.body!.labs as LabView[]).map((l) => l.id)).toEqual([lab.id]);

    const stats = await send('GET', `/api/v1/me/labs/${lab.id}/stats`);
    expect(stats.status).toBe(200);
    const view = stats.body!.stats as LabStatsView;
    expect(view.containers.map((c) => c.name)).toEqual(['attacker', 'target']);
    for (const c of view.containers) {
      expect(c.memoryLimitBytes).toBe(64 * 1024 * 1024);
      expect(c.memoryBytes).toBeGreaterThan(0);
      expect(c.pids).toBeGreaterThanOrEqual(1);
    }
    expect(view.network.endpoints.map((e) => e.ip).sort()).toEqual([`${base}.10`, `${base}.20`]);

    const extended = await send('POST', `/api/v1/me/labs/${lab.id}/extend`, { by: '30m' });
    expect(extended.status).toBe(200);
    const after = extended.body!.lab as LabView;
    expect(after.extensions).toBe(1);
    expect(Date.parse(after.expiresAt) - Date.parse(lab.expiresAt)).toBe(30 * 60_000);

    const logout = await send('POST', '/logout');
    expect(logout.status).toBe(204);
    expect((await send('GET', '/api/v1/me/labs')).status).toBe(401);

    const stopped = await until(async () => {
      const current = await example.labs.get(lab.id);
      return current?.status === 'stopped' ? current : null;
    });
    expect(stopped).toMatchObject({ status: 'stopped', stopReason: 'session-revoked', subnetHeld: false });
    const filters = { label: [`sessionkeeper.lab=${lab.id}`] };
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect(await docker.listNetworks({ filters })).toEqual([]);
  });

  it('npm run lab (examples/labs/run.ts) walks through a lab and exits 0 with nothing left on Docker', async () => {
    const run = await runScript({ LAB_IMAGE, LAB_POOL: SCRIPT.addressPool, LAB_SCOPE: SCRIPT.scope });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toContain('signed in as ada');
    expect(out).toMatch(/started lab lab_\S+ from web-pentest: active, expires in 2h 00m/);
    expect(out).toMatch(/subnet 10\.202\.\d+\.0\/24 {2}gateway 10\.202\.\d+\.1/);
    expect(out).toMatch(/attacker +10\.202\.\d+\.10 /);
    expect(out).toMatch(/target +10\.202\.\d+\.20 /);
    expect(out).toMatch(/attacker +cpu [\d.]+% {2}mem .+ \/ 64\.0 MiB {2}rx .+ {2}tx /);
    expect(out).toContain('extended by 30m: expires in 2h 30m (extension 1 of 3)');
    expect(out).toMatch(/: stopped \(stopReason session-revoked\)/);
    expect(out).toContain(': 0 containers, 0 networks');
  }, 90_000);

  it('run.ts prints a one-line hint and exits 1 when no Docker engine answers', async () => {
    const run = await runScript({ DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, LAB_SCOPE: SCRIPT.scope });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining('bash scripts/docker-engine.sh')]);
  });
});

// --- internal ---

function runScript(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/labs/run.ts'],
      { cwd: root, env: { ...process.env, ...env }, timeout: 80_000, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr }),
    );
  });
}

async function until<T>(probe: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
