export { labRoutes, requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from './koa-middleware.js';
export type { KoaLabRoutesOptions, KoaSessionRoutesOptions, SessionkeeperState } from './koa-middleware.js';
export type { LabRoutesOptions, LabStatsView, LabView, LoginExtra, SelfServiceOptions, SessionCookieOptions, SessionHttpOptions } from '../../../src/http/index.js';
