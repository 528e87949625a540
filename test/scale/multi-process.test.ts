/**
 * Several app servers on one store, as an operator runs them: three processes of the Express test
 * app (test/support/scale-app.ts), each with its own manager, on one Redis key prefix or one
 * Postgres database, spoken to only over HTTP on 127.0.0.1. A session is one session whichever
 * process started, listed or revoked it, and the per-user limit holds across processes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROME_WINDOWS, expectError, HttpTestClient, SAFARI_IPHONE, type AdapterServer } from '../../src/http/testing/index.js';
import { SESSIONS_PREFIX } from '../http/servers.js';
import { startChild, type Child } from '../support/child-process.js';
import { probePostgres, probeRedis, serviceGate } from '../support/services.js';
import { createSharedStore, type SharedStore, type SharedStoreKind } from '../support/shared-store.js';

const STORES: [SharedStoreKind, boolean][] = [
  ['redis', serviceGate('Redis', await probeRedis())],
  ['postgres', serviceGate('PostgreSQL', await probePostgres())],
];
const LIMIT = 3;
/** Sign-ins of one user sent at once, spread round-robin over the three processes. */
const BURST = 30;

/** One app process and a client for it. */
interface App {
  readonly name: string;
  readonly child: Child;
  readonly client: HttpTestClient;
}

interface SessionView {
  id: string;
  current: boolean;
  status: string;
  device: { class: string; browser: string | null; os: string | null } | null;
}

