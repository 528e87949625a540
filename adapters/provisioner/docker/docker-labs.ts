import type { Clock } from '../../../src/clock.js';
import type { Session } from '../../../src/contracts.js';
import { parseDuration, type Duration } from '../../../src/duration.js';
import { invalidArgument, invalidConfig, SessionError, toStoreError } from '../../../src/errors.js';
import { SessionEmitter } from '../../../src/events.js';
import { LabError } from '../../../src/labs/errors.js';
import { generateLabId, LAB_ID_PATTERN } from '../../../src/labs/lab-id.js';
import {
  LIVE_LAB_STATUSES,
  type Lab,
  type LabChanges,
  type LabContainer,
  type LabEvents,
  type LabExpectation,
  type Labs,
  type LabStats,
  type LabStatus,
  type LabStopReason,
  type LabStore,
  type ReconcileReport,
} from '../../../src/labs/types.js';
import type { SessionManager } from '../../../src/session-manager.js';
import { resolveDockerClient, type DockerClient, type DockerNetworkInfo } from './docker-client.js';
import { errorEvidence, provisionError } from './docker-errors.js';
import { LAB_LABELS, LabDocker, labName } from './lab-docker.js';
import { createSubnetPool, overlaps, tryParseNetwork, type SubnetPool } from './subnets.js';
import { resolveTemplates, type LabTemplate, type ResolvedTemplate } from './templates.js';
import type Docker from 'dockerode';

/** Options of {@link dockerLabs}. */
export interface DockerLabsOptions {
  /** The session manager whose sessions own the labs: a lab stops when its session ends or idles. */
  manager: SessionManager;
  /**
   * Where labs and their subnet allocations are stored: the lab store of the store the manager
   * uses (`store.labs` of a memory, SQLite or Postgres store), so that labs live beside their sessions.
   */
  store: LabStore;
  /**
   * The clock of lab time limits and idle stops; give the manager's, so both agree. Default: the
   * system clock.
   */
  clock?: Clock;
  /**
   * A dockerode client (or any client with the methods of {@link DockerClient}), or the options to
   * make a dockerode one (`{ socketPath }`, `{ host, port }`). Default: `DOCKER_HOST` if set, else
   * `/var/run/docker.sock`.
   */
  docker?: DockerClient | Docker.DockerOptions;
  /** IPv4 network that lab subnets are carved from, e.g. `'10.10.0.0/16'`. */
  addressPool: string;
  /** Prefix length of each lab's subnet. Default 24 (256 labs in a /16). */
  subnetPrefix?: number;
  /** Lab kinds by name; checked at construction. */
  templates: Record<string, LabTemplate>;
  /** Live labs one user may have. Default 1. */
  maxLabsPerUser?: number;
  /** Live labs in all. Default 50; the pool's size caps them too (`POOL_EXHAUSTED`). */
  maxLabsTotal?: number;
  /** Stop a lab when its session has been inactive this long; `false` never. Default `'30m'`. */
  idleStop?: Duration | false;
  /** How often {@link Labs.reconcile} runs by itself; `false` only on start-up. Default `'1m'`. */
  reconcileInterval?: Duration | false;
  /**
   * Label value that marks this provisioner's Docker objects. Provisioners with different stores on
   * one engine need different scopes, or each would remove the other's labs as orphans. Default `'default'`.
   */
  scope?: string;
  /**
   * Failures of background work (reconcile, stops after a revoke) and of lab starts, with Docker's
   * own message (HTTP answers and `labView()` carry only the code and a fixed message). Default: `console.error`.
   */
  onError?: (error: unknown) => void;
}

/**
 * Lab sessions on Docker: each lab gets its own bridge network on a subnet allocated from
 * `addressPool` (atomically, in the lab store) and the template's containers on fixed addresses,
 * with CPU, memory and process limits, all capabilities dropped but the template's `capAdd`,
 * `no-new-privileges` and bounded logs. An internal lab's network leaves the host without an address
 * in it, so nothing on the host answers a lab. A lab stops when its session is revoked, expires or
 * goes idle, or when its time is up; crashes are repaired by `reconcile()`.
 *
 * @example
 * const store = memoryStore();
 * const sessions = createSessionManager({ store });
 * const labs = dockerLabs({
 *   manager: sessions,
 *   store: store.labs,
 *   addressPool: '10.10.0.0/16',
 *   templates: { web: { containers: [{ name: 'target', image: 'dvwa', ip: 20, memory: '512m', cpus: 0.5 }] } },
 * });
 * const lab = await labs.start(session.id, 'web');
 */
