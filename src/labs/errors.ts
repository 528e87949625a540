import { registerErrorCodes, SessionkeeperError, type ErrorCodeInfo, type ErrorDetails } from '../errors.js';

/**
 * Every error the lab provisioner throws on purpose. Branch on `code`; `details` carries what the
 * code is about (the conflicting network, Docker's status code, the cap).
 */
export const LAB_ERROR_CODES = {
  /** The Docker engine did not answer (socket missing, refused, timed out). */
  DOCKER_UNAVAILABLE: 'DOCKER_UNAVAILABLE',
  /** Docker answered with an error not covered by a more specific code; `details.statusCode`. */
  DOCKER_ERROR: 'DOCKER_ERROR',
  /** No template has this name. */
  TEMPLATE_UNKNOWN: 'TEMPLATE_UNKNOWN',
  /** A template's image is not on the engine (nothing is pulled); `details.image`. */
  IMAGE_MISSING: 'IMAGE_MISSING',
  /** `maxLabsPerUser` or `maxLabsTotal` is reached; `details.limit` says which. */
  LAB_LIMIT: 'LAB_LIMIT',
  /** Every subnet of the address pool is held by a live lab. */
  POOL_EXHAUSTED: 'POOL_EXHAUSTED',
  /** Free subnets of the pool overlap networks Docker already has; `details.networks` names them. */
  SUBNET_OVERLAP: 'SUBNET_OVERLAP',
  /** No lab has this id. */
  LAB_NOT_FOUND: 'LAB_NOT_FOUND',
  /** The lab is not active (stopping, stopped or failed), so it cannot be extended. */
  LAB_NOT_ACTIVE: 'LAB_NOT_ACTIVE',
  /** The template's `maxExtensions` is used up. */
  EXTENSION_LIMIT: 'EXTENSION_LIMIT',
} as const;

export type LabErrorCode = (typeof LAB_ERROR_CODES)[keyof typeof LAB_ERROR_CODES];

/**
 * The error of the lab provisioner. Configuration mistakes and store failures are `SessionError`s
 * (`INVALID_CONFIG`, `STORE_UNAVAILABLE`, ...), as everywhere else in sessionkeeper.
 *
 * @example
 * try { await labs.start(session.id, 'web') }
 * catch (err) { if (err instanceof LabError && err.code === 'LAB_LIMIT') tellUserToStopALab() }
 */
export class LabError extends SessionkeeperError<LabErrorCode> {
  override readonly name = 'LabError';
  declare readonly details: ErrorDetails;

  constructor(code: LabErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(code, message, { details, cause: options?.cause });
  }
}

/**
 * Every lab error code, with its status and meaning. Server-side failures (5xx) answer with a fixed message:
 * Docker's own wording (socket paths, image names, daemon errors) is for the operator's logs. The
 * error-code registry (what `knownErrorResponse()` answers from) and a failed lab's `error` in
 * `labView()` both use it.
 */
export const LAB_STATUS_BY_CODE: Readonly<Record<LabErrorCode, { status: number; message?: string; description: string }>> = {
  LAB_NOT_FOUND: { status: 404, description: 'no lab has this id' },
  TEMPLATE_UNKNOWN: { status: 400, description: 'no lab template has this name' },
  LAB_LIMIT: { status: 409, description: 'maxLabsPerUser or maxLabsTotal is reached' },
  EXTENSION_LIMIT: { status: 409, description: "the template's maxExtensions is used up" },
  LAB_NOT_ACTIVE: { status: 409, description: 'the lab is not active, so it cannot be extended' },
  POOL_EXHAUSTED: { status: 503, message: 'No lab network is free right now; try again later', description: 'every subnet of the address pool is held by a live lab' },
  SUBNET_OVERLAP: {
    status: 503,
    message: 'No lab network can be allocated right now; try again later',
    description: "the pool's free subnets overlap networks Docker already has",
  },
  DOCKER_UNAVAILABLE: { status: 503, message: 'The lab engine is unavailable; try again shortly', description: 'the Docker engine did not answer' },
  IMAGE_MISSING: { status: 500, message: "The lab template's image is not available", description: "a template's image is not on the engine" },
  DOCKER_ERROR: { status: 502, message: 'The lab engine refused the request', description: 'Docker answered with an error' },
};

// The HTTP layer answers lab errors from the registry, so it needs no table of lab codes.
registerErrorCodes(
  Object.fromEntries(
    Object.entries(LAB_STATUS_BY_CODE).map(([code, { status, message, description }]): [string, ErrorCodeInfo] => [
      code,
      { status, description, ...(message === undefined ? {} : { response: { message } }) },
    ]),
  ),
);

/**
 * For stores: throws `LAB_LIMIT` when the user's live labs, or all live labs, are already at their
 * cap. `limits` is a `LabLimits`, typed by shape so that this file needs nothing from types.ts.
 */
export function assertBelowLabLimits(ofUser: number, total: number, limits: { readonly maxPerUser: number; readonly maxTotal: number }): void {
  if (ofUser >= limits.maxPerUser) {
    throw new LabError('LAB_LIMIT', `User already has ${ofUser} live labs (maxLabsPerUser is ${limits.maxPerUser})`, { limit: 'maxLabsPerUser', max: limits.maxPerUser });
  }
  if (total >= limits.maxTotal) {
    throw new LabError('LAB_LIMIT', `${total} labs are already live (maxLabsTotal is ${limits.maxTotal})`, { limit: 'maxLabsTotal', max: limits.maxTotal });
  }
}
