export { labRoutes, requireSession, sessionErrorHandler, sessionMiddleware, sessionRoutes } from './express-middleware.js';
export type { SessionkeeperRequest } from './express-middleware.js';
export type { LoginExtra, SelfServiceOptions, SessionCookieOptions, SessionHttpOptions } from '../../../src/http/index.js';
export type { LabRoutesOptions, LabView, LabStatsView } from '../../../src/labs/index.js';