for (const [kind, reachable] of STORES) {
  describe.runIf(reachable)(`three app processes on one ${kind}`, () => {
    let shared: SharedStore;
    const children: Child[] = [];
    /** maxSessionsPerUser 3, onLimit 'evict-oldest'. */
    let apps: App[];
    /** maxSessionsPerUser 3, onLimit 'reject'. */
    let rejecting: App[];

    const start = async (name: string, env: Record<string, string>): Promise<App> => {
      const child = startChild('scale-app.ts', { ...shared.env, ...env });
      children.push(child);
      const { url } = await child.next<{ url: string }>('ready', 40_000);
      const server: AdapterServer = { url, close: () => child.kill() };
      return { name, child, client: new HttpTestClient(server) };
    };
    const cluster = (env: Record<string, string>) => Promise.all(['A', 'B', 'C'].map((name) => start(name, env)));
    const evicting = { SK_MAX_SESSIONS: String(LIMIT), SK_ON_LIMIT: 'evict-oldest' };

    beforeAll(async () => {
      shared = await createSharedStore(kind, 'scale');
      [apps, rejecting] = await Promise.all([cluster(evicting), cluster({ SK_MAX_SESSIONS: String(LIMIT), SK_ON_LIMIT: 'reject' })]);
    }, 90_000);
    afterAll(async () => {
      await Promise.all(children.map((child) => child.kill()));
      await shared?.destroy();
    });

    const list = async (app: App, cookie: string): Promise<SessionView[]> => {
      const reply = await app.client.get(SESSIONS_PREFIX, { cookie });
      expect(reply.status, `${app.name} GET ${SESSIONS_PREFIX}`).toBe(200);
      return (reply.body as { sessions: SessionView[] }).sessions;
    };
    /** The status of `GET /protected` with `cookie` on each app, keyed by the app's name. */
    const statuses = async (cookie: string, on: App[] = apps): Promise<Record<string, number>> =>
      Object.fromEntries(await Promise.all(on.map(async (app) => [app.name, (await app.client.get('/protected', { cookie })).status])));
    const activeInStore = (userId: string) => shared.store.countActive(userId, Date.now());

    it('a session signed in on A is listed on B with its device, and validates on all three', async () => {
      const [a, b] = apps;
      const session = await a!.client.login('alice', CHROME_WINDOWS);
      expect(await statuses(session.cookie)).toEqual({ A: 200, B: 200, C: 200 });
      const listed = await list(b!, session.cookie);
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ id: session.id, current: true, status: 'active', device: { class: 'desktop', browser: 'Chrome', os: 'Windows' } });
    });

    it('revoked through C (DELETE /:id), it is refused at the next request on A and on B', async () => {
      const [a, b, c] = apps;
      const desktop = await a!.client.login('bob', CHROME_WINDOWS);
      const phone = await c!.client.login('bob', SAFARI_IPHONE);
      expect((await list(b!, desktop.cookie)).map((s) => s.id).sort()).toEqual([desktop.id, phone.id].sort());

      const revoked = await c!.client.delete(`${SESSIONS_PREFIX}/${desktop.id}`, { cookie: phone.cookie, ua: SAFARI_IPHONE });
      expect(revoked.status).toBe(200);
      expect((revoked.body as { session: SessionView }).session).toMatchObject({ id: desktop.id, status: 'revoked', current: false });

      expectError(await a!.client.get('/protected', { cookie: desktop.cookie }), 401, 'UNAUTHENTICATED');
      expectError(await b!.client.get('/protected', { cookie: desktop.cookie }), 401, 'UNAUTHENTICATED');
      expect(await statuses(phone.cookie)).toEqual({ A: 200, B: 200, C: 200 });
      expect((await list(a!, phone.cookie)).map((s) => s.id)).toEqual([phone.id]);
      expect(await activeInStore('bob')).toBe(1);
    });

    it('revoke-others through C ends the sessions signed in on A and B, everywhere, and keeps C\'s', async () => {
      const [a, b, c] = apps;
      const onA = await a!.client.login('carol', CHROME_WINDOWS);
      const onB = await b!.client.login('carol', CHROME_WINDOWS);
      const onC = await c!.client.login('carol', SAFARI_IPHONE);
      expect(await list(a!, onC.cookie)).toHaveLength(3);

      const reply = await c!.client.post(`${SESSIONS_PREFIX}/revoke-others`, { cookie: onC.cookie });
      expect(reply.body).toEqual({ revoked: 2 });
      expect(await statuses(onA.cookie)).toEqual({ A: 401, B: 401, C: 401 });
      expect(await statuses(onB.cookie)).toEqual({ A: 401, B: 401, C: 401 });
      expect(await statuses(onC.cookie)).toEqual({ A: 200, B: 200, C: 200 });
      expect((await list(b!, onC.cookie)).map((s) => s.id)).toEqual([onC.id]);
    });

    it(`'reject': ${BURST} concurrent sign-ins over the three processes start exactly ${LIMIT}, and the store never holds more`, async () => {
      const user = 'dave';
      const sampled = sampleActive(() => activeInStore(user));
      const replies = await Promise.all(Array.from({ length: BURST }, (_, i) => rejecting[i % 3]!.client.post('/login', { body: { userId: user } })));
      const most = await sampled.stop();

      const started = replies.filter((r) => r.status === 200).map((r) => r.body as { id: string; token: string });
      expect(started).toHaveLength(LIMIT);
      for (const refused of replies.filter((r) => r.status !== 200)) expectError(refused, 429, 'SESSION_LIMIT');
      expect(most).toBeLessThanOrEqual(LIMIT);
      // Nothing written for the refused ones: not even an ended session.
      expect((await shared.store.listByUser(user)).map((s) => s.id).sort()).toEqual(started.map((s) => s.id).sort());
      for (const app of rejecting) {
        expect((await list(app, `sid=${started[0]!.token}`)).map((s) => s.id).sort()).toEqual(started.map((s) => s.id).sort());
      }

      // Room made on one process is room on the others.
      expectError(await rejecting[2]!.client.post('/login', { body: { userId: user } }), 429, 'SESSION_LIMIT');
      expect((await rejecting[1]!.client.delete(`${SESSIONS_PREFIX}/${started[0]!.id}`, { cookie: `sid=${started[1]!.token}` })).status).toBe(200);
      expect((await rejecting[2]!.client.post('/login', { body: { userId: user } })).status).toBe(200);
      expect(await activeInStore(user)).toBe(LIMIT);
    });

    it(`'evict-oldest': ${BURST} concurrent sign-ins over the three processes all succeed, ${LIMIT} stay, the evicted are refused everywhere`, async () => {
      const user = 'erin';
      const sampled = sampleActive(() => activeInStore(user));
      const replies = await Promise.all(Array.from({ length: BURST }, (_, i) => apps[i % 3]!.client.post('/login', { body: { userId: user } })));
      const most = await sampled.stop();

      expect(replies.map((r) => r.status)).toEqual(Array(BURST).fill(200));
      expect(most).toBeLessThanOrEqual(LIMIT);
      const issued = replies.map((r) => r.body as { id: string; token: string });
      const active = (await shared.store.listByUser(user, Date.now())).map((s) => s.id).sort();
      expect(active).toHaveLength(LIMIT);
      const survivors = issued.filter((s) => active.includes(s.id));
      expect(survivors.map((s) => s.id).sort()).toEqual(active);
      for (const app of apps) expect((await list(app, `sid=${survivors[0]!.token}`)).map((s) => s.id).sort()).toEqual(active);
      for (const survivor of survivors) expect(await statuses(`sid=${survivor.token}`)).toEqual({ A: 200, B: 200, C: 200 });
      const evicted = issued.filter((s) => !active.includes(s.id));
      const refused = await Promise.all(evicted.map((s, i) => apps[i % 3]!.client.get('/protected', { cookie: `sid=${s.token}` })));
      expect(refused.map((r) => r.status)).toEqual(Array(BURST - LIMIT).fill(401));
    });

    it('a process killed and started again validates its clients\' sessions, and sees what changed while it was down', async () => {
      const [a, b] = apps;
      const kept = await b!.client.login('frank', CHROME_WINDOWS);
      const other = await b!.client.login('frank', SAFARI_IPHONE);
      await b!.child.kill();
      expect((await a!.client.delete(`${SESSIONS_PREFIX}/${other.id}`, { cookie: kept.cookie })).status).toBe(200);

      const restarted = await start('B', evicting);
      apps[1] = restarted;
      expect(await statuses(kept.cookie)).toEqual({ A: 200, B: 200, C: 200 });
      expectError(await restarted.client.get('/protected', { cookie: other.cookie }), 401, 'UNAUTHENTICATED');
      expect((await list(restarted, kept.cookie)).map((s) => s.id)).toEqual([kept.id]);
    });
  });
}

/**
 * Polls `count` back to back until `stop()`, which resolves the largest count seen (the last poll
 * runs after the burst has settled, so at least one sample sees the final state).
 */
function sampleActive(count: () => Promise<number>): { stop(): Promise<number> } {
  let running = true;
  let most = 0;
  const loop = (async () => {
    while (running) {
      most = Math.max(most, await count());
      await sleep(1);
    }
    most = Math.max(most, await count());
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return most;
    },
  };
}
