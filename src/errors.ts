/**
 * Every error sessionkeeper throws on purpose is a {@link SessionError} with a stable `code`.
 * Codes never change meaning between versions; messages may be reworded.
 */
export const ERROR_CODES = {
  /** A configuration option is missing or out of range; the message names the field. */
  INVALID_CONFIG: 'INVALID_CONFIG',
  /** An argument is not what the method accepts (empty id, negative duration, bad userId, ...). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A token is empty, oversized or not in sessionkeeper's token format. */
  INVALID_TOKEN: 'INVALID_TOKEN',
  /** Metadata is not a plain JSON object, cannot be serialised, or exceeds `maxMetadataBytes`. */
  INVALID_METADATA: 'INVALID_METADATA',
  /** No session has this id. */
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  /** The session exists but is expired or revoked, so it cannot be extended, rotated or updated. */
  SESSION_INACTIVE: 'SESSION_INACTIVE',
  /** `maxSessionsPerUser` was reached and `onLimit` is `'reject'`. */
  SESSION_LIMIT: 'SESSION_LIMIT',
  /** The store needs `migrate()` first, or its schema is newer than this version understands. */
  STORE_NOT_MIGRATED: 'STORE_NOT_MIGRATED',
  /** The store could not be reached or failed; the operation had no effect that callers can rely on. */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  /** No alert has this id. */
  ALERT_NOT_FOUND: 'ALERT_NOT_FOUND',
  /** The manager or store was closed. */
  CLOSED: 'CLOSED',
} as const;

export type SessionErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * The one error class of sessionkeeper. Branch on `code`, not on the message.
 *
 * @example
 * try { await sessions.create({ userId }) }
 * catch (err) { if (err instanceof SessionError && err.code === 'SESSION_LIMIT') showTooManyDevices() }
 */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** `INVALID_ARGUMENT`: a caller passed something the method does not accept. */
export function invalidArgument(message: string): SessionError {
  return new SessionError(ERROR_CODES.INVALID_ARGUMENT, message);
}

/** Throws `INVALID_CONFIG` naming the option at fault. */
export function invalidConfig(field: string, problem: string): never {
  throw new SessionError(ERROR_CODES.INVALID_CONFIG, `${field} ${problem}`);
}

/** True when `err` is a {@link SessionError}, optionally with the given code. */
export function isSessionError(err: unknown, code?: SessionErrorCode): err is SessionError {
  return err instanceof SessionError && (code === undefined || err.code === code);
}

/**
 * Wraps whatever a storage driver threw as `STORE_UNAVAILABLE`, keeping the original as `cause`.
 * SessionErrors pass through unchanged so that store-level codes (e.g. SESSION_LIMIT) survive.
 */
export function toStoreError(err: unknown, operation: string): SessionError {
  if (err instanceof SessionError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SessionError(ERROR_CODES.STORE_UNAVAILABLE, `Session store failed during ${operation}: ${detail}`, {
    cause: err,
  });
}