export function dockerLabs(options: DockerLabsOptions): Labs {
  if (options === null || typeof options !== 'object') invalidConfig('dockerLabs()', 'expects an options object');
  const { manager, store } = options;
  if (manager === null || typeof manager !== 'object' || typeof manager.get !== 'function' || typeof manager.on !== 'function') {
    invalidConfig('manager', 'must be a session manager made by createSessionManager()');
  }
  if (store === null || typeof store !== 'object' || LAB_STORE_METHODS.some((method) => typeof store[method] !== 'function')) {
    invalidConfig('store', 'must be a lab store such as memoryStore().labs');
  }
  const now = clockOf(options.clock);
  const pool = createSubnetPool(options.addressPool, options.subnetPrefix ?? 24);
  const templates = resolveTemplates(options.templates, pool);
  const maxPerUser = positiveInteger(options.maxLabsPerUser ?? 1, 'maxLabsPerUser');
  const maxTotal = positiveInteger(options.maxLabsTotal ?? 50, 'maxLabsTotal');
  const idleStopMs = options.idleStop === false ? null : parseDuration(options.idleStop ?? '30m', 'idleStop');
  const intervalMs = options.reconcileInterval === false ? null : parseDuration(options.reconcileInterval ?? '1m', 'reconcileInterval');
  if (intervalMs === 0) invalidConfig('reconcileInterval', 'must be positive or false');
  const scope = options.scope ?? 'default';
  if (typeof scope !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(scope)) invalidConfig('scope', 'must be 1-64 letters, digits, _ . -');
  if (options.onError !== undefined && typeof options.onError !== 'function') invalidConfig('onError', 'must be a function');
  const docker = resolveDockerClient(options.docker);
  return new DockerLabs({
    manager,
    store,
    now,
    docker: new LabDocker(docker, scope),
    pool,
    templates,
    limits: { maxPerUser, maxTotal },
    idleStopMs,
    intervalMs,
    onError: options.onError ?? ((error) => console.error('sessionkeeper labs:', error)),
  });
}

// --- internal ---

/** Lab records one `cleanup()` deletes per store call, by default. */
const DEFAULT_CLEANUP_BATCH = 1000;
const LAB_STORE_METHODS = ['insertLab', 'updateLab', 'getLab', 'listLabs', 'deleteLabsEndedBefore'] as const;
/** A lab still provisioning after this long was left by a process that stopped; reconcile removes it. */
const PROVISION_GRACE_MS = 5 * 60_000;
/** How long the first starts wait for the start-up reconcile to clear what a crashed process left. */
const START_UP_WAIT_MS = 10_000;
interface Config {
  readonly manager: SessionManager;
  readonly store: LabStore;
  readonly now: () => number;
  readonly docker: LabDocker;
  readonly pool: SubnetPool;
  readonly templates: Map<string, ResolvedTemplate>;
  readonly limits: { readonly maxPerUser: number; readonly maxTotal: number };
  readonly idleStopMs: number | null;
  readonly intervalMs: number | null;
  readonly onError: (error: unknown) => void;
}

class DockerLabs implements Labs {
  readonly #c: Config;
  readonly #events: SessionEmitter<LabEvents>;
  /** Work under way in this process, by lab id, so that a stop waits for the start it would race. */
  readonly #starting = new Map<string, Promise<unknown>>();
  readonly #stopping = new Map<string, Promise<Lab>>();
  readonly #unsubscribe: (() => void)[];
  readonly #timer: NodeJS.Timeout | null;
  #reconciling: Promise<ReconcileReport> | null = null;
  #background = new Set<Promise<unknown>>();
  /** The start-up reconcile (never rejects); starts wait for it, bounded, so orphans go first. */
  readonly #startUp: Promise<unknown>;
  #startedUp = false;
  #closed = false;

