export { contentLength, createSessionHttp, errorResponse, headerValue, HttpError, json, knownErrorResponse, NO_STORE } from './http-core.js';
export { MAX_BODY_BYTES, parseJsonBody, readJsonBody } from './body.js';
export type { LoginExtra, LoginResult, RequestOutcome, SessionHttp } from './http-core.js';
export { createSelfService, sessionView } from './self-service.js';
export type { SelfService, SelfServiceOptions, SelfServiceRequest, SessionView } from './self-service.js';
export type { Authentication, HttpErrorCode, HttpRequest, HttpResponse, RequestHeaders, SessionCookieOptions, SessionHttpOptions } from './types.js';
export { requestHelpers } from './request-helpers.js';
export type { HelperTarget, SessionHelpers } from './request-helpers.js';
