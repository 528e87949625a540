import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { storeCapabilities, type ActivityStore, type AlertStore, type SessionStore as RequiredSessionStore } from '../contracts.js';
import { LabError, type Lab, type LabContainer, type LabLimits, type LabStore, type NewLabRecord } from '../labs/types.js';
import { describeActivity } from './conformance/activity.js';
import {
  checkSuiteOptions,
  expectError,
  HOUR,
  MINUTE,
  START,
  useHarness,
  type ConformanceOptions as SuiteOptions,
  type Harness as SuiteHarness,
} from './conformance/harness.js';
import { describeAlertGroups, describeSessionGroups } from './conformance/suites.js';

export { runActivityStoreConformance, runAlertStoreConformance, runSessionConformance } from './conformance/suites.js';
export type { CapabilityConformanceOptions } from './conformance/harness.js';

/** Which optional parts {@link runSessionStoreConformance} runs; each defaults to "detected". */
export interface ConformanceCapabilities {
  readonly activity?: boolean;
  readonly alerts?: boolean;
  readonly labs?: boolean;
}

/** How {@link runSessionStoreConformance} obtains and disposes of the store under test. */
export interface ConformanceOptions extends SuiteOptions {
  /**
   * Optional: which capability suites to run. Default: detected from one store that the suite
   * creates (and destroys) while it registers its tests, with `storeCapabilities()`.
   */
  capabilities?: ConformanceCapabilities;
}

/**
 * Registers the whole storage conformance suite with vitest: the session suite
 * (`runSessionConformance`) and the suite of every optional capability the store offers
 * (`runActivityStoreConformance`, `runAlertStoreConformance`, lab storage). A capability the store
 * lacks is reported as a skipped test whose title names it and why. Call it at the top level of a
 * test file (or inside a `describe`), once per store configuration.
 *
 * Tests that need an optional hook (`createPeerStore`, `dump`) are reported as skipped, with the hook
 * named in their title, when it is not given.
 *
 * @example
 * import { runSessionStoreConformance } from 'sessionkeeper/testing';
 * import { memoryStore } from 'sessionkeeper/memory';
 *
 * runSessionStoreConformance('memory', { createStore: () => memoryStore() });
 */
export function runSessionStoreConformance(name: string, options: ConformanceOptions): void {
  checkSuiteOptions(options, 'runSessionStoreConformance');
  describe(`SessionStore conformance: ${name}`, async () => {
    const found = await detectCapabilities(options);
    const t = useHarness(options);
    describeSessionGroups(t, options);
    for (const part of PARTS) {
      const reason = found.failure ?? (found.capabilities[part] ? null : MISSING[part]);
      if (reason !== null) it.skip(`${part}: skipped, ${reason}`, () => {});
      else if (part === 'activity') describeActivity(t as unknown as () => SuiteHarness<FullStore>);
      else if (part === 'alerts') describeAlertGroups(t as unknown as () => SuiteHarness<FullStore>, options);
      else describeLabs(t as unknown as () => Harness, options);
    }
  });
}

// --- internal ---

/** The store type of the lab storage group below (labs are still part of the built-in stores). */
type SessionStore = RequiredSessionStore & LabStore;
type Harness = SuiteHarness<SessionStore>;
type FullStore = RequiredSessionStore & ActivityStore & AlertStore;

const PARTS = ['activity', 'alerts', 'labs'] as const;
const MISSING: Readonly<Record<(typeof PARTS)[number], string>> = {
  activity: 'the store has no activity capability (ActivityStore: insertActivity, listActivity, deleteActivityBefore)',
  alerts: 'the store has no alerts capability (AlertStore: raiseAlert, listAlerts, setAlertStatus, deleteAlertsBefore, hitCounter, deleteCountersBefore)',
  labs: 'the store has no lab storage (LabStore: insertLab, updateLab, getLab, listLabs, deleteLabsEndedBefore)',
};
const LAB_METHODS = ['insertLab', 'updateLab', 'getLab', 'listLabs', 'deleteLabsEndedBefore'];

