import type { Lab, LabContainer, LabContainerStats, LabStats } from '../../../src/labs/types.js';
import type { DockerClient, DockerContainerInfo, DockerNetworkInfo } from './docker-client.js';
import { dockerError, ignoreMissing, statusOf } from './docker-errors.js';
import { containerStats, networkEndpoints, type DockerStats } from './docker-stats.js';
import type { ResolvedTemplate } from './templates.js';

/** Labels on every network and container of a lab; filters match them exactly. */
export const LAB_LABELS = {
  lab: 'sessionkeeper.lab',
  session: 'sessionkeeper.session',
  user: 'sessionkeeper.user',
  scope: 'sessionkeeper.scope',
} as const;

/** Docker's name of a lab's network (`sk-lab-<labId>`) or of one of its containers. */
export function labName(labId: string, container?: string): string {
  return container === undefined ? `sk-lab-${labId}` : `sk-lab-${labId}-${container}`;
}

/**
 * The Docker side of labs for one provisioner's scope: what a lab's network and containers are
 * created as, and how they are found and removed again. Every failure is a `LabError`
 * (`DOCKER_UNAVAILABLE`, `DOCKER_ERROR`) but those of {@link LabDocker.createNetwork} and
 * {@link LabDocker.createContainer}, which the provisioner maps with the container at fault.
 */
export class LabDocker {
  readonly #docker: DockerClient;
  readonly #scope: string;
  /** Bridge options of internal lab networks, chosen once from the engine's API version. */
  #isolation: Promise<Record<string, string>> | null = null;

  constructor(docker: DockerClient, scope: string) {
    this.#docker = docker;
    this.#scope = scope;
  }

