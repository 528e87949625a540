export { requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from './koa-middleware.js';
export type { KoaSessionRoutesOptions, SessionkeeperState } from './koa-middleware.js';
export type { LoginExtra, SelfServiceOptions, SessionCookieOptions, SessionHttpOptions } from '../../../src/http/index.js';
