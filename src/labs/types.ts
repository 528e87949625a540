import type { EpochMs } from '../contracts.js';
import type { Duration } from '../duration.js';

// The stores import LabError and the limit check from here, as they did before errors.ts existed.
export { assertBelowLabLimits, LabError, LAB_ERROR_CODES, type LabErrorCode } from './errors.js';

/**
 * Where a lab is in its life. `provisioning` -> `active` -> `stopping` -> `stopped`; a start that
 * fails ends `failed` once what it created is removed. `stopped` and `failed` are final.
 */
export type LabStatus = 'provisioning' | 'active' | 'stopping' | 'stopped' | 'failed';

/** Statuses of a lab that holds (or may still hold) Docker resources and counts against the caps. */
export const LIVE_LAB_STATUSES: readonly LabStatus[] = ['provisioning', 'active', 'stopping'];

/** Why a lab stopped: a caller, the owning session, its own limits, or a reconcile after a crash. */
export type LabStopReason = 'stopped' | 'session-revoked' | 'session-expired' | 'idle' | 'time-limit' | 'reconciled';

/** The isolated network of a lab. */
export interface LabNetwork {
  /** Deterministic: `sk-lab-<labId>`. */
  readonly name: string;
  /** Docker's network id; `null` until the network exists. */
  readonly id: string | null;
  /** The subnet allocated to this lab from the address pool, e.g. `'10.10.3.0/24'`. */
  readonly subnet: string;
  /**
   * The subnet's first address, kept free of containers. On an internal lab nothing holds it (the
   * host's bridge has no address there); on a lab with egress it is the host, the route out.
   */
  readonly gateway: string;
}

/** One container of a lab. */
export interface LabContainer {
  /** The name in the template, e.g. `'attacker'`. Docker's name is `sk-lab-<labId>-<name>`. */
  readonly name: string;
  /** Docker's container id; `null` until the container exists. */
  readonly id: string | null;
  /** Fixed address inside the lab's subnet. */
  readonly ip: string;
  readonly image: string;
}

/** A lab: one session's isolated network and containers. */
export interface Lab {
  /** `lab_` followed by 21 random characters. */
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  /** The template it was started from. */
  readonly template: string;
  readonly status: LabStatus;
  readonly network: LabNetwork;
  readonly containers: readonly LabContainer[];
  readonly createdAt: EpochMs;
  /** When the status last changed. */
  readonly updatedAt: EpochMs;
  /** When the time limit stops it; each extension moves it forward. */
  readonly expiresAt: EpochMs;
  /** Extensions granted so far (at most the template's `maxExtensions`). */
  readonly extensions: number;
  /** Why it stopped; `null` unless stopping or stopped. */
  readonly stopReason: LabStopReason | null;
  /**
   * For a failed lab: what went wrong (`code`, Docker's own `message`, its `statusCode` and the
   * container when known). For the operator: `labView()` shows only the code and a fixed message.
   */
  readonly error: Readonly<Record<string, unknown>> | null;
  /** True until the subnet is released, which happens only after the network is gone. */
  readonly subnetHeld: boolean;
}

/** A lab as first written by {@link LabStore.insertLab}: status `provisioning`, holding its subnet. */
export interface NewLabRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly template: string;
  readonly createdAt: EpochMs;
  readonly expiresAt: EpochMs;
  readonly network: LabNetwork;
  readonly containers: readonly LabContainer[];
}

/** Caps checked by {@link LabStore.insertLab}: a start is refused when a count is already at its cap. */
export interface LabLimits {
  readonly maxPerUser: number;
  readonly maxTotal: number;
}

/** What {@link LabStore.updateLab} may change. `updatedAt` is set on every change. */
export interface LabChanges {
  readonly updatedAt: EpochMs;
  readonly status?: LabStatus;
  readonly networkId?: string;
  readonly containers?: readonly LabContainer[];
  readonly expiresAt?: EpochMs;
  readonly extensions?: number;
  readonly stopReason?: LabStopReason;
  readonly error?: Readonly<Record<string, unknown>>;
  /** Frees the subnet for other labs. Only once Docker has no network on it. */
  readonly releaseSubnet?: true;
}

/** The condition of {@link LabStore.updateLab}: the change applies only to a lab in this state. */
export interface LabExpectation {
  readonly statuses: readonly LabStatus[];
  /** Also require this many extensions so far (concurrent extends cannot both count as one). */
  readonly extensions?: number;
}

/** Filter of {@link LabStore.listLabs}; every given field must match. */
export interface LabQuery {
  readonly userId?: string;
  readonly sessionId?: string;
  readonly statuses?: readonly LabStatus[];
  /** Only labs still holding (true) or having released (false) their subnet. */
  readonly subnetHeld?: boolean;
}

/**
 * Storage of labs and their subnet allocations. A store offers it beside its session store (as
 * `store.labs` of `memoryStore()`), so labs live in the same database as the sessions that own them;
 * prove an implementation with `runLabStoreConformance` from `sessionkeeper/testing`.
 */
export interface LabStore {
  /**
   * Atomically, also across processes sharing the store: counts the user's labs and all labs in a
   * {@link LIVE_LAB_STATUSES live status}, throws `LabError` `LAB_LIMIT` when either count is at or over
   * its cap, then calls `build` with the subnets that labs hold now and inserts the record it
   * returns (status `provisioning`, `subnetHeld: true`). `build` may throw (pool exhausted); that
   * error propagates and nothing is written. Two concurrent calls never hold one subnet twice.
   */
  insertLab(userId: string, limits: LabLimits, build: (heldSubnets: ReadonlySet<string>) => NewLabRecord): Promise<Lab>;