  constructor(config: Config) {
    this.#c = config;
    this.#events = new SessionEmitter<LabEvents>((error) => config.onError(error));
    const stopSessionLabs = (session: Session, reason: LabStopReason) => void this.#inBackground(this.#stopLabsOf(session.id, reason));
    this.#unsubscribe = [
      config.manager.on('revoked', ({ session }) => stopSessionLabs(session, 'session-revoked')),
      config.manager.on('expired', ({ session }) => stopSessionLabs(session, 'session-expired')),
    ];
    this.#startUp = this.#inBackground(this.reconcile()).finally(() => {
      this.#startedUp = true;
    });
    this.#timer = config.intervalMs === null ? null : setInterval(() => this.#inBackground(this.reconcile()), config.intervalMs);
    this.#timer?.unref();
  }

  async start(sessionId: string, templateName: string): Promise<Lab> {
    this.#assertOpen();
    const template = typeof templateName === 'string' ? this.#c.templates.get(templateName) : undefined;
    if (template === undefined) {
      throw new LabError('TEMPLATE_UNKNOWN', `No lab template is named ${JSON.stringify(templateName)}`, { templates: [...this.#c.templates.keys()] });
    }
    const session = await this.#c.manager.get(sessionId);
    if (session === null) throw new SessionError('SESSION_NOT_FOUND', `No session has id ${JSON.stringify(sessionId)}`);
    if (session.status !== 'active') throw new SessionError('SESSION_INACTIVE', `Session ${sessionId} is ${session.status}; labs start only for active sessions`);

    if (!this.#startedUp) {
      await within(this.#startUp, START_UP_WAIT_MS);
      this.#assertOpen();
    }

    // Preflight: subnets overlapping a network Docker already has are skipped, our scope's too: a
    // live lab's subnet is held in the store anyway, and one the store does not know belongs to a
    // process that crashed with its store, or to a provisioner with another store (until a reconcile).
    const networks = await this.#c.docker.allNetworks();
    const id = generateLabId();
    const now = this.#c.now();
    const lab = await this.#store('start', () =>
      this.#c.store.insertLab(session.userId, this.#c.limits, (held) => {
        const subnet = this.#pickSubnet(held, networks);
        const gateway = this.#c.pool.gateway(subnet);
        return {
          id,
          sessionId: session.id,
          userId: session.userId,
          template: template.name,
          createdAt: now,
          expiresAt: now + template.timeLimitMs,
          network: { name: labName(id), id: null, subnet, gateway },
          containers: template.containers.map((c) => ({ name: c.name, id: null, ip: this.#c.pool.host(subnet, c.ip), image: c.image })),
        };
      }),
    );
    this.#events.emit('status', { lab, from: null });
    const provisioning = this.#provision(lab, template);
    this.#starting.set(lab.id, provisioning);
    try {
      return await provisioning;
    } finally {
      this.#starting.delete(lab.id);
    }
  }

  async extend(labId: string, by: Duration): Promise<Lab> {
    this.#assertOpen();
    const byMs = parseDuration(by, 'extend() by', 'INVALID_ARGUMENT');
    for (;;) {
      const lab = await this.#require(labId);
      if (lab.status !== 'active') throw new LabError('LAB_NOT_ACTIVE', `Lab ${lab.id} is ${lab.status}`, { status: lab.status });
      // A lab whose template was removed from the configuration keeps the time it has.
      const template = this.#c.templates.get(lab.template);
      if (template === undefined || lab.extensions >= template.maxExtensions) {
        const maxExtensions = template?.maxExtensions ?? 0;
        throw new LabError('EXTENSION_LIMIT', `Lab ${lab.id} was extended ${lab.extensions} times, the most its template allows`, { maxExtensions });
      }
      if (byMs <= 0 || byMs > template.timeLimitMs) {
        throw invalidArgument(`extend() by must be positive and at most the template's time limit (${template.timeLimitMs} ms)`);
      }
      const expected: LabExpectation = { statuses: ['active'], extensions: lab.extensions };
      const extended = await this.#update(lab.id, expected, { expiresAt: lab.expiresAt + byMs, extensions: lab.extensions + 1 });
      // Another extend or a stop got in between: decide again on what is stored now.
      if (extended !== null) return extended;
    }
  }

  async stop(labId: string): Promise<Lab> {
    this.#assertOpen();
    return this.#stop(await this.#require(labId), 'stopped');
  }

  async get(labId: string): Promise<Lab | null> {
    this.#assertOpen();
    if (typeof labId !== 'string' || !LAB_ID_PATTERN.test(labId)) return null;
    return this.#store('get', () => this.#c.store.getLab(labId));
  }

  async list(query: { userId?: string; sessionId?: string; includeEnded?: boolean } = {}): Promise<Lab[]> {
    this.#assertOpen();
    if (query === null || typeof query !== 'object') throw invalidArgument('list() expects { userId?, sessionId?, includeEnded? }');
    for (const field of ['userId', 'sessionId'] as const) {
      if (query[field] !== undefined && (typeof query[field] !== 'string' || query[field] === '')) throw invalidArgument(`list() ${field} must be a non-empty string`);
    }
    const { userId, sessionId } = query;
    return this.#store('list', () =>
      this.#c.store.listLabs({
        ...(userId !== undefined ? { userId } : {}),
        ...(sessionId !== undefined ? { sessionId } : {}),
        ...(query.includeEnded ? {} : { statuses: LIVE_LAB_STATUSES }),
      }),
    );
  }

  async stats(labId: string): Promise<LabStats> {
    this.#assertOpen();
    const lab = await this.#require(labId);
    if (lab.status !== 'active') throw new LabError('LAB_NOT_ACTIVE', `Lab ${lab.id} is ${lab.status}`, { status: lab.status });
    const { containers, endpoints } = await this.#c.docker.stats(lab);
    return { labId: lab.id, at: this.#c.now(), containers, network: { name: lab.network.name, subnet: lab.network.subnet, endpoints } };
  }

  async reconcile(): Promise<ReconcileReport> {
    this.#assertOpen();
    // One pass at a time; a caller arriving mid-pass gets that pass's report.
    this.#reconciling ??= this.#reconcile().finally(() => {
      this.#reconciling = null;
    });
    return this.#reconciling;
  }

  async cleanup(options: { olderThan?: Duration; batchSize?: number } = {}): Promise<number> {
    this.#assertOpen();
    if (options === null || typeof options !== 'object') throw invalidArgument('cleanup() expects { olderThan?, batchSize? }');
    const olderThanMs = parseDuration(options.olderThan ?? '30d', 'cleanup() olderThan', 'INVALID_ARGUMENT');
    const batchSize = options.batchSize ?? DEFAULT_CLEANUP_BATCH;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) throw invalidArgument('cleanup() batchSize must be an integer from 1 to 100000');
    const cutoff = this.#c.now() - olderThanMs;
    let total = 0;
    for (;;) {
      const deleted = await this.#store('cleanup', () => this.#c.store.deleteLabsEndedBefore(cutoff, batchSize));
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }

  on<E extends keyof LabEvents>(event: E, listener: (payload: LabEvents[E]) => void | Promise<void>): () => void {
    return this.#events.on(event, listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    await Promise.allSettled([...this.#background, ...this.#starting.values(), ...this.#stopping.values()]);
    this.#events.clear();
  }

  // --- lifecycle ---

  async #provision(lab: Lab, template: ResolvedTemplate): Promise<Lab> {
    const docker = this.#c.docker;
    const containers: LabContainer[] = [];
    let failedContainer: string | undefined;
    try {
      const networkId = await docker.createNetwork(lab, template);
      for (const [index, spec] of template.containers.entries()) {
        failedContainer = spec.name;
        containers.push(await docker.createContainer(lab, template, index));
      }
      failedContainer = undefined;
      const active = await this.#transition(lab, ['provisioning'], { status: 'active', networkId, containers });
      if (active !== null) return active;
      // Stopped meanwhile by reconcile in another process: what we made is removed by that stop or the next pass.
      return this.#require(lab.id);
    } catch (cause) {
      const error = provisionError(cause, lab, failedContainer);
      this.#c.onError(error);
      try {
        await this.#c.docker.teardown(lab);
        await this.#transition(lab, ['provisioning'], { status: 'failed', error: errorEvidence(error, failedContainer), releaseSubnet: true });
      } catch (cleanup) {
        // Leave the row provisioning and holding its subnet: reconcile finishes the rollback.
        this.#c.onError(cleanup);
        await this.#transition(lab, ['provisioning'], { error: errorEvidence(error, failedContainer) }).catch(() => null);
      }
      throw error;
    }
  }

  async #stop(lab: Lab, reason: LabStopReason): Promise<Lab> {
    const pending = this.#stopping.get(lab.id);
    if (pending !== undefined) return pending;
    const stopping = this.#stopUnguarded(lab, reason).finally(() => this.#stopping.delete(lab.id));
    this.#stopping.set(lab.id, stopping);
    return stopping;
  }

  async #stopUnguarded(lab: Lab, reason: LabStopReason): Promise<Lab> {
    const starting = this.#starting.get(lab.id);
    if (starting !== undefined) {
      // Let the start finish (or roll back) first, so teardown does not race container creation.
      await starting.catch(() => undefined);
      lab = await this.#require(lab.id);
    }
    if (lab.status === 'stopped' || lab.status === 'failed') return lab;
    const marked = lab.status === 'stopping' ? lab : await this.#transition(lab, ['provisioning', 'active'], { status: 'stopping', stopReason: reason });
    if (marked === null) return this.#stopUnguarded(await this.#require(lab.id), reason);
    await this.#c.docker.teardown(marked);
    return (await this.#transition(marked, ['stopping'], { status: 'stopped', releaseSubnet: true })) ?? this.#require(lab.id);
  }

  async #stopLabsOf(sessionId: string, reason: LabStopReason): Promise<void> {
    const labs = await this.#store('stop', () => this.#c.store.listLabs({ sessionId, statuses: LIVE_LAB_STATUSES }));
    await Promise.all(labs.map((lab) => this.#stop(lab, reason)));
  }

  async #reconcile(): Promise<ReconcileReport> {
    const now = this.#c.now();
    let stopped = 0;
    let removedContainers = 0;
    let removedNetworks = 0;
    let releasedSubnets = 0;
    const store = this.#c.store;

    // 1. Live labs whose session ended or idled, whose time is up, or that a crash left mid-way.
    for (const lab of await this.#store('reconcile', () => store.listLabs({ statuses: LIVE_LAB_STATUSES }))) {
      if (this.#starting.has(lab.id) || this.#stopping.has(lab.id)) continue;
      // One lab that cannot be stopped now (Docker refused) must not hold up the others.
      const done = await this.#isolated(async () => {
        const reason = await this.#reasonToStop(lab, now);
        if (reason !== null) await this.#stop(lab, reason);
        return reason !== null;
      });
      if (done) stopped++;
    }

    // 2. Labelled containers and networks without a live lab (row deleted, or teardown interrupted).
    const { containers, networks } = await this.#c.docker.scoped();
    const isOrphan = async (labId: string | undefined) => {
      if (labId === undefined || this.#starting.has(labId) || this.#stopping.has(labId)) return false;
      const lab = await this.#store('reconcile', () => store.getLab(labId));
      return lab === null || lab.status === 'stopped' || lab.status === 'failed';
    };
    for (const container of containers) {
      if (!(await isOrphan(container.Labels?.[LAB_LABELS.lab]))) continue;
      await this.#c.docker.removeContainer(container.Id);
      removedContainers++;
    }
    for (const network of networks) {
      if (!(await isOrphan(network.Labels?.[LAB_LABELS.lab]))) continue;
      await this.#c.docker.removeNetwork(network.Id);
      removedNetworks++;
    }

    // 3. Ended labs still holding a subnet (a stop or rollback that could not finish): free it once no network is left.
    const holding = await this.#store('reconcile', () => store.listLabs({ statuses: ['stopped', 'failed'], subnetHeld: true }));
    for (const lab of holding) {
      const released = await this.#isolated(async () => {
        await this.#c.docker.teardown(lab);
        return (await this.#update(lab.id, { statuses: [lab.status] }, { releaseSubnet: true })) !== null;
      });
      if (released) releasedSubnets++;
    }
    return { stopped, removedContainers, removedNetworks, releasedSubnets };
  }

  async #reasonToStop(lab: Lab, now: number): Promise<LabStopReason | null> {
    if (lab.status === 'stopping') return lab.stopReason ?? 'reconciled';
    if (lab.status === 'provisioning') return now - lab.updatedAt >= PROVISION_GRACE_MS ? 'reconciled' : null;
    if (now >= lab.expiresAt) return 'time-limit';
    const session = await this.#c.manager.get(lab.sessionId);
    if (session === null || session.status === 'expired') return 'session-expired';
    if (session.status === 'revoked') return 'session-revoked';
    if (this.#c.idleStopMs !== null) {
      const page = await this.#c.manager.activity.list({ sessionId: lab.sessionId, limit: 1 });
      const lastSeen = Math.max(session.lastActiveAt, lab.createdAt, page.items[0]?.ts ?? 0);
      if (now - lastSeen >= this.#c.idleStopMs) return 'idle';
    }
    return null;
  }

  // --- helpers ---

  #pickSubnet(held: ReadonlySet<string>, networks: readonly DockerNetworkInfo[]): string {
    const { pool } = this.#c;
    const conflicts = new Map<string, string>();
    const existing = networks.flatMap((n) =>
      (n.IPAM?.Config ?? []).flatMap((config) => {
        const parsed = tryParseNetwork(config.Subnet);
        return parsed === null ? [] : [{ name: n.Name, network: parsed }];
      }),
    );
    // Visits at most the held subnets and one subnet per existing network before finding a free one.
    for (let index = 0; index < pool.size; ) {
      const subnet = pool.subnet(index);
      if (held.has(subnet)) {
        index++;
        continue;
      }
      const candidate = tryParseNetwork(subnet)!;
      const conflict = existing.find((f) => overlaps(f.network, candidate));
      if (conflict === undefined) return subnet;
      conflicts.set(conflict.name, `${conflict.name} overlaps ${subnet}`);
      index = Math.max(index + 1, pool.indexAfter(conflict.network));
    }
    if (conflicts.size > 0) {
      throw new LabError('SUBNET_OVERLAP', `The free subnets of ${poolText(pool)} overlap Docker networks: ${[...conflicts.values()].join('; ')}`, {
        networks: [...conflicts.keys()],
      });
    }
    throw new LabError('POOL_EXHAUSTED', `Every /${pool.subnetPrefix} of ${poolText(pool)} is held by a live lab`, { size: pool.size });
  }

  async #transition(lab: Lab, from: readonly LabStatus[], changes: Omit<LabChanges, 'updatedAt'>): Promise<Lab | null> {
    const updated = await this.#update(lab.id, { statuses: from }, changes);
    if (updated !== null && updated.status !== lab.status) this.#events.emit('status', { lab: updated, from: lab.status });
    return updated;
  }

  #update(id: string, expected: LabExpectation, changes: Omit<LabChanges, 'updatedAt'>): Promise<Lab | null> {
    return this.#store('update', () => this.#c.store.updateLab(id, expected, { ...changes, updatedAt: this.#c.now() }));
  }

  async #require(labId: string): Promise<Lab> {
    const lab = await this.get(labId);
    if (lab === null) throw new LabError('LAB_NOT_FOUND', `No lab has id ${JSON.stringify(labId)}`);
    return lab;
  }

  async #store<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, `labs.${operation}`);
    }
  }

  /** Runs one lab's part of a reconcile pass; a failure is reported and counts as not done. */
  async #isolated(work: () => Promise<boolean>): Promise<boolean> {
    try {
      return await work();
    } catch (error) {
      this.#c.onError(error);
      return false;
    }
  }

  /** Tracks `work` for close(); its failure goes to onError. The returned promise never rejects. */
  #inBackground(work: Promise<unknown>): Promise<unknown> {
    const tracked = work.catch((error: unknown) => this.#c.onError(error)).finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
    return tracked;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionError('CLOSED', 'The lab provisioner is closed');
  }
}

/** Waits for `work` (which must not reject), but at most `ms`. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function poolText(pool: SubnetPool): string {
  return `${pool.subnet(0).split('/')[0]}/${pool.pool.prefix}`;
}

function clockOf(clock: Clock | undefined): () => number {
  if (clock === undefined) return Date.now;
  if (typeof clock !== 'function') invalidConfig('clock', 'must be a function returning a Date');
  return () => {
    const ms = clock().getTime();
    if (Number.isNaN(ms)) invalidConfig('clock', 'returned an invalid Date');
    return ms;
  };
}

function positiveInteger(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) invalidConfig(field, 'must be a positive integer');
  return value as number;
}
