import type { LabErrorCode } from '../labs/types.js';

/**
 * Every lab error code, with its status. Server-side failures (5xx) answer with a fixed message:
 * Docker's own wording (socket paths, image names, daemon errors) is for the operator's logs. The
 * error answers (`knownErrorResponse()`) and a failed lab's `error` in `labView()` both use it.
 */
export const LAB_STATUS_BY_CODE: Readonly<Record<LabErrorCode, { status: number; message?: string }>> = {
  LAB_NOT_FOUND: { status: 404 },
  TEMPLATE_UNKNOWN: { status: 400 },
  LAB_LIMIT: { status: 409 },
  EXTENSION_LIMIT: { status: 409 },
  LAB_NOT_ACTIVE: { status: 409 },
  POOL_EXHAUSTED: { status: 503, message: 'No lab network is free right now; try again later' },
  SUBNET_OVERLAP: { status: 503, message: 'No lab network can be allocated right now; try again later' },
  DOCKER_UNAVAILABLE: { status: 503, message: 'The lab engine is unavailable; try again shortly' },
  IMAGE_MISSING: { status: 500, message: "The lab template's image is not available" },
  DOCKER_ERROR: { status: 502, message: 'The lab engine refused the request' },
};
