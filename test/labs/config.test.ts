import { afterAll, describe, expect, it } from 'vitest';
import { dockerLabs, type DockerLabsOptions } from '../../adapters/provisioner/docker/index.js';
import { createSubnetPool, overlaps, parseNetwork } from '../../adapters/provisioner/docker/subnets.js';
import { memoryStore } from '../../adapters/storage/memory/index.js';
import { createSessionManager, isSessionError, type SessionManager } from '../../src/index.js';

const store = memoryStore();
const sessions = createSessionManager({ store });
afterAll(() => sessions.close());

const valid = (): DockerLabsOptions => ({
  manager: sessions,
  store: store.labs,
  addressPool: '10.10.0.0/16',
  templates: { web: { containers: [{ name: 'target', image: 'dvwa', ip: 20 }] } },
  // Never reaches an engine: construction fails first, or the test closes it at once.
  docker: { socketPath: '/nonexistent/docker.sock' },
  reconcileInterval: false,
  onError: () => {},
});

function configError(change: (options: DockerLabsOptions) => void): string {
  const options = valid();
  change(options);
  try {
    void dockerLabs(options).close();
  } catch (err) {
    if (isSessionError(err, 'INVALID_CONFIG')) return err.message;
    throw err;
  }
  throw new Error('dockerLabs() accepted the options');
}

