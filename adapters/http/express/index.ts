export { requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from './express-middleware.js';
export type { SessionkeeperRequest } from './express-middleware.js';
export type { LoginExtra, SelfServiceOptions, SessionCookieOptions, SessionHttpOptions } from '../../../src/http/index.js';
