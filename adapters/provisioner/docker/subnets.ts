import { invalidConfig } from '../../../src/errors.js';

/** An IPv4 network as a 32-bit base address and a prefix length. */
export interface Ipv4Network {
  readonly base: number;
  readonly prefix: number;
}

/**
 * The address pool labs draw their subnets from: subnet `i` is the `i`-th block of `subnetPrefix`
 * bits inside the pool, so allocation is a search for the lowest free index.
 */
export interface SubnetPool {
  readonly pool: Ipv4Network;
  readonly subnetPrefix: number;
  /** How many subnets the pool holds (the most labs that can be live at once). */
  readonly size: number;
  /** The CIDR text of subnet `index`, e.g. `'10.10.3.0/24'`. */
  subnet(index: number): string;
  /** The subnet's gateway: its first host address. */
  gateway(subnet: string): string;
  /** Host `offset` of `subnet` (offset 10 of 10.10.3.0/24 is 10.10.3.10). */
  host(subnet: string, offset: number): string;
  /** The index of the first subnet wholly after `network`, to skip past a network in one step. */
  indexAfter(network: Ipv4Network): number;
  /** Usable container offsets: above the gateway (1), below the broadcast address. */
  readonly hostOffsets: { readonly min: number; readonly max: number };
}

export function createSubnetPool(cidr: unknown, subnetPrefix: unknown): SubnetPool {
  const pool = parseNetwork(cidr, 'addressPool');
  if (!Number.isSafeInteger(subnetPrefix) || (subnetPrefix as number) < pool.prefix || (subnetPrefix as number) > 29) {
    invalidConfig('subnetPrefix', `must be an integer from the pool's prefix (${pool.prefix}) to 29`);
  }
  const prefix = subnetPrefix as number;
  const blockSize = 2 ** (32 - prefix);
  return {
    pool,
    subnetPrefix: prefix,
    size: 2 ** (prefix - pool.prefix),
    subnet: (index) => `${formatIpv4(pool.base + index * blockSize)}/${prefix}`,
    gateway: (subnet) => formatIpv4(parseNetwork(subnet, 'subnet').base + 1),
    host: (subnet, offset) => formatIpv4(parseNetwork(subnet, 'subnet').base + offset),
    indexAfter: (network) => Math.ceil((network.base + 2 ** (32 - network.prefix) - pool.base) / blockSize),
    hostOffsets: { min: 2, max: blockSize - 2 },
  };
}

/**
 * Parses `a.b.c.d/n` whose host bits are zero.
 * @throws SessionError `INVALID_CONFIG` naming `field`
 */
export function parseNetwork(value: unknown, field: string): Ipv4Network {
  const match = typeof value === 'string' ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value.trim()) : null;
  const octets = match?.slice(1, 5).map(Number);
  const prefix = Number(match?.[5]);
  if (!match || octets!.some((o) => o > 255) || prefix > 32) invalidConfig(field, `must be an IPv4 network like '10.10.0.0/16', not ${JSON.stringify(value)}`);
  const base = octets!.reduce((acc, o) => acc * 256 + o, 0);
  if (base % 2 ** (32 - prefix) !== 0) invalidConfig(field, `${value} has host bits set; did you mean ${formatIpv4(base - (base % 2 ** (32 - prefix)))}/${prefix}?`);
  return { base, prefix };
}

/** Parses a network as Docker reports it; `null` for IPv6 or anything unexpected. */
export function tryParseNetwork(value: unknown): Ipv4Network | null {
  try {
    return parseNetwork(value, 'subnet');
  } catch {
    return null;
  }
}

export function overlaps(a: Ipv4Network, b: Ipv4Network): boolean {
  const aEnd = a.base + 2 ** (32 - a.prefix);
  const bEnd = b.base + 2 ** (32 - b.prefix);
  return a.base < bEnd && b.base < aEnd;
}

function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