  /** Runs a client call, turning what it throws into a LabError that says what was being done. */
  async call<T>(action: string, fn: (docker: DockerClient) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#docker);
    } catch (err) {
      throw dockerError(err, action);
    }
  }

  /** Every network the engine has, ours or not: their subnets are not for labs. */
  allNetworks(): Promise<DockerNetworkInfo[]> {
    return this.call('listing networks', (docker) => docker.listNetworks());
  }

  /** Containers and networks carrying this scope's labels, for a reconcile to find orphans among. */
  async scoped(): Promise<{ containers: DockerContainerInfo[]; networks: DockerNetworkInfo[] }> {
    const filters = { label: [`${LAB_LABELS.scope}=${this.#scope}`] };
    const containers = await this.call('listing containers', (docker) => docker.listContainers({ all: true, filters }));
    const networks = await this.call('listing networks', (docker) => docker.listNetworks({ filters }));
    return { containers, networks };
  }

  /** Creates the lab's bridge network on its subnet; Docker's error is thrown as it is. */
  async createNetwork(lab: Lab, template: ResolvedTemplate): Promise<string> {
    const network = await this.#docker.createNetwork({
      Name: lab.network.name,
      Driver: 'bridge',
      Internal: template.internal,
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: lab.network.subnet, Gateway: lab.network.gateway }] },
      // A network with egress needs its gateway on the host; the host firewall must guard it (README).
      ...(template.internal ? { Options: await this.#isolatingOptions() } : {}),
      Labels: this.#labelsOf(lab),
    });
    return network.id;
  }

  /** Creates and starts the container of template entry `index` at its address; Docker's error is thrown as it is. */
  async createContainer(lab: Lab, template: ResolvedTemplate, index: number): Promise<LabContainer> {
    const spec = template.containers[index]!;
    const planned = lab.containers[index]!;
    const container = await this.#docker.createContainer({
      name: labName(lab.id, spec.name),
      Image: spec.image,
      ...(spec.cmd ? { Cmd: [...spec.cmd] } : {}),
      Env: [...spec.env],
      Labels: this.#labelsOf(lab),
      HostConfig: {
        NetworkMode: lab.network.name,
        Memory: spec.memoryBytes,
        // No swap beyond the memory limit: the limit is what the lab gets.
        MemorySwap: spec.memoryBytes,
        NanoCpus: spec.nanoCpus,
        PidsLimit: spec.pids,
        RestartPolicy: { Name: 'no' },
        CapDrop: ['ALL'],
        ...(spec.capAdd.length > 0 ? { CapAdd: [...spec.capAdd] } : {}),
        SecurityOpt: ['no-new-privileges'],
        LogConfig: LOG_CONFIG,
      },
      NetworkingConfig: { EndpointsConfig: { [lab.network.name]: { IPAMConfig: { IPv4Address: planned.ip } } } },
    });
    await container.start();
    return { ...planned, id: container.id };
  }

  /** One sample of each container's use, and the endpoints on the lab's network. */
  async stats(lab: Lab): Promise<{ containers: LabContainerStats[]; endpoints: LabStats['network']['endpoints'] }> {
    const [containers, network] = await Promise.all([
      Promise.all(
        lab.containers.map(async (container) => {
          const target = container.id ?? labName(lab.id, container.name);
          const sample = await this.call('reading container stats', (docker) => docker.getContainer(target).stats({ stream: false }));
          return containerStats(container, sample as DockerStats);
        }),
      ),
      this.call('inspecting the lab network', (docker) => docker.getNetwork(lab.network.name).inspect()),
    ]);
    return { containers, endpoints: networkEndpoints(network) };
  }

  /** Containers (forced), then whatever is still attached, then the network. Gone already is fine. */
  async teardown(lab: Pick<Lab, 'id'>): Promise<void> {
    const filters = { label: [`${LAB_LABELS.lab}=${lab.id}`, `${LAB_LABELS.scope}=${this.#scope}`] };
    const containers = await this.call('listing lab containers', (docker) => docker.listContainers({ all: true, filters }));
    await Promise.all(containers.map((c) => this.removeContainer(c.Id)));
    const networks = await this.call('listing lab networks', (docker) => docker.listNetworks({ filters }));
    for (const { Id } of networks) await this.removeNetwork(Id);
  }

  /** Forced: a lab's containers are disposable. Already gone is fine. */
  async removeContainer(id: string): Promise<void> {
    await this.call('removing a container', (docker) => ignoreMissing(docker.getContainer(id).remove({ force: true })));
  }

  /** Removes a network, disconnecting what is still attached (ours or a stranger's). Already gone is fine. */
  async removeNetwork(id: string): Promise<void> {
    const network = this.#docker.getNetwork(id);
    for (let attempt = 1; ; attempt++) {
      try {
        await network.remove();
        return;
      } catch (err) {
        const status = statusOf(err);
        if (status === 404) return;
        // "has active endpoints": a container not carrying our labels, or one still going away.
        if ((status !== 403 && status !== 409) || attempt >= NETWORK_REMOVE_ATTEMPTS) throw dockerError(err, 'removing the lab network');
      }
      const info = await this.call('inspecting the lab network', () => ignoreMissing(network.inspect()));
      if (info === null) return;
      for (const endpoint of Object.keys((info as { Containers?: Record<string, unknown> }).Containers ?? {})) {
        await this.call('disconnecting a container', () => ignoreMissing(network.disconnect({ Container: endpoint, Force: true })));
      }
    }
  }

  // --- internal ---

  #labelsOf(lab: Lab): Record<string, string> {
    return { [LAB_LABELS.lab]: lab.id, [LAB_LABELS.session]: lab.sessionId, [LAB_LABELS.user]: lab.userId, [LAB_LABELS.scope]: this.#scope };
  }

  /**
   * Options of an internal lab network that leave the host's bridge without an IPv4 address, so the
   * gateway address, and through it the host's other addresses, answer nothing (an internal network
   * keeps that address by default: moby/moby#47356); from Engine 28 also without IPv6 link-local.
   */
  #isolatingOptions(): Promise<Record<string, string>> {
    this.#isolation ??= this.call('reading the engine version', (docker) => docker.version()).then(
      ({ ApiVersion }) => isolatingBridgeOptions(ApiVersion),
      (error: unknown) => {
        this.#isolation = null;
        throw error;
      },
    );
    return this.#isolation;
  }
}

/** Tries at removing a network that still reports endpoints (a container going away concurrently). */
const NETWORK_REMOVE_ATTEMPTS = 5;
/** What a lab container may keep of its output: `docker logs` reads it, a noisy lab cannot fill the disk. */
const LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '2' } };
/** Engine 28.0 (API 1.48) added gateway mode `isolated`, which also keeps IPv6 link-local off the bridge. */
const ISOLATED_GATEWAY_API = [1, 48] as const;

function isolatingBridgeOptions(apiVersion: unknown): Record<string, string> {
  const [major = 0, minor = 0] = String(apiVersion).split('.').map(Number);
  const [wantMajor, wantMinor] = ISOLATED_GATEWAY_API;
  const isolated = major > wantMajor || (major === wantMajor && minor >= wantMinor);
  return {
    'com.docker.network.bridge.inhibit_ipv4': 'true',
    ...(isolated ? { 'com.docker.network.bridge.gateway_mode_ipv4': 'isolated', 'com.docker.network.bridge.gateway_mode_ipv6': 'isolated' } : {}),
  };
}
