import type { EpochMs } from '../../../src/contracts.js';
import { invalidArgument } from '../../../src/errors.js';
import { deepFreeze } from '../../../src/metadata.js';
import { assertBelowLabLimits } from '../../../src/labs/errors.js';
import { LIVE_LAB_STATUSES, type Lab, type LabChanges, type LabExpectation, type LabLimits, type LabQuery, type LabStore, type NewLabRecord } from '../../../src/labs/types.js';

/**
 * The lab store of a memory store (`memoryStore().labs`): labs by id in this process, each method
 * atomic because it runs to completion without yielding. It opens and closes with its memory store.
 */
export class MemoryLabStore implements LabStore {
  /** Labs by id, oldest insert first; few enough that queries scan them all. */
  readonly #labs = new Map<string, Lab>();
  readonly #assertOpen: () => void;

  /** @param assertOpen throws `CLOSED` once the owning store is closed. */
  constructor(assertOpen: () => void) {
    this.#assertOpen = assertOpen;
  }

  async insertLab(userId: string, limits: LabLimits, build: (heldSubnets: ReadonlySet<string>) => NewLabRecord): Promise<Lab> {
    this.#assertOpen();
    let ofUser = 0;
    let total = 0;
    const held = new Set<string>();
    for (const lab of this.#labs.values()) {
      if (LIVE_LAB_STATUSES.includes(lab.status)) {
        total++;
        if (lab.userId === userId) ofUser++;
      }
      if (lab.subnetHeld) held.add(lab.network.subnet);
    }
    assertBelowLabLimits(ofUser, total, limits);
    const record = build(held);
    if (held.has(record.network.subnet)) throw invalidArgument(`insertLab: build returned subnet ${record.network.subnet}, which another lab holds`);
    if (this.#labs.has(record.id)) throw invalidArgument('A lab with this id already exists');
    const lab = freezeLab({ ...record, status: 'provisioning', updatedAt: record.createdAt, extensions: 0, stopReason: null, error: null, subnetHeld: true });
    this.#labs.set(lab.id, lab);
    return lab;
  }

  async updateLab(id: string, expected: LabExpectation, changes: LabChanges): Promise<Lab | null> {
    this.#assertOpen();
    const lab = this.#labs.get(id);
    if (lab === undefined || !expected.statuses.includes(lab.status)) return null;
    if (expected.extensions !== undefined && lab.extensions !== expected.extensions) return null;
    const updated = freezeLab({
      ...lab,
      status: changes.status ?? lab.status,
      network: changes.networkId === undefined ? lab.network : { ...lab.network, id: changes.networkId },
      containers: changes.containers ?? lab.containers,
      updatedAt: changes.updatedAt,
      expiresAt: changes.expiresAt ?? lab.expiresAt,
      extensions: changes.extensions ?? lab.extensions,
      stopReason: changes.stopReason ?? lab.stopReason,
      error: changes.error ?? lab.error,
      subnetHeld: changes.releaseSubnet === true ? false : lab.subnetHeld,
    });
    this.#labs.set(id, updated);
    return updated;
  }

  async getLab(id: string): Promise<Lab | null> {
    this.#assertOpen();
    return this.#labs.get(id) ?? null;
  }

  async listLabs(query: LabQuery): Promise<Lab[]> {
    this.#assertOpen();
    return [...this.#labs.values()]
      .filter(
        (lab) =>
          (query.userId === undefined || lab.userId === query.userId) &&
          (query.sessionId === undefined || lab.sessionId === query.sessionId) &&
          (query.statuses === undefined || query.statuses.includes(lab.status)) &&
          (query.subnetHeld === undefined || lab.subnetHeld === query.subnetHeld),
      )
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async deleteLabsEndedBefore(cutoff: EpochMs, limit: number): Promise<number> {
    this.#assertOpen();
    let deleted = 0;
    for (const [id, lab] of this.#labs) {
      if (deleted === limit) break;
      if ((lab.status === 'stopped' || lab.status === 'failed') && !lab.subnetHeld && lab.updatedAt < cutoff) {
        this.#labs.delete(id);
        deleted++;
      }
    }
    return deleted;
  }

  /** Drops every lab; the owning store's close() calls it. */
  clear(): void {
    this.#labs.clear();
  }
}

// --- internal ---

/**
 * Builds every stored lab with one property order, frozen, and detached from the caller's objects
 * (the network, containers and error may come straight from the caller).
 */
function freezeLab(lab: Lab): Lab {
  return Object.freeze({
    id: lab.id,
    sessionId: lab.sessionId,
    userId: lab.userId,
    template: lab.template,
    status: lab.status,
    network: Object.freeze({ name: lab.network.name, id: lab.network.id, subnet: lab.network.subnet, gateway: lab.network.gateway }),
    containers: deepFreeze(structuredClone(lab.containers)),
    createdAt: lab.createdAt,
    updatedAt: lab.updatedAt,
    expiresAt: lab.expiresAt,
    extensions: lab.extensions,
    stopReason: lab.stopReason,
    error: lab.error === null ? null : deepFreeze(structuredClone(lab.error)),
    subnetHeld: lab.subnetHeld,
  });
}