  /**
   * Applies `changes` atomically if the lab matches `expected` (a compare-and-set).
   * @returns the lab after the change; `null` if no lab has this id or it did not match.
   */
  updateLab(id: string, expected: LabExpectation, changes: LabChanges): Promise<Lab | null>;

  /** The lab with this id in any status, or `null`. */
  getLab(id: string): Promise<Lab | null>;

  /** Labs matching `query`, oldest first (`createdAt`, then `id`). */
  listLabs(query: LabQuery): Promise<Lab[]>;

  /**
   * Deletes up to `limit` labs that are `stopped` or `failed`, no longer hold a subnet, and were
   * last updated before `cutoff`.
   * @returns how many were deleted (the manager calls again while it equals `limit`).
   */
  deleteLabsEndedBefore(cutoff: EpochMs, limit: number): Promise<number>;
}

/** One container's resource use, from Docker's stats API (one sample). */
export interface LabContainerStats {
  readonly name: string;
  readonly id: string;
  /** CPU use over Docker's sampling interval, in percent of one core (200 = two cores busy). */
  readonly cpuPercent: number;
  readonly memoryBytes: number;
  readonly memoryLimitBytes: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly pids: number;
}

/** What {@link Labs.stats} reports: each container's use and who is attached to the lab network. */
export interface LabStats {
  readonly labId: string;
  readonly at: EpochMs;
  readonly containers: readonly LabContainerStats[];
  readonly network: {
    readonly name: string;
    readonly subnet: string;
    /** Endpoints attached to the network now, ours or not: a stranger here is worth a look. */
    readonly endpoints: readonly { readonly name: string; readonly ip: string | null }[];
  };
}

/** What {@link Labs.reconcile} did. */
export interface ReconcileReport {
  /** Labs torn down: session ended, idle, time limit, or left mid-way by a crash. */
  readonly stopped: number;
  /** Containers and networks carrying this provisioner's labels but no live lab. */
  readonly removedContainers: number;
  readonly removedNetworks: number;
  /** Subnets freed from labs whose network was already gone. */
  readonly releasedSubnets: number;
}

/** Events of {@link Labs.on}. */
export interface LabEvents {
  /** A lab's stored status changed; `from` is `null` for a lab just created. */
  status: { lab: Lab; from: LabStatus | null };
}

/**
 * Lab sessions: for each session, an isolated network with the template's containers. Made by a
 * provisioner such as `dockerLabs()` from `sessionkeeper/docker`.
 */
export interface Labs {
  /**
   * Starts a lab from `template` for an active session: allocates a subnet, creates the network and
   * the containers, and returns the lab `active`. What fails midway is removed again, the lab
   * stored as `failed` and the error also reported to the provisioner's `onError`. Subnets of every
   * network Docker has are skipped, also unknown ones with this provisioner's labels; starts right
   * after construction first wait (at most 10 s) for the start-up reconcile to remove those.
   * @throws LabError `TEMPLATE_UNKNOWN`, `LAB_LIMIT`, `POOL_EXHAUSTED`, `SUBNET_OVERLAP`,
   *   `IMAGE_MISSING`, `DOCKER_UNAVAILABLE`, `DOCKER_ERROR`; SessionError `SESSION_NOT_FOUND`, `SESSION_INACTIVE`
   */
  start(sessionId: string, template: string): Promise<Lab>;

  /**
   * Moves the lab's time limit forward by `by` (at most the template's `timeLimit` at once).
   * @throws LabError `LAB_NOT_FOUND`, `LAB_NOT_ACTIVE`, `EXTENSION_LIMIT`; SessionError `INVALID_ARGUMENT`
   */
  extend(labId: string, by: Duration): Promise<Lab>;

  /**
   * Tears the lab down (containers, then network, then the subnet) and returns it `stopped`. The
   * session stays signed in. Stopping a stopped or failed lab returns it unchanged.
   * @throws LabError `LAB_NOT_FOUND`, `DOCKER_UNAVAILABLE`
   */
  stop(labId: string): Promise<Lab>;

  /** The lab with this id in any status, or `null`. */
  get(labId: string): Promise<Lab | null>;

  /** Labs of a user or a session (or all), oldest first; only live ones unless `includeEnded`. */
  list(query?: { userId?: string; sessionId?: string; includeEnded?: boolean }): Promise<Lab[]>;

  /**
   * One sample of each container's CPU, memory, network and process use, and the network's endpoints.
   * @throws LabError `LAB_NOT_FOUND`, `LAB_NOT_ACTIVE`, `DOCKER_UNAVAILABLE`
   */
  stats(labId: string): Promise<LabStats>;

  /**
   * Brings Docker and the store in line: stops labs whose session ended or went idle or whose time
   * is up, finishes teardowns a crash interrupted, removes labelled containers and networks without a
   * live lab, and frees subnets whose network is gone. Runs on start-up and every `reconcileInterval`.
   */
  reconcile(): Promise<ReconcileReport>;

  /**
   * Deletes the records of labs that ended (`stopped` or `failed`, subnet released) more than
   * `olderThan` ago (default `'30d'`), `batchSize` (default 1000) at a time; what the manager's
   * `cleanup()` did for labs before labs became their own module. Run it beside `manager.cleanup()`.
   * @returns how many lab records were deleted.
   * @throws SessionError `INVALID_ARGUMENT`, `STORE_UNAVAILABLE`, `CLOSED`
   */
  cleanup(options?: { olderThan?: Duration; batchSize?: number }): Promise<number>;

  /** Subscribes to status changes; returns a function that unsubscribes. */
  on<E extends keyof LabEvents>(event: E, listener: (payload: LabEvents[E]) => void | Promise<void>): () => void;

  /**
   * Stops the timers and the session subscription, and waits for starts and stops under way. Labs
   * keep running: a later provisioner (or this one's reconcile after a restart) takes them over.
   */
  close(): Promise<void>;
}
