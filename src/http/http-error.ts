import { registerErrorCodes, SessionkeeperError, type ErrorCodeInfo, type SessionkeeperErrorOptions } from '../errors.js';
import type { HttpErrorCode } from './types.js';

/**
 * A request the HTTP layer refuses (bad body, ...): answered with its own status and code.
 *
 * @example
 * throw new HttpError(400, 'INVALID_BODY', 'The request body is not valid JSON');
 */
export class HttpError extends SessionkeeperError<HttpErrorCode> {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    code: HttpErrorCode,
    message: string,
    options?: SessionkeeperErrorOptions,
  ) {
    super(code, message, options);
  }
}

// The codes only HTTP responses carry; INVALID_ARGUMENT and STORE_UNAVAILABLE are the core's.
registerErrorCodes({
  UNAUTHENTICATED: { status: 401, description: 'the request carries no valid session' },
  FORBIDDEN_ORIGIN: { status: 403, description: 'a cross-site state-changing request the cookie authenticated' },
  NOT_FOUND: { status: 404, description: 'no route has this path' },
  INVALID_BODY: { status: 400, description: 'the request body is not valid JSON (413: too large, 415: not JSON)' },
  INTERNAL: { status: 500, description: 'anything else that went wrong; details only in the logs' },
} satisfies Partial<Record<HttpErrorCode, ErrorCodeInfo>>);
