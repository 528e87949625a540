import { LabError } from '../../../src/labs/errors.js';
import type { Lab } from '../../../src/labs/types.js';

// How the provisioner reads what a dockerode-shaped client threw: `statusCode` is Docker's answer,
// none means the engine did not answer.

/** Docker's HTTP status in what the client threw; `undefined` when the engine did not answer. */
export function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Docker's own message, without dockerode's "(HTTP code 404) no such container - " preamble. */
export function dockerMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json;
  if (typeof json?.message === 'string') return json.message;
  return err instanceof Error ? err.message : String(err);
}

/** `DOCKER_UNAVAILABLE` without a status, else `DOCKER_ERROR` with it; a LabError passes through. */
export function dockerError(err: unknown, action: string): LabError {
  if (err instanceof LabError) return err;
  const statusCode = statusOf(err);
  if (statusCode === undefined) {
    return new LabError('DOCKER_UNAVAILABLE', `The Docker engine did not answer while ${action}: ${dockerMessage(err)}`, {}, { cause: err });
  }
  return new LabError('DOCKER_ERROR', `Docker failed ${action}: ${dockerMessage(err)}`, { statusCode }, { cause: err });
}

/** A failed start's error: `IMAGE_MISSING` and `SUBNET_OVERLAP` told from Docker's answer, else {@link dockerError}. */
export function provisionError(err: unknown, lab: Lab, container: string | undefined): LabError {
  const statusCode = statusOf(err);
  const message = dockerMessage(err);
  if (statusCode === 404 && /no such image/i.test(message)) {
    const image = lab.containers.find((c) => c.name === container)?.image;
    return new LabError('IMAGE_MISSING', `Image ${image} of container ${container} is not on the Docker engine (nothing is pulled)`, { image, statusCode }, { cause: err });
  }
  if (statusCode === 403 && /overlap/i.test(message)) {
    return new LabError('SUBNET_OVERLAP', `Docker refused subnet ${lab.network.subnet}: ${message}`, { subnet: lab.network.subnet, statusCode }, { cause: err });
  }
  return dockerError(err, container === undefined ? 'creating the lab network' : `starting container ${container}`);
}

/** What a failed lab keeps as its `error`: Docker's message and status, and the container at fault. */
export function errorEvidence(error: LabError, container: string | undefined): Record<string, unknown> {
  return { code: error.code, message: error.message, ...error.details, ...(container !== undefined ? { container } : {}) };
}

/** Resolves `null` for what is already gone (404) or already so (304): removal is idempotent. */
export async function ignoreMissing<T>(operation: Promise<T>): Promise<T | null> {
  try {
    return await operation;
  } catch (err) {
    if (statusOf(err) === 404 || statusOf(err) === 304) return null;
    throw err;
  }
}
