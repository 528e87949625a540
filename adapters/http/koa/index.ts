export { labRoutes, requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from './koa-middleware.js';
export type { KoaLabRoutesOptions, KoaSessionRoutesOptions, SessionkeeperState } from './koa-middleware.js';
export type { LoginExtra, SelfServiceOptions, SessionCookieOptions, SessionHttpOptions } from '../../../src/http/index.js';
export type { LabRoutesOptions, LabStatsView, LabView } from '../../../src/labs/index.js';