describe('dockerLabs() options are checked at construction, naming the field', () => {
  it.each<[string, (o: DockerLabsOptions) => void, RegExp]>([
    ['a manager not made by createSessionManager', (o) => void (o.manager = {} as SessionManager), /^manager /],
    ['no lab store', (o) => void (o.store = undefined as never), /^store must be a lab store/],
    ['a session store without the lab methods', (o) => void (o.store = memoryStore() as never), /^store must be a lab store such as memoryStore\(\)\.labs/],
    ['a clock that is not a function', (o) => void (o.clock = new Date() as never), /^clock must be a function/],
    ['a Docker client that lacks methods it needs', (o) => void (o.docker = { listNetworks: async () => [], version: async () => ({}) } as never), /^docker is not a dockerode-shaped client: it has no listContainers, createNetwork, createContainer, getContainer, getNetwork/],
    ['a pool that is not a network', (o) => void (o.addressPool = '10.10.0.0'), /^addressPool must be an IPv4 network/],
    ['a pool with host bits set', (o) => void (o.addressPool = '10.10.1.0/16'), /did you mean 10\.10\.0\.0\/16\?/],
    ['a subnet prefix wider than the pool', (o) => void (o.subnetPrefix = 8), /^subnetPrefix must be an integer from the pool's prefix \(16\) to 29/],
    ['a subnet prefix too narrow for containers', (o) => void (o.subnetPrefix = 30), /^subnetPrefix /],
    ['no templates', (o) => void (o.templates = {}), /^templates must name at least one lab template/],
    ['a template without containers', (o) => void (o.templates = { web: { containers: [] } }), /^templates\.web\.containers must list/],
    ['a container address on the gateway', (o) => void (o.templates.web!.containers[0]!.ip = 1), /^templates\.web\.containers\[0\]\.ip must be a host offset from 2 to 254/],
    ['a container address on the broadcast address', (o) => void (o.templates.web!.containers[0]!.ip = 255), /\.ip must be a host offset/],
    ['two containers on one address', (o) => void o.templates.web!.containers.push({ name: 'other', image: 'x', ip: 20 }), /\.ip repeats 20/],
    ['two containers of one name', (o) => void o.templates.web!.containers.push({ name: 'target', image: 'x', ip: 21 }), /\.name repeats target/],
    ['a container name Docker cannot use', (o) => void (o.templates.web!.containers[0]!.name = 'bad name'), /\.name must be letters/],
    ['memory under Docker\'s minimum', (o) => void (o.templates.web!.containers[0]!.memory = '4m'), /\.memory must be at least 6m/],
    ['memory in an unknown unit', (o) => void (o.templates.web!.containers[0]!.memory = '1t'), /\.memory must be at least 6m/],
    ['no CPU', (o) => void (o.templates.web!.containers[0]!.cpus = 0), /\.cpus must be a number of cores above 0/],
    ['a fractional process limit', (o) => void (o.templates.web!.containers[0]!.pids = 1.5), /\.pids must be a positive integer/],
    ['an environment value that is not a string', (o) => void (o.templates.web!.containers[0]!.env = { PORT: 80 as unknown as string }), /\.env\.PORT must be a string/],
    ['a command that is not a list of strings', (o) => void (o.templates.web!.containers[0]!.cmd = 'sleep 1' as unknown as string[]), /\.cmd must be an array of strings/],
    ['an unknown capability', (o) => void (o.templates.web!.containers[0]!.capAdd = ['NET_RAW', 'NET_RAWW']), /^templates\.web\.containers\[0\]\.capAdd\[1\] must be a Linux capability .*not "NET_RAWW"/],
    ['a capability with the CAP_ prefix', (o) => void (o.templates.web!.containers[0]!.capAdd = ['CAP_NET_RAW']), /\.capAdd\[0\] must be a Linux capability such as NET_RAW \(without CAP_/],
    ['every capability back', (o) => void (o.templates.web!.containers[0]!.capAdd = ['ALL']), /\.capAdd\[0\] .*ALL is not accepted/],
    ['capabilities that are not a list', (o) => void (o.templates.web!.containers[0]!.capAdd = 'NET_RAW' as unknown as string[]), /\.capAdd must be an array/],
    ['a zero time limit', (o) => void (o.templates.web!.timeLimit = 0), /^templates\.web\.timeLimit must be positive/],
    ['negative extensions', (o) => void (o.templates.web!.maxExtensions = -1), /maxExtensions must be a non-negative integer/],
    ['a cap of zero labs per user', (o) => void (o.maxLabsPerUser = 0), /^maxLabsPerUser must be a positive integer/],
    ['an unreadable idle duration', (o) => void (o.idleStop = '30 minutes' as never), /idleStop/],
    ['a zero reconcile interval', (o) => void (o.reconcileInterval = 0), /^reconcileInterval must be positive or false/],
    ['a scope with a space', (o) => void (o.scope = 'my labs'), /^scope must be/],
  ])('refuses %s', (_name, change, message) => {
    expect(configError(change)).toMatch(message);
  });

  it('accepts the documented defaults', async () => {
    const labs = dockerLabs(valid());
    await labs.close();
  });

  it('accepts capabilities to add back', async () => {
    const options = valid();
    options.templates.web!.containers[0]!.capAdd = ['NET_RAW', 'NET_ADMIN'];
    await dockerLabs(options).close();
  });
});

describe('subnet pool', () => {
  it('carves the pool into subnets with their gateway and host addresses', () => {
    const pool = createSubnetPool('10.10.0.0/16', 24);
    expect(pool.size).toBe(256);
    expect([pool.subnet(0), pool.subnet(1), pool.subnet(255)]).toEqual(['10.10.0.0/24', '10.10.1.0/24', '10.10.255.0/24']);
    expect(pool.gateway('10.10.7.0/24')).toBe('10.10.7.1');
    expect(pool.host('10.10.7.0/24', 20)).toBe('10.10.7.20');
    expect(pool.hostOffsets).toEqual({ min: 2, max: 254 });

    const small = createSubnetPool('172.30.0.0/24', 28);
    expect(small.size).toBe(16);
    expect(small.subnet(15)).toBe('172.30.0.240/28');
    expect(small.hostOffsets).toEqual({ min: 2, max: 14 });
  });

  it('finds the first subnet past a network, so an overlap is skipped in one step', () => {
    const pool = createSubnetPool('10.0.0.0/8', 29);
    expect(pool.size).toBe(2 ** 21);
    expect(pool.subnet(pool.indexAfter(parseNetwork('10.0.0.0/9', 'test')))).toBe('10.128.0.0/29');
    expect(pool.subnet(pool.indexAfter(parseNetwork('10.3.0.0/16', 'test')))).toBe('10.4.0.0/29');
    // A network smaller than a subnet ends inside it: the next subnet is the first one clear of it.
    const wide = createSubnetPool('10.10.0.0/16', 24);
    expect(wide.subnet(wide.indexAfter(parseNetwork('10.10.5.128/25', 'test')))).toBe('10.10.6.0/24');
    expect(wide.indexAfter(parseNetwork('10.11.0.0/16', 'test'))).toBeGreaterThanOrEqual(wide.size);
  });

  it('tells overlapping networks from neighbours', () => {
    const net = (cidr: string) => parseNetwork(cidr, 'test');
    expect(overlaps(net('10.10.0.0/16'), net('10.10.5.0/24'))).toBe(true);
    expect(overlaps(net('10.10.5.0/24'), net('10.10.0.0/16'))).toBe(true);
    expect(overlaps(net('10.10.4.0/24'), net('10.10.5.0/24'))).toBe(false);
    expect(overlaps(net('0.0.0.0/0'), net('192.168.1.0/24'))).toBe(true);
    expect(overlaps(net('255.255.255.0/24'), net('255.255.254.0/24'))).toBe(false);
  });
});
