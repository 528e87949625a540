// The error family: one base class any module subclasses, and one registry of codes with their
// HTTP status, which the HTTP layer reads (so it answers a feature module's codes without knowing it).

// Above everything that uses them: this module registers the core's codes while it loads.
const registry = new Map<string, ErrorCodeInfo>();
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Structured data an error carries beside its message, e.g. `{ field: 'idleTimeout' }`. */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/** Options of the {@link SessionkeeperError} constructor. */
export interface SessionkeeperErrorOptions {
  /** The error that caused this one (a driver's error, ...). */
  readonly cause?: unknown;
  /** Structured data for programs; the message is for people. */
  readonly details?: ErrorDetails;
}

/**
 * The base class of every error sessionkeeper throws on purpose: `SessionError`, `HttpError`,
 * `LabError`. Branch on `code` (stable between versions), not on the message (which may be
 * reworded); `details` holds structured data where a code has some.
 *
 * @example
 * class QuotaError extends SessionkeeperError<'QUOTA_EXCEEDED'> {
 *   override readonly name = 'QuotaError';
 * }
 * registerErrorCodes({ QUOTA_EXCEEDED: { status: 429, description: 'the tenant used up its quota' } });
 * throw new QuotaError('QUOTA_EXCEEDED', 'Quota of 100 sessions used up', { details: { limit: 100 } });
 */
export class SessionkeeperError<Code extends string = string> extends Error {
  override readonly name: string = 'SessionkeeperError';
  readonly code: Code;
  readonly details: ErrorDetails | undefined;

