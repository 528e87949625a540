import type { SessionManager } from '../../src/index.js';
import type { Labs, LabRoutesOptions } from '../../src/labs/index.js';
import type { AdapterServer, AdapterStartOptions, HttpAdapterUnderTest, TestCertificate } from '../../src/http/testing/index.js';
import { express } from './servers/express.js';
import { fastify } from './servers/fastify.js';
import { koa } from './servers/koa.js';

/** A running test app on an ephemeral port of 127.0.0.1 (see `AdapterServer`). */
export type TestServer = AdapterServer;

/**
 * One framework's factory for THE test app of the HTTP adapter conformance suite (see
 * `HttpAdapterUnderTest` in src/http/testing for the routes), so that e2e.test.ts, the lab routes'
 * tests and the fuzz suites run unchanged over each of them.
 */
export interface Framework extends HttpAdapterUnderTest {
  name: 'express' | 'koa' | 'fastify';
  start(manager: SessionManager, options?: StartOptions): Promise<TestServer>;
}

/**
 * What {@link Framework.start} may be given besides the manager: the conformance suite's options,
 * and lab routes over `labs` at {@link LABS_PREFIX} (the HTTP kit knows nothing of labs).
 */
export interface StartOptions extends AdapterStartOptions {
  labs?: Labs | undefined;
  labRoutes?: LabRoutesOptions | undefined;
}

/** Where the test app serves the lab routes (with `options.labs`). */
export const LABS_PREFIX = '/api/v1/me/labs';

export type { TestCertificate };
export { SESSIONS_PREFIX, testCertificate } from '../../src/http/testing/index.js';

/** The frameworks of this repository's wrappers, for the suites that run over each of them. */
export const frameworks: Framework[] = [express, koa, fastify];
