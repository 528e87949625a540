export { labRoutes, requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from './express-middleware.js';
export type { SessionkeeperRequest } from './express-middleware.js';
export type { LabRoutesOptions, LabView, LabStatsView, LoginExtra, SelfServiceOptions, SessionCookieOptions, SessionHttpOptions } from '../../../src/http/index.js';
