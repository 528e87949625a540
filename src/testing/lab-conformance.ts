import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { invalidArgument, invalidConfig } from '../errors.js';
import { LabError } from '../labs/errors.js';
import type { Lab, LabContainer, LabLimits, LabQuery, LabStore, NewLabRecord } from '../labs/types.js';
import { expectError } from './conformance/harness.js';

/** A lab store under test and the store that owns it (whose `close()` closes the lab store too). */
export interface LabStoreUnderTest {
  readonly labs: LabStore;
  close(): Promise<void>;
}

/** How {@link runLabStoreConformance} obtains and disposes of the lab store under test. */
export interface LabStoreConformanceOptions {
  /** Returns a fresh, migrated store with no labs, for one test. Called once per test. */
  createStore: () => Promise<LabStoreUnderTest> | LabStoreUnderTest;
  /** Optional: called after each test, once the suite closed the store (e.g. to drop a schema). */
  destroyStore?: (store: LabStoreUnderTest) => Promise<void> | void;
  /**
   * Optional: a second, independent store over the SAME backing data (separate connection/pool),
   * for the cross-process allocation test. Omit for the memory store. The suite closes it after the test.
   */
  createPeerStore?: (store: LabStoreUnderTest) => Promise<LabStoreUnderTest> | LabStoreUnderTest;
}

/**
 * Registers the lab storage conformance suite with vitest: every behaviour of the {@link LabStore}
 * contract that a provisioner relies on (atomic caps and subnet allocation, compare-and-set updates,
 * listing order, batched deletes, `CLOSED` after close). Call it at the top level of a test file,
 * once per store configuration. The peer-store test is reported as skipped without `createPeerStore`.
 *
 * @example
 * import { runLabStoreConformance } from 'sessionkeeper/testing';
 * import { memoryStore } from 'sessionkeeper/memory';
 *
 * runLabStoreConformance('memory', { createStore: () => memoryStore() });
 */
export function runLabStoreConformance(name: string, options: LabStoreConformanceOptions): void {
  if (options === null || typeof options !== 'object' || typeof options.createStore !== 'function') {
    invalidConfig('runLabStoreConformance: options.createStore', 'must be a function');
  }
  describe(`LabStore conformance: ${name}`, () => {
    let current: { harness: LabHarness; teardown: () => Promise<void> } | undefined;
    beforeEach(async () => {
      current = await openHarness(options);
    });
    afterEach(async () => {
      const opened = current;
      current = undefined;
      await opened?.teardown();
    });
    const t = (): LabHarness => {
      if (current === undefined) throw invalidArgument('the lab conformance harness was used outside a test');
      return current.harness;
    };
    describeLabs(t, options);
  });
}

// --- internal ---

const START = Date.parse('2030-01-01T00:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface LabHarness {
  /** The lab store under test. */
  readonly labs: LabStore;
  /** Closes the store under test (the suite's teardown then does nothing more to it). */
  close(): Promise<void>;
  /** The lab store of a new peer store (`createPeerStore`) of the same backing data, closed after the test. */
  peerLabs(): Promise<LabStore>;
  /** A user id unique to this test run, so that a shared backend would not mix tests. */
  user(label?: string): string;
}

async function openHarness(options: LabStoreConformanceOptions): Promise<{ harness: LabHarness; teardown: () => Promise<void> }> {
  const store = await options.createStore();
  const peers: LabStoreUnderTest[] = [];
  // A peer may be the store itself: close each once.
  const closing = new Map<LabStoreUnderTest, Promise<void>>();
  const closeOnce = (target: LabStoreUnderTest): Promise<void> => {
    let done = closing.get(target);
    if (done === undefined) {
      done = Promise.resolve().then(() => target.close());
      closing.set(target, done);
    }
    return done;
  };
  const harness: LabHarness = {
    labs: store.labs,
    close: () => closeOnce(store),
    async peerLabs() {
      if (options.createPeerStore === undefined) invalidConfig('createPeerStore', 'is needed by this test');
      const peer = await options.createPeerStore(store);
      peers.push(peer);
      return peer.labs;
    },
    user: (label = 'user') => `${label}-${randomBytes(6).toString('hex')}`,
  };
  const teardown = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const target of [...peers, store]) await closeOnce(target).catch((err: unknown) => failures.push(err));
    if (options.destroyStore !== undefined) await options.destroyStore(store);
    if (failures.length > 0) throw failures[0];
  };
  return { harness, teardown };
}

function describeLabs(t: () => LabHarness, options: LabStoreConformanceOptions): void {
  describe('lab storage', () => {
    describeInserts(t, options);
    describeLimits(t);
    describeUpdates(t);
    describeQueries(t);
  });
}

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