/** The capabilities to test: as given, else probed on one store made (and destroyed) for it. */
async function detectCapabilities(
  options: ConformanceOptions,
): Promise<{ capabilities: Required<ConformanceCapabilities>; failure: string | null }> {
  const given = options.capabilities ?? {};
  if (given.activity !== undefined && given.alerts !== undefined && given.labs !== undefined) {
    return { capabilities: { activity: given.activity, alerts: given.alerts, labs: given.labs }, failure: null };
  }
  try {
    const probe = await options.createStore();
    const detected = storeCapabilities(probe);
    const labs = LAB_METHODS.every((method) => typeof (probe as unknown as Record<string, unknown>)[method] === 'function');
    await probe.close();
    await options.destroyStore?.(probe);
    return {
      capabilities: { activity: given.activity ?? detected.activity, alerts: given.alerts ?? detected.alerts, labs: given.labs ?? labs },
      failure: null,
    };
  } catch (err) {
    // Reported in the skipped tests' titles; the session suite's own tests then show the failure.
    return { capabilities: { activity: false, alerts: false, labs: false }, failure: `the capability probe failed (${err instanceof Error ? err.message : String(err)})` };
  }
}

// --- groups ---

function describeLabs(t: () => Harness, options: ConformanceOptions): void {
  describe('lab storage', () => {
    const POOL = Array.from({ length: 10 }, (_, i) => `10.10.${i}.0/24`);
    const NO_LIMITS: LabLimits = { maxPerUser: 1_000, maxTotal: 1_000 };

    const labRecord = (userId: string, subnet: string, overrides: Partial<NewLabRecord> = {}): NewLabRecord => {
      const id = overrides.id ?? `lab_${randomBytes(8).toString('hex')}`;
      const net = subnet.slice(0, subnet.lastIndexOf('.'));
      return {
        id,
        sessionId: 'ses_1',
        userId,
        template: 'web',
        createdAt: START,
        expiresAt: START + HOUR,
        network: { name: `sk-lab-${id}`, id: null, subnet, gateway: `${net}.1` },
        containers: [
          { name: 'attacker', id: null, ip: `${net}.2`, image: 'kali:2024.1' },
          { name: 'target', id: null, ip: `${net}.3`, image: 'nginx:1.27' },
        ],
        ...overrides,
      };
    };

    /** A build as a provisioner's: the lowest subnet of the pool that no lab holds. */
    const lowestFree =
      (userId: string, overrides: Partial<NewLabRecord> = {}) =>
      (held: ReadonlySet<string>): NewLabRecord => {
        const subnet = POOL.find((candidate) => !held.has(candidate));
        if (subnet === undefined) throw new LabError('POOL_EXHAUSTED', 'Every subnet of the pool is held');
        return labRecord(userId, subnet, overrides);
      };

    const insert = (store: SessionStore, userId: string, overrides: Partial<NewLabRecord> = {}, limits = NO_LIMITS): Promise<Lab> =>
      store.insertLab(userId, limits, lowestFree(userId, overrides));

    /** Ends a lab as a teardown does: stopped (or failed), then its subnet released. */
    const end = async (store: SessionStore, lab: Lab, at: number, status: 'stopped' | 'failed' = 'stopped'): Promise<Lab> => {
      const ended = await store.updateLab(lab.id, { statuses: ['provisioning', 'active', 'stopping'] }, { updatedAt: at, status, releaseSubnet: true });
      expect(ended).not.toBeNull();
      return ended!;
    };

    async function expectLabError(action: () => unknown, code: LabError['code']): Promise<LabError> {
      let caught: unknown;
      try {
        await action();
      } catch (err) {
        caught = err;
      }
      expect(caught, `expected a LabError ${code}`).toBeInstanceOf(LabError);
      expect((caught as LabError).code).toBe(code);
      return caught as LabError;
    }

    /** 20 concurrent inserts round-robin over `stores`, each taking the lowest free subnet of a 10-subnet pool. */
    async function allocateAtOnce(h: Harness, stores: SessionStore[]): Promise<void> {
      const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => insert(stores[i % stores.length]!, h.user())));
      const won = settled.filter((r): r is PromiseFulfilledResult<Lab> => r.status === 'fulfilled').map((r) => r.value);
      const lost = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
      expect(won).toHaveLength(10);
      expect(new Set(won.map((lab) => lab.network.subnet))).toEqual(new Set(POOL));
      expect(lost).toHaveLength(10);
      for (const err of lost) expect(err instanceof LabError && err.code).toBe('POOL_EXHAUSTED');
      const held = await h.store.listLabs({ subnetHeld: true });
      expect(held.map((lab) => lab.network.subnet).sort()).toEqual([...POOL].sort());
    }

    it('insertLab stores a provisioning lab holding its subnet, and getLab returns it equal', async () => {
      const h = t();
      const userId = h.user();
      const record = labRecord(userId, POOL[0]!, { createdAt: START + 5, expiresAt: START + 2 * HOUR });
      const lab = await h.store.insertLab(userId, NO_LIMITS, () => record);
      expect(lab).toEqual({
        ...record,
        status: 'provisioning',
        updatedAt: START + 5,
        extensions: 0,
        stopReason: null,
        error: null,
        subnetHeld: true,
      });
      expect(await h.store.getLab(lab.id)).toEqual(lab);
      expect(await h.store.getLab('lab_missing')).toBeNull();
    });

    it('build receives exactly the subnets other labs hold, whoever owns them, and none they released', async () => {
      const h = t();
      const [alice, bob] = [h.user('alice'), h.user('bob')];
      await insert(h.store, alice); // POOL[0]
      await insert(h.store, bob); // POOL[1]
      await end(h.store, await insert(h.store, alice), START + MINUTE); // POOL[2], released
      // Stopped but still holding its subnet (the network is not gone yet): still held.
      const stopped = await insert(h.store, bob); // POOL[2] again
      await h.store.updateLab(stopped.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'stopped' });
      let seen: string[] = [];
      const lab = await h.store.insertLab(alice, NO_LIMITS, (held) => {
        seen = [...held].sort();
        return lowestFree(alice)(held);
      });
      expect(seen).toEqual([POOL[0], POOL[1], POOL[2]]);
      expect(lab.network.subnet).toBe(POOL[3]);
    });

    it('maxPerUser: a user with that many live labs gets LAB_LIMIT without build being called; ended labs and other users do not count', async () => {
      const h = t();
      const limits: LabLimits = { maxPerUser: 1, maxTotal: 100 };
      const [alice, bob] = [h.user('alice'), h.user('bob')];
      const first = await insert(h.store, alice, {}, limits);
      let built = 0;
      const refused = () => h.store.insertLab(alice, limits, (held) => (built++, lowestFree(alice)(held)));
      const err = await expectLabError(refused, 'LAB_LIMIT');
      expect(err.details).toEqual({ limit: 'maxLabsPerUser', max: 1 });
      expect(built).toBe(0);
      await insert(h.store, bob, {}, limits);
      // A stopping lab is still live.
      await h.store.updateLab(first.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'stopping' });
      await expectLabError(refused, 'LAB_LIMIT');
      await h.store.updateLab(first.id, { statuses: ['stopping'] }, { updatedAt: START + 2 * MINUTE, status: 'stopped' });
      await insert(h.store, alice, {}, limits);
      expect(await h.store.listLabs({ userId: alice })).toHaveLength(2);
    });

    it('maxTotal: with that many live labs every user gets LAB_LIMIT; ended labs do not count', async () => {
      const h = t();
      const limits: LabLimits = { maxPerUser: 100, maxTotal: 2 };
      const first = await insert(h.store, h.user(), {}, limits);
      await insert(h.store, h.user(), {}, limits);
      const carol = h.user('carol');
      const err = await expectLabError(() => insert(h.store, carol, {}, limits), 'LAB_LIMIT');
      expect(err.details).toEqual({ limit: 'maxLabsTotal', max: 2 });
      await end(h.store, first, START + MINUTE, 'failed');
      await insert(h.store, carol, {}, limits);
      expect(await h.store.listLabs({})).toHaveLength(3);
    });

    it('a LabError thrown by build propagates unchanged and nothing is written', async () => {
      const h = t();
      const userId = h.user();
      const thrown = new LabError('POOL_EXHAUSTED', 'Every subnet of the pool is held');
      let caught: unknown;
      await h.store
        .insertLab(userId, NO_LIMITS, () => {
          throw thrown;
        })
        .catch((err: unknown) => (caught = err));
      expect(caught).toBe(thrown);
      expect(await h.store.listLabs({})).toEqual([]);
    });

    it('insertLab refuses a record whose subnet another lab holds, and writes nothing', async () => {
      const h = t();
      const userId = h.user();
      await insert(h.store, userId);
      const duplicate = labRecord(userId, POOL[0]!);
      await expect(h.store.insertLab(userId, NO_LIMITS, () => duplicate)).rejects.toThrow();
      expect(await h.store.getLab(duplicate.id)).toBeNull();
      expect(await h.store.listLabs({})).toHaveLength(1);
    });

    it('20 concurrent inserts on a 10-subnet pool: 10 labs on 10 distinct subnets, 10 POOL_EXHAUSTED', async () => {
      const h = t();
      await allocateAtOnce(h, [h.store]);
    });

    it.runIf(options.createPeerStore !== undefined)('10 + 10 concurrent inserts through two stores over the same data share one pool (createPeerStore)', async () => {
      const h = t();
      await allocateAtOnce(h, [h.store, await h.peerStore()]);
    });

    it('updateLab is a compare-and-set: a lab in another status is left alone; a match applies the changes and sets updatedAt', async () => {
      const h = t();
      const lab = await insert(h.store, h.user());
      expect(await h.store.updateLab(lab.id, { statuses: ['active', 'stopping'] }, { updatedAt: START + 1, status: 'stopped' })).toBeNull();
      expect(await h.store.updateLab('lab_missing', { statuses: ['provisioning'] }, { updatedAt: START + 1, status: 'active' })).toBeNull();
      expect(await h.store.getLab(lab.id)).toEqual(lab);

      const containers: LabContainer[] = lab.containers.map((c, i) => ({ ...c, id: `ctr${i}` }));
      const active = await h.store.updateLab(lab.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'active', networkId: 'net1', containers });
      expect(active).toEqual({ ...lab, status: 'active', updatedAt: START + MINUTE, network: { ...lab.network, id: 'net1' }, containers });
      expect(await h.store.getLab(lab.id)).toEqual(active);

      // Fields a change leaves out keep their values.
      const stopping = await h.store.updateLab(lab.id, { statuses: ['provisioning', 'active', 'stopping'] }, { updatedAt: START + 2 * MINUTE, status: 'stopping', stopReason: 'idle' });
      expect(stopping).toEqual({ ...active, status: 'stopping', updatedAt: START + 2 * MINUTE, stopReason: 'idle' });
      const stopped = await h.store.updateLab(lab.id, { statuses: ['stopping'] }, { updatedAt: START + 3 * MINUTE, status: 'stopped', releaseSubnet: true });
      expect(stopped).toEqual({ ...stopping, status: 'stopped', updatedAt: START + 3 * MINUTE, subnetHeld: false });

      const failing = await insert(h.store, h.user());
      const error = { message: 'image not found: ünïcödé', statusCode: 404, container: 'target' };
      const failed = await h.store.updateLab(failing.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'failed', error, releaseSubnet: true });
      expect(failed).toEqual({ ...failing, status: 'failed', updatedAt: START + MINUTE, error, subnetHeld: false });
      expect(await h.store.getLab(failing.id)).toEqual(failed);
    });

    it('updateLab with an extensions expectation: of two concurrent extends expecting 0, exactly one applies', async () => {
      const h = t();
      const lab = await insert(h.store, h.user());
      await h.store.updateLab(lab.id, { statuses: ['provisioning'] }, { updatedAt: START, status: 'active' });
      const extend = (expected: number, expiresAt: number) =>
        h.store.updateLab(lab.id, { statuses: ['active'], extensions: expected }, { updatedAt: START + MINUTE, expiresAt, extensions: expected + 1 });
      const results = await Promise.all([extend(0, START + 2 * HOUR), extend(0, START + 3 * HOUR)]);
      const applied = results.filter((r) => r !== null);
      expect(applied).toHaveLength(1);
      expect(applied[0]).toMatchObject({ extensions: 1 });
      expect(await h.store.getLab(lab.id)).toEqual(applied[0]);
      expect(await extend(0, START + 4 * HOUR)).toBeNull();
      expect(await extend(1, START + 4 * HOUR)).toMatchObject({ extensions: 2, expiresAt: START + 4 * HOUR });
    });

    it("releaseSubnet makes the subnet available to the next insert's build", async () => {
      const h = t();
      const userId = h.user();
      const labs: Lab[] = [];
      for (let i = 0; i < POOL.length; i++) labs.push(await insert(h.store, userId));
      await expectLabError(() => insert(h.store, userId), 'POOL_EXHAUSTED');
      const freed = await end(h.store, labs[4]!, START + MINUTE);
      expect(freed).toMatchObject({ subnetHeld: false, network: { subnet: POOL[4] } });
      expect((await insert(h.store, userId)).network.subnet).toBe(POOL[4]);
    });

    it('listLabs filters by user, session, statuses and subnetHeld, oldest first (then by id)', async () => {
      const h = t();
      const [alice, bob] = [h.user('alice'), h.user('bob')];
      const suffix = randomBytes(4).toString('hex');
      // Inserted out of order; two share createdAt, so the id decides (code-unit order: 'B' < 'a').
      const late = await insert(h.store, alice, { createdAt: START + 2 * MINUTE, sessionId: 'ses_a' });
      const tiedA = await insert(h.store, bob, { id: `lab_a${suffix}`, createdAt: START + MINUTE, sessionId: 'ses_b' });
      const early = await insert(h.store, alice, { createdAt: START, sessionId: 'ses_a' });
      const tiedB = await insert(h.store, alice, { id: `lab_B${suffix}`, createdAt: START + MINUTE, sessionId: 'ses_c' });
      await h.store.updateLab(early.id, { statuses: ['provisioning'] }, { updatedAt: START + 3 * MINUTE, status: 'active' });
      await end(h.store, late, START + 3 * MINUTE);
      const listed = async (query: Parameters<SessionStore['listLabs']>[0]) => (await h.store.listLabs(query)).map((lab) => lab.id);

      expect(await listed({})).toEqual([early.id, tiedB.id, tiedA.id, late.id]);
      expect(await listed({ userId: alice })).toEqual([early.id, tiedB.id, late.id]);
      expect(await listed({ sessionId: 'ses_a' })).toEqual([early.id, late.id]);
      expect(await listed({ statuses: ['provisioning'] })).toEqual([tiedB.id, tiedA.id]);
      expect(await listed({ statuses: ['active', 'stopped'] })).toEqual([early.id, late.id]);
      expect(await listed({ statuses: ['provisioning', 'active', 'stopping'] })).toEqual([early.id, tiedB.id, tiedA.id]);
      expect(await listed({ subnetHeld: false })).toEqual([late.id]);
      expect(await listed({ subnetHeld: true })).toEqual([early.id, tiedB.id, tiedA.id]);
      expect(await listed({ userId: alice, statuses: ['provisioning', 'stopped'], subnetHeld: true })).toEqual([tiedB.id]);
      expect(await listed({ userId: bob, sessionId: 'ses_a' })).toEqual([]);
      expect(await h.store.listLabs({ userId: alice })).toEqual([await h.store.getLab(early.id), await h.store.getLab(tiedB.id), await h.store.getLab(late.id)]);
    });

    it('deleteLabsEndedBefore deletes at most `limit` stopped or failed labs that released their subnet before the cutoff', async () => {
      const h = t();
      const userId = h.user();
      const cutoff = START + 10 * MINUTE;
      const gone = [
        await end(h.store, await insert(h.store, userId), START + MINUTE),
        await end(h.store, await insert(h.store, userId), START + 2 * MINUTE, 'failed'),
        await end(h.store, await insert(h.store, userId), cutoff - 1),
      ];
      const atCutoff = await end(h.store, await insert(h.store, userId), cutoff);
      const stillHeld = await insert(h.store, userId);
      await h.store.updateLab(stillHeld.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'stopped' });
      const active = await insert(h.store, userId);
      await h.store.updateLab(active.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'active' });
      const provisioning = await insert(h.store, userId);

      expect(await h.store.deleteLabsEndedBefore(cutoff, 2)).toBe(2);
      expect(await h.store.deleteLabsEndedBefore(cutoff, 2)).toBe(1);
      expect(await h.store.deleteLabsEndedBefore(cutoff, 2)).toBe(0);
      for (const lab of gone) expect(await h.store.getLab(lab.id)).toBeNull();
      expect((await h.store.listLabs({})).map((lab) => lab.id).sort()).toEqual([atCutoff.id, stillHeld.id, active.id, provisioning.id].sort());
    });

    it('manager.cleanup() deletes the labs that ended more than olderThan ago', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const old = await end(h.store, await insert(h.store, userId), START + MINUTE);
      const recent = await end(h.store, await insert(h.store, userId), START + HOUR);
      const live = await insert(h.store, userId);
      h.clock.set(START + 90 * MINUTE); // cutoff START + 30m
      await m.cleanup({ olderThan: '1h' });
      expect(await h.store.getLab(old.id)).toBeNull();
      expect(await h.store.getLab(recent.id)).toEqual(recent);
      expect(await h.store.getLab(live.id)).toEqual(live);
    });

    it('after close() every lab method throws CLOSED', async () => {
      const h = t();
      const lab = await insert(h.store, h.user());
      await h.manager().close();
      await expectError(() => insert(h.store, h.user()), 'CLOSED', 'insertLab');
      await expectError(() => h.store.updateLab(lab.id, { statuses: ['provisioning'] }, { updatedAt: START, status: 'active' }), 'CLOSED', 'updateLab');
      await expectError(() => h.store.getLab(lab.id), 'CLOSED', 'getLab');
      await expectError(() => h.store.listLabs({}), 'CLOSED', 'listLabs');
      await expectError(() => h.store.deleteLabsEndedBefore(START, 10), 'CLOSED', 'deleteLabsEndedBefore');
    });
  });
}