  constructor(code: Code, message: string, options?: SessionkeeperErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

/** True when `err` is a {@link SessionkeeperError}, optionally with the given code. */
export function isSessionkeeperError(err: unknown, code?: string): err is SessionkeeperError {
  return err instanceof SessionkeeperError && (code === undefined || err.code === code);
}

/** What the registry knows of one error code. */
export interface ErrorCodeInfo {
  /** The HTTP status of a response for this error. */
  readonly status: number;
  /** What the code means, in a few words (the README's error table says the same). */
  readonly description: string;
  /**
   * What an HTTP response shows instead of the error's own code and message. A status below 500 is
   * answered with the error's code and message unless this overrides them; a status of 500 or more
   * is answered only when this is given (its message is fixed: a server-side error's own wording is
   * for the operator's logs), and is otherwise left to the application's error handling, as a bug is.
   */
  readonly response?: { readonly code?: string; readonly message?: string };
}

/**
 * Adds error codes to the registry. Registering a code again with the same information does
 * nothing; with different information it throws `INVALID_CONFIG`, since two modules would then
 * disagree on what the code means.
 *
 * @example
 * registerErrorCodes({ QUOTA_EXCEEDED: { status: 429, description: 'the tenant used up its quota' } });
 */
export function registerErrorCodes(codes: Readonly<Record<string, ErrorCodeInfo>>): void {
  for (const [code, info] of Object.entries(codes)) checkEntry(code, info);
  for (const [code, info] of Object.entries(codes)) registry.set(code, freeze(info));
}

/** The registered information of `code`, or `undefined` when no module registered it. */
export function errorCodeInfo(code: string): ErrorCodeInfo | undefined {
  return registry.get(code);
}

/**
 * Every registered code with its information, in registration order.
 *
 * @example
 * for (const [code, { status }] of Object.entries(registeredErrorCodes())) console.log(code, status);
 */
export function registeredErrorCodes(): Readonly<Record<string, ErrorCodeInfo>> {
  return Object.freeze(Object.fromEntries(registry));
}

// The core's errors.

/**
 * The codes of {@link SessionError}. Codes never change meaning between versions; messages may be
 * reworded. {@link registeredErrorCodes} has each with its HTTP status.
 */
export const ERROR_CODES = {
  /** A configuration option is missing or out of range; the message (and `details.field`) names it. */
  INVALID_CONFIG: 'INVALID_CONFIG',
  /** An argument is not what the method accepts (empty id, negative duration, NUL in a string, ...). */
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
  /** The store answered something its contract rules out (a bug in the store, not an outage). */
  STORE_CONTRACT: 'STORE_CONTRACT',
  /** No alert has this id. */
  ALERT_NOT_FOUND: 'ALERT_NOT_FOUND',
  /** Reported to the alerts' `onError`, never thrown: the evaluation queue was full and dropped events (`details` counts them). */
  ALERT_QUEUE_FULL: 'ALERT_QUEUE_FULL',
  /** The manager or store was closed. */
  CLOSED: 'CLOSED',
  /** The feature is off because no store offers its capability (activity, alerts); the message names it. */
  NOT_SUPPORTED: 'NOT_SUPPORTED',
} as const;

export type SessionErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * The error of the core and the stores. Branch on `code`, not on the message.
 *
 * @example
 * try { await sessions.create({ userId }) }
 * catch (err) { if (err instanceof SessionError && err.code === 'SESSION_LIMIT') showTooManyDevices() }
 */
export class SessionError extends SessionkeeperError<SessionErrorCode> {
  override readonly name = 'SessionError';
}

/** `INVALID_ARGUMENT`: a caller passed something the method does not accept. */
export function invalidArgument(message: string): SessionError {
  return new SessionError(ERROR_CODES.INVALID_ARGUMENT, message);
}

/**
 * Throws `INVALID_CONFIG` naming the option at fault: the message is `${field} ${problem}`, and
 * `details.field` is `field`.
 */
export function invalidConfig(field: string, problem: string): never {
  throw invalidConfigError(field, problem);
}

/** The error {@link invalidConfig} throws, for a caller that hands it on (to `next()`, a promise) instead. */
export function invalidConfigError(field: string, problem: string): SessionError {
  return new SessionError(ERROR_CODES.INVALID_CONFIG, `${field} ${problem}`, { details: { field } });
}

/** `STORE_CONTRACT`: the store's answer to `operation` is one its contract rules out. */
export function storeContractError(operation: string, problem: string): SessionError {
  return new SessionError(ERROR_CODES.STORE_CONTRACT, `The session store broke its contract in ${operation}: ${problem}`, { details: { operation } });
}

/** True when `err` is a {@link SessionError}, optionally with the given code. */
export function isSessionError(err: unknown, code?: SessionErrorCode): err is SessionError {
  return err instanceof SessionError && (code === undefined || err.code === code);
}

/**
 * Wraps whatever a storage driver threw as `STORE_UNAVAILABLE`, keeping the original as `cause`.
 * sessionkeeper's own errors pass through unchanged so that store-level codes (e.g. SESSION_LIMIT,
 * STORE_CONTRACT, a feature module's codes) survive.
 */
export function toStoreError(err: unknown, operation: string): SessionkeeperError {
  if (err instanceof SessionkeeperError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SessionError(ERROR_CODES.STORE_UNAVAILABLE, `Session store failed during ${operation}: ${detail}`, {
    cause: err,
  });
}

const STORE_DOWN = { code: ERROR_CODES.STORE_UNAVAILABLE, message: 'Session storage is unavailable; try again shortly' } as const;

registerErrorCodes({
  INVALID_CONFIG: { status: 500, description: 'an option is wrong; the message names it' },
  INVALID_ARGUMENT: { status: 400, description: 'an argument is not what the method accepts' },
  INVALID_TOKEN: { status: 400, description: 'a token that is not a string' },
  INVALID_METADATA: { status: 400, description: 'metadata is not plain JSON or is too large' },
  SESSION_NOT_FOUND: { status: 404, description: 'no session has this id' },
  SESSION_INACTIVE: { status: 409, description: 'the session is expired or revoked' },
  SESSION_LIMIT: { status: 429, description: 'maxSessionsPerUser reached with onLimit: reject' },
  STORE_NOT_MIGRATED: { status: 503, description: 'the store needs migrate()', response: STORE_DOWN },
  STORE_UNAVAILABLE: { status: 503, description: 'the store failed or is unreachable', response: STORE_DOWN },
  STORE_CONTRACT: { status: 500, description: 'the store answered something its contract rules out' },
  ALERT_NOT_FOUND: { status: 404, description: 'no alert has this id' },
  ALERT_QUEUE_FULL: { status: 503, description: 'reported, never thrown: alert evaluation dropped events' },
  CLOSED: { status: 503, description: 'the manager or store was closed', response: STORE_DOWN },
  NOT_SUPPORTED: {
    status: 501,
    description: 'the feature is off: no configured store offers its capability',
    response: { message: 'This feature is not available on this server' },
  },
} satisfies Record<SessionErrorCode, ErrorCodeInfo>);

// --- internal ---


function checkEntry(code: string, info: ErrorCodeInfo): void {
  const bad = (problem: string): never => {
    invalidConfig(`error code ${code}`, problem);
  };
  if (!CODE.test(code)) bad('must be upper-case letters, digits and underscores');
  if (info === null || typeof info !== 'object') bad('needs { status, description }');
  if (!Number.isInteger(info.status) || info.status < 400 || info.status > 599) bad('needs an HTTP error status from 400 to 599');
  if (typeof info.description !== 'string' || info.description === '') bad('needs a description');
  const known = registry.get(code);
  if (known !== undefined && !sameInfo(known, info)) bad('is already registered with another meaning');
}

function sameInfo(a: ErrorCodeInfo, b: ErrorCodeInfo): boolean {
  return a.status === b.status && a.description === b.description && a.response?.code === b.response?.code && a.response?.message === b.response?.message;
}

function freeze(info: ErrorCodeInfo): ErrorCodeInfo {
  const { status, description, response } = info;
  return Object.freeze(response === undefined ? { status, description } : { status, description, response: Object.freeze({ ...response }) });
}