const insert = (store: LabStore, userId: string, overrides: Partial<NewLabRecord> = {}, limits = NO_LIMITS): Promise<Lab> =>
  store.insertLab(userId, limits, lowestFree(userId, overrides));

/** Ends a lab as a teardown does: stopped (or failed), then its subnet released. */
const end = async (store: LabStore, lab: Lab, at: number, status: 'stopped' | 'failed' = 'stopped'): Promise<Lab> => {
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
async function allocateAtOnce(h: LabHarness, stores: LabStore[]): Promise<void> {
  const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => insert(stores[i % stores.length]!, h.user())));
  const won = settled.filter((r): r is PromiseFulfilledResult<Lab> => r.status === 'fulfilled').map((r) => r.value);
  const lost = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  expect(won).toHaveLength(10);
  expect(new Set(won.map((lab) => lab.network.subnet))).toEqual(new Set(POOL));
  expect(lost).toHaveLength(10);
  for (const err of lost) expect(err instanceof LabError && err.code, String(err)).toBe('POOL_EXHAUSTED');
  const held = await h.labs.listLabs({ subnetHeld: true });
  expect(held.map((lab) => lab.network.subnet).sort()).toEqual([...POOL].sort());
}


function describeInserts(t: () => LabHarness, options: LabStoreConformanceOptions): void {
  it('insertLab stores a provisioning lab holding its subnet, and getLab returns it equal', async () => {
    const h = t();
    const userId = h.user();
    const record = labRecord(userId, POOL[0]!, { createdAt: START + 5, expiresAt: START + 2 * HOUR });
    const lab = await h.labs.insertLab(userId, NO_LIMITS, () => record);
    expect(lab).toEqual({
      ...record,
      status: 'provisioning',
      updatedAt: START + 5,
      extensions: 0,
      stopReason: null,
      error: null,
      subnetHeld: true,
    });
    expect(await h.labs.getLab(lab.id)).toEqual(lab);
    expect(await h.labs.getLab('lab_missing')).toBeNull();
  });

  it('build receives exactly the subnets other labs hold, whoever owns them, and none they released', async () => {
    const h = t();
    const [alice, bob] = [h.user('alice'), h.user('bob')];
    await insert(h.labs, alice); // POOL[0]
    await insert(h.labs, bob); // POOL[1]
    await end(h.labs, await insert(h.labs, alice), START + MINUTE); // POOL[2], released
    // Stopped but still holding its subnet (the network is not gone yet): still held.
    const stopped = await insert(h.labs, bob); // POOL[2] again
    await h.labs.updateLab(stopped.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'stopped' });
    let seen: string[] = [];
    const lab = await h.labs.insertLab(alice, NO_LIMITS, (held) => {
      seen = [...held].sort();
      return lowestFree(alice)(held);
    });
    expect(seen).toEqual([POOL[0], POOL[1], POOL[2]]);
    expect(lab.network.subnet).toBe(POOL[3]);
  });

  it('a LabError thrown by build propagates unchanged and nothing is written', async () => {
    const h = t();
    const userId = h.user();
    const thrown = new LabError('POOL_EXHAUSTED', 'Every subnet of the pool is held');
    let caught: unknown;
    await h.labs
      .insertLab(userId, NO_LIMITS, () => {
        throw thrown;
      })
      .catch((err: unknown) => (caught = err));
    expect(caught).toBe(thrown);
    expect(await h.labs.listLabs({})).toEqual([]);
  });

  it('insertLab refuses a record whose subnet another lab holds, and writes nothing', async () => {
    const h = t();
    const userId = h.user();
    await insert(h.labs, userId);
    const duplicate = labRecord(userId, POOL[0]!);
    await expect(h.labs.insertLab(userId, NO_LIMITS, () => duplicate)).rejects.toThrow();
    expect(await h.labs.getLab(duplicate.id)).toBeNull();
    expect(await h.labs.listLabs({})).toHaveLength(1);
  });

  it('20 concurrent inserts on a 10-subnet pool: 10 labs on 10 distinct subnets, 10 POOL_EXHAUSTED', async () => {
    const h = t();
    await allocateAtOnce(h, [h.labs]);
  });

  it.runIf(options.createPeerStore !== undefined)('10 + 10 concurrent inserts through two stores over the same data share one pool (createPeerStore)', async () => {
    const h = t();
    await allocateAtOnce(h, [h.labs, await h.peerLabs()]);
  });

}

