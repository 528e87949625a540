import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionManager } from '../../src/index.js';
import type { LabRoutesOptions, SelfServiceOptions, SessionHttpOptions } from '../../src/http/index.js';
import type { Labs } from '../../src/labs/types.js';
import { express } from './servers/express.js';
import { fastify } from './servers/fastify.js';
import { koa } from './servers/koa.js';

/** A running test app on an ephemeral port of 127.0.0.1. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` (`https://` with `tls`), no trailing slash. */
  url: string;
  /** Stops listening and drops open connections (keep-alive ones included). */
  close(): Promise<void>;
}

/**
 * One framework's factory for THE test app. Every factory serves the same routes, so the
 * end-to-end suite (e2e.test.ts) runs unchanged over each of them:
 *
 * | route | behaviour |
 * | --- | --- |
 * | `POST /login` JSON `{ "userId": "..." }` | the wrapper's login helper → 200 `{ id, token }`; malformed JSON → 400 `INVALID_BODY` |
 * | `GET /callback?userId=...` | the login helper from a GET, as an OAuth/OIDC redirect callback signs in → 200 `{ id, token }` |
 * | `POST /logout` | the logout helper → 204, no body |
 * | `POST /rotate` (behind requireSession) | the rotate helper → 200 `{ id, token }` |
 * | `GET /protected` (behind requireSession) | 200 `{ userId, sessionId }` |
 * | `GET /public` | 200 `{ sessionId: id \| null }` |
 * | `/api/v1/me/sessions/...` | the wrapper's self-service routes, with `options.routes` |
 * | `/api/v1/me/labs/...` (only with `options.labs`) | the wrapper's lab routes over `options.labs`, with `options.labRoutes` |
 *
 * `options.middleware` goes to the wrapper's session middleware as it is. Anything a handler
 * throws must come out as the core's `errorResponse()` (JSON `{ error: { code, message } }`),
 * never the framework's HTML error page.
 */
export interface Framework {
  name: 'express' | 'koa' | 'fastify';
  start(manager: SessionManager, options?: StartOptions): Promise<TestServer>;
}

/** What {@link Framework.start} may be given besides the manager. */
export interface StartOptions {
  middleware?: SessionHttpOptions;
  routes?: SelfServiceOptions;
  /** Serve the lab routes over these labs at {@link LABS_PREFIX}. */
  labs?: Labs;
  labRoutes?: LabRoutesOptions;
  /** Serve HTTPS with this key and certificate (see {@link testCertificate}) instead of plain HTTP. */
  tls?: TestCertificate;
}

/** A PEM key and a self-signed certificate for 127.0.0.1. */
export interface TestCertificate {
  key: string;
  cert: string;
}

let certificate: TestCertificate | undefined;

/** A fresh self-signed certificate for IP 127.0.0.1, made once per test file by the system's openssl. */
export function testCertificate(): TestCertificate {
  if (certificate !== undefined) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-tls-'));
  try {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'pipe' });
    certificate = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Where the test apps serve the self-service routes. */
export const SESSIONS_PREFIX = '/api/v1/me/sessions';
/** Where the test apps serve the lab routes (with `options.labs`). */
export const LABS_PREFIX = '/api/v1/me/labs';

/**
 * The frameworks the end-to-end suite runs over. The Koa and Fastify wrappers' authors add
 * test/http/servers/koa.ts and test/http/servers/fastify.ts and append their factory here.
 */
export const frameworks: Framework[] = [express, koa, fastify];
