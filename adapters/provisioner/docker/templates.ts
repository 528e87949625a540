import { parseDuration, type Duration } from '../../../src/duration.js';
import { invalidConfig } from '../../../src/errors.js';
import type { SubnetPool } from './subnets.js';

/** One container of a lab template. */
export interface LabContainerTemplate {
  /** Unique within the template: letters, digits, `_`, `.`, `-` (part of the Docker name). */
  name: string;
  /** A local image; nothing is pulled, so a missing one fails the start with `IMAGE_MISSING`. */
  image: string;
  /** Host offset of its fixed address in the lab's subnet: 10 gives x.y.z.10 in a /24. */
  ip: number;
  /** CPU limit in cores (HostConfig.NanoCpus). Default 1. */
  cpus?: number;
  /** Memory limit: bytes, or `'512m'`, `'1g'`, `'256k'` (HostConfig.Memory). Default `'512m'`. */
  memory?: number | string;
  /** Process limit (HostConfig.PidsLimit), against fork bombs. Default 256. */
  pids?: number;
  env?: Record<string, string>;
  cmd?: string[];
  /**
   * Linux capabilities the container keeps, e.g. `['NET_RAW']` for ping or raw-socket scanners.
   * Every container runs with all capabilities dropped (`CapDrop: ['ALL']`) and `no-new-privileges`;
   * these are added back. Names as Docker writes them, without `CAP_`. Default none.
   */
  capAdd?: string[];
}

/** What a lab of this kind runs and how long it may live. */
export interface LabTemplate {
  containers: LabContainerTemplate[];
  /** A network without a route out (Docker `--internal`). Default true. */
  internal?: boolean;
  /** Time from start until the lab stops by itself. Default `'2h'`. */
  timeLimit?: Duration;
  /** How many times `extend()` may add time. Default 3. */
  maxExtensions?: number;
}

export interface ResolvedContainer {
  readonly name: string;
  readonly image: string;
  readonly ip: number;
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  readonly pids: number;
  readonly env: readonly string[];
  readonly cmd: readonly string[] | undefined;
  readonly capAdd: readonly string[];
}

export interface ResolvedTemplate {
  readonly name: string;
  readonly containers: readonly ResolvedContainer[];
  readonly internal: boolean;
  readonly timeLimitMs: number;
  readonly maxExtensions: number;
}

/** Checks every template once, at construction, so a typo fails at start-up and not at a user's first lab. */
export function resolveTemplates(templates: unknown, pool: SubnetPool): Map<string, ResolvedTemplate> {
  if (templates === null || typeof templates !== 'object' || Object.keys(templates).length === 0) {
    invalidConfig('templates', 'must name at least one lab template');
  }
  const resolved = new Map<string, ResolvedTemplate>();
  for (const [name, template] of Object.entries(templates as Record<string, LabTemplate>)) {
    const field = `templates.${name}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) invalidConfig(field, 'needs a name of letters, digits, _ . - (at most 64)');
    if (template === null || typeof template !== 'object' || !Array.isArray(template.containers) || template.containers.length === 0) {
      invalidConfig(`${field}.containers`, 'must list at least one container');
    }
    const names = new Set<string>();
    const ips = new Set<number>();
    const containers = template.containers.map((container, i) => {
      const at = `${field}.containers[${i}]`;
      const c = resolveContainer(container, at, pool);
      if (names.has(c.name)) invalidConfig(`${at}.name`, `repeats ${c.name}`);
      if (ips.has(c.ip)) invalidConfig(`${at}.ip`, `repeats ${c.ip}`);
      names.add(c.name);
      ips.add(c.ip);
      return c;
    });
    const maxExtensions = template.maxExtensions ?? 3;
    if (!Number.isSafeInteger(maxExtensions) || maxExtensions < 0) invalidConfig(`${field}.maxExtensions`, 'must be a non-negative integer');
    const timeLimitMs = parseDuration(template.timeLimit ?? '2h', `${field}.timeLimit`);
    if (timeLimitMs <= 0) invalidConfig(`${field}.timeLimit`, 'must be positive');
    if (template.internal !== undefined && typeof template.internal !== 'boolean') invalidConfig(`${field}.internal`, 'must be a boolean');
    resolved.set(name, { name, containers, internal: template.internal ?? true, timeLimitMs, maxExtensions });
  }
  return resolved;
}

// --- internal ---

const MEMORY_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
/** Docker refuses memory limits under 6 MiB. */
const MIN_MEMORY = 6 * 1024 ** 2;
/** The Linux capabilities (capabilities(7), up to CHECKPOINT_RESTORE), as Docker names them. */
const CAPABILITIES: ReadonlySet<string> = new Set(
  ('CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE ' +
    'NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN ' +
    'SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE ' +
    'MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE').split(' '),
);

function resolveContainer(container: LabContainerTemplate, at: string, pool: SubnetPool): ResolvedContainer {
  if (container === null || typeof container !== 'object') invalidConfig(at, 'must be an object');
  const { name, image, ip } = container;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) invalidConfig(`${at}.name`, 'must be letters, digits, _ . - (at most 63)');
  if (typeof image !== 'string' || image.length === 0 || image.length > 255) invalidConfig(`${at}.image`, 'must be an image reference');
  const { min, max } = pool.hostOffsets;
  if (!Number.isSafeInteger(ip) || ip < min || ip > max) {
    invalidConfig(`${at}.ip`, `must be a host offset from ${min} to ${max} (a /${pool.subnetPrefix} subnet; 1 is the gateway)`);
  }
  const cpus = container.cpus ?? 1;
  if (typeof cpus !== 'number' || !(cpus > 0) || cpus > 1024) invalidConfig(`${at}.cpus`, 'must be a number of cores above 0');
  const pids = container.pids ?? 256;
  if (!Number.isSafeInteger(pids) || pids < 1) invalidConfig(`${at}.pids`, 'must be a positive integer');
  const env = Object.entries(container.env ?? {}).map(([key, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || typeof value !== 'string') invalidConfig(`${at}.env.${key}`, 'must be a string under a variable name');
    return `${key}=${value}`;
  });
  if (container.cmd !== undefined && (!Array.isArray(container.cmd) || !container.cmd.every((part) => typeof part === 'string'))) {
    invalidConfig(`${at}.cmd`, 'must be an array of strings');
  }
  const capAdd: unknown = container.capAdd ?? [];
  if (!Array.isArray(capAdd)) invalidConfig(`${at}.capAdd`, 'must be an array of capability names');
  capAdd.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || !CAPABILITIES.has(name)) {
      invalidConfig(`${at}.capAdd[${i}]`, `must be a Linux capability such as NET_RAW (without CAP_; ALL is not accepted), not ${JSON.stringify(name)}`);
    }
  });
  return {
    name,
    image,
    ip,
    nanoCpus: Math.round(cpus * 1e9),
    memoryBytes: memoryBytes(container.memory ?? '512m', `${at}.memory`),
    pids,
    env,
    cmd: container.cmd,
    capAdd: [...new Set(capAdd as string[])],
  };
}

function memoryBytes(value: number | string, field: string): number {
  let bytes = NaN;
  if (typeof value === 'number') bytes = value;
  else if (typeof value === 'string') {
    const match = /^(\d{1,12})([bkmg]?)$/i.exec(value.trim());
    if (match) bytes = Number(match[1]) * MEMORY_UNITS[(match[2] || 'b').toLowerCase()]!;
  }
  if (!Number.isSafeInteger(bytes) || bytes < MIN_MEMORY) invalidConfig(field, `must be at least 6m (bytes, or a number with k, m or g), not ${JSON.stringify(value)}`);
  return bytes;
}