function describeLimits(t: () => LabHarness): void {
  it('maxPerUser: a user with that many live labs gets LAB_LIMIT without build being called; ended labs and other users do not count', async () => {
    const h = t();
    const limits: LabLimits = { maxPerUser: 1, maxTotal: 100 };
    const [alice, bob] = [h.user('alice'), h.user('bob')];
    const first = await insert(h.labs, alice, {}, limits);
    let built = 0;
    const refused = () => h.labs.insertLab(alice, limits, (held) => (built++, lowestFree(alice)(held)));
    const err = await expectLabError(refused, 'LAB_LIMIT');
    expect(err.details).toEqual({ limit: 'maxLabsPerUser', max: 1 });
    expect(built).toBe(0);
    await insert(h.labs, bob, {}, limits);
    // A stopping lab is still live.
    await h.labs.updateLab(first.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'stopping' });
    await expectLabError(refused, 'LAB_LIMIT');
    await h.labs.updateLab(first.id, { statuses: ['stopping'] }, { updatedAt: START + 2 * MINUTE, status: 'stopped' });
    await insert(h.labs, alice, {}, limits);
    expect(await h.labs.listLabs({ userId: alice })).toHaveLength(2);
  });

  it('maxTotal: with that many live labs every user gets LAB_LIMIT; ended labs do not count', async () => {
    const h = t();
    const limits: LabLimits = { maxPerUser: 100, maxTotal: 2 };
    const first = await insert(h.labs, h.user(), {}, limits);
    await insert(h.labs, h.user(), {}, limits);
    const carol = h.user('carol');
    const err = await expectLabError(() => insert(h.labs, carol, {}, limits), 'LAB_LIMIT');
    expect(err.details).toEqual({ limit: 'maxLabsTotal', max: 2 });
    await end(h.labs, first, START + MINUTE, 'failed');
    await insert(h.labs, carol, {}, limits);
    expect(await h.labs.listLabs({})).toHaveLength(3);
  });

}

function describeUpdates(t: () => LabHarness): void {
  it('updateLab is a compare-and-set: a lab in another status is left alone; a match applies the changes and sets updatedAt', async () => {
    const h = t();
    const lab = await insert(h.labs, h.user());
    expect(await h.labs.updateLab(lab.id, { statuses: ['active', 'stopping'] }, { updatedAt: START + 1, status: 'stopped' })).toBeNull();
    expect(await h.labs.updateLab('lab_missing', { statuses: ['provisioning'] }, { updatedAt: START + 1, status: 'active' })).toBeNull();
    expect(await h.labs.getLab(lab.id)).toEqual(lab);

    const containers: LabContainer[] = lab.containers.map((c, i) => ({ ...c, id: `ctr${i}` }));
    const active = await h.labs.updateLab(lab.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'active', networkId: 'net1', containers });
    expect(active).toEqual({ ...lab, status: 'active', updatedAt: START + MINUTE, network: { ...lab.network, id: 'net1' }, containers });
    expect(await h.labs.getLab(lab.id)).toEqual(active);

    // Fields a change leaves out keep their values.
    const stopping = await h.labs.updateLab(lab.id, { statuses: ['provisioning', 'active', 'stopping'] }, { updatedAt: START + 2 * MINUTE, status: 'stopping', stopReason: 'idle' });
    expect(stopping).toEqual({ ...active, status: 'stopping', updatedAt: START + 2 * MINUTE, stopReason: 'idle' });
    const stopped = await h.labs.updateLab(lab.id, { statuses: ['stopping'] }, { updatedAt: START + 3 * MINUTE, status: 'stopped', releaseSubnet: true });
    expect(stopped).toEqual({ ...stopping, status: 'stopped', updatedAt: START + 3 * MINUTE, subnetHeld: false });

    const failing = await insert(h.labs, h.user());
    const error = { message: 'image not found: ünïcödé', statusCode: 404, container: 'target' };
    const failed = await h.labs.updateLab(failing.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'failed', error, releaseSubnet: true });
    expect(failed).toEqual({ ...failing, status: 'failed', updatedAt: START + MINUTE, error, subnetHeld: false });
    expect(await h.labs.getLab(failing.id)).toEqual(failed);
  });

  it('updateLab with an extensions expectation: of two concurrent extends expecting 0, exactly one applies', async () => {
    const h = t();
    const lab = await insert(h.labs, h.user());
    await h.labs.updateLab(lab.id, { statuses: ['provisioning'] }, { updatedAt: START, status: 'active' });
    const extend = (expected: number, expiresAt: number) =>
      h.labs.updateLab(lab.id, { statuses: ['active'], extensions: expected }, { updatedAt: START + MINUTE, expiresAt, extensions: expected + 1 });
    const results = await Promise.all([extend(0, START + 2 * HOUR), extend(0, START + 3 * HOUR)]);
    const applied = results.filter((r) => r !== null);
    expect(applied).toHaveLength(1);
    expect(applied[0]).toMatchObject({ extensions: 1 });
    expect(await h.labs.getLab(lab.id)).toEqual(applied[0]);
    expect(await extend(0, START + 4 * HOUR)).toBeNull();
    expect(await extend(1, START + 4 * HOUR)).toMatchObject({ extensions: 2, expiresAt: START + 4 * HOUR });
  });

  it("releaseSubnet makes the subnet available to the next insert's build", async () => {
    const h = t();
    const userId = h.user();
    const labs: Lab[] = [];
    for (let i = 0; i < POOL.length; i++) labs.push(await insert(h.labs, userId));
    await expectLabError(() => insert(h.labs, userId), 'POOL_EXHAUSTED');
    const freed = await end(h.labs, labs[4]!, START + MINUTE);
    expect(freed).toMatchObject({ subnetHeld: false, network: { subnet: POOL[4] } });
    expect((await insert(h.labs, userId)).network.subnet).toBe(POOL[4]);
  });

}

