export { requireSession, sessionErrorHandler, sessionkeeper } from './fastify-plugin.js';
export { sessionkeeper as default } from './fastify-plugin.js';
export type { SessionkeeperPluginOptions, SessionkeeperRequest } from './fastify-plugin.js';
export type { LoginExtra, SelfServiceOptions, SessionCookieOptions, SessionHttpOptions } from '../../../src/http/index.js';
export type { LabRoutesOptions, LabStatsView, LabView } from '../../../src/labs/index.js';
