import Docker from 'dockerode';
import { invalidConfig } from '../../../src/errors.js';

/** Label filters of a Docker list call: `{ label: ['key=value', ...] }`. */
export type DockerFilters = { label: string[] };

/** What the provisioner reads of a network in Docker's list. */
export interface DockerNetworkInfo {
  readonly Id: string;
  readonly Name: string;
  readonly Labels?: Readonly<Record<string, string>> | undefined;
  readonly IPAM?: { readonly Config?: readonly { readonly Subnet?: string | undefined }[] | undefined } | undefined;
}

/** What the provisioner reads of a container in Docker's list. */
export interface DockerContainerInfo {
  readonly Id: string;
  readonly Labels?: Readonly<Record<string, string>> | undefined;
}

/** A container object of the client (`getContainer(id)`). */
export interface DockerContainerHandle {
  remove(options: { force: boolean }): Promise<unknown>;
  stats(options: { stream: false }): Promise<unknown>;
}

/** A network object of the client (`getNetwork(id)`). */
export interface DockerNetworkHandle {
  remove(): Promise<unknown>;
  inspect(): Promise<unknown>;
  disconnect(options: { Container: string; Force: boolean }): Promise<unknown>;
}

/**
 * The Docker client the provisioner needs: the few dockerode methods it calls, declared by shape so
 * that any dockerode-compatible client works (a dockerode `Docker`, a wrapper that adds tracing or
 * retries, another version of dockerode) without `instanceof`. Errors are expected in dockerode's
 * form: `statusCode` for Docker's answers, `json.message` for its text; none for an engine that did
 * not answer.
 */
export interface DockerClient {
  version(): Promise<{ ApiVersion?: string | undefined }>;
  listNetworks(options?: { filters?: DockerFilters }): Promise<DockerNetworkInfo[]>;
  listContainers(options?: { all?: boolean; filters?: DockerFilters }): Promise<DockerContainerInfo[]>;
  createNetwork(options: Docker.NetworkCreateOptions): Promise<{ readonly id: string }>;
  createContainer(options: Docker.ContainerCreateOptions): Promise<{ readonly id: string; start(): Promise<unknown> }>;
  getContainer(id: string): DockerContainerHandle;
  getNetwork(id: string): DockerNetworkHandle;
}

/** A Docker call that takes longer than this is treated as the engine being unavailable. */
export const DOCKER_TIMEOUT_MS = 30_000;

/**
 * The `docker` option as a client: one given (anything with the {@link DockerClient} methods) as it
 * is, else a dockerode client made from the given options (default: `DOCKER_HOST`, else the socket).
 */
export function resolveDockerClient(option: DockerClient | Docker.DockerOptions | undefined): DockerClient {
  if (option !== undefined && (option === null || typeof option !== 'object')) invalidConfig('docker', 'must be a Docker client or dockerode options');
  const missing = CLIENT_METHODS.filter((method) => typeof (option as Record<string, unknown> | undefined)?.[method] !== 'function');
  if (missing.length === 0) return option as DockerClient;
  // Options of dockerode carry no methods; an object with some of them is a client that falls short.
  if (missing.length < CLIENT_METHODS.length) invalidConfig('docker', `is not a dockerode-shaped client: it has no ${missing.join(', ')}`);
  return new Docker({ timeout: DOCKER_TIMEOUT_MS, ...(option as Docker.DockerOptions | undefined) });
}

// --- internal ---

const CLIENT_METHODS = ['version', 'listNetworks', 'listContainers', 'createNetwork', 'createContainer', 'getContainer', 'getNetwork'] as const;