function describeQueries(t: () => LabHarness): void {
  it('listLabs filters by user, session, statuses and subnetHeld, oldest first (then by id)', async () => {
    const h = t();
    const [alice, bob] = [h.user('alice'), h.user('bob')];
    const suffix = randomBytes(4).toString('hex');
    // Inserted out of order; two share createdAt, so the id decides (code-unit order: 'B' < 'a').
    const late = await insert(h.labs, alice, { createdAt: START + 2 * MINUTE, sessionId: 'ses_a' });
    const tiedA = await insert(h.labs, bob, { id: `lab_a${suffix}`, createdAt: START + MINUTE, sessionId: 'ses_b' });
    const early = await insert(h.labs, alice, { createdAt: START, sessionId: 'ses_a' });
    const tiedB = await insert(h.labs, alice, { id: `lab_B${suffix}`, createdAt: START + MINUTE, sessionId: 'ses_c' });
    await h.labs.updateLab(early.id, { statuses: ['provisioning'] }, { updatedAt: START + 3 * MINUTE, status: 'active' });
    await end(h.labs, late, START + 3 * MINUTE);
    const listed = async (query: LabQuery) => (await h.labs.listLabs(query)).map((lab) => lab.id);

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
    expect(await h.labs.listLabs({ userId: alice })).toEqual([await h.labs.getLab(early.id), await h.labs.getLab(tiedB.id), await h.labs.getLab(late.id)]);
  });

  it('deleteLabsEndedBefore deletes at most `limit` stopped or failed labs that released their subnet before the cutoff', async () => {
    const h = t();
    const userId = h.user();
    const cutoff = START + 10 * MINUTE;
    const gone = [
      await end(h.labs, await insert(h.labs, userId), START + MINUTE),
      await end(h.labs, await insert(h.labs, userId), START + 2 * MINUTE, 'failed'),
      await end(h.labs, await insert(h.labs, userId), cutoff - 1),
    ];
    const atCutoff = await end(h.labs, await insert(h.labs, userId), cutoff);
    const stillHeld = await insert(h.labs, userId);
    await h.labs.updateLab(stillHeld.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'stopped' });
    const active = await insert(h.labs, userId);
    await h.labs.updateLab(active.id, { statuses: ['provisioning'] }, { updatedAt: START + MINUTE, status: 'active' });
    const provisioning = await insert(h.labs, userId);

    expect(await h.labs.deleteLabsEndedBefore(cutoff, 2)).toBe(2);
    expect(await h.labs.deleteLabsEndedBefore(cutoff, 2)).toBe(1);
    expect(await h.labs.deleteLabsEndedBefore(cutoff, 2)).toBe(0);
    for (const lab of gone) expect(await h.labs.getLab(lab.id)).toBeNull();
    expect((await h.labs.listLabs({})).map((lab) => lab.id).sort()).toEqual([atCutoff.id, stillHeld.id, active.id, provisioning.id].sort());
  });

  it('after close() every lab method throws CLOSED', async () => {
    const h = t();
    const lab = await insert(h.labs, h.user());
    await h.close();
    await expectError(() => insert(h.labs, h.user()), 'CLOSED', 'insertLab');
    await expectError(() => h.labs.updateLab(lab.id, { statuses: ['provisioning'] }, { updatedAt: START, status: 'active' }), 'CLOSED', 'updateLab');
    await expectError(() => h.labs.getLab(lab.id), 'CLOSED', 'getLab');
    await expectError(() => h.labs.listLabs({}), 'CLOSED', 'listLabs');
    await expectError(() => h.labs.deleteLabsEndedBefore(START, 10), 'CLOSED', 'deleteLabsEndedBefore');
  });
}
