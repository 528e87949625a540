import type { SelfServiceOptions } from '../self-service.js';
import type { SessionHttpOptions } from '../types.js';
import type { SessionManager } from '../../session-manager.js';

/** A running app of the adapter under test, on an ephemeral port of 127.0.0.1. */
export interface AdapterServer {
  /** `http://127.0.0.1:<port>` (`https://` with `tls`), no trailing slash. */
  readonly url: string;
  /** Stops listening and drops open connections (keep-alive ones included). */
  close(): Promise<void>;
}

/** What {@link HttpAdapterUnderTest.start} may be given besides the manager. */
export interface AdapterStartOptions {
  /** For the adapter's session middleware, as it is. */
  middleware?: SessionHttpOptions | undefined;
  /** For the self-service routes. */
  routes?: SelfServiceOptions | undefined;
  /** Serve HTTPS with this PEM key and certificate instead of plain HTTP. */
  tls?: TestCertificate | undefined;
}

/**
 * The adapter under test: a factory for THE test app, which every adapter serves alike. Routes:
 *
 * | route | behaviour |
 * | --- | --- |
 * | `POST /login` JSON `{ "userId": "..." }` | the adapter's login helper → 200 `{ id, token }`; malformed JSON → 400 `INVALID_BODY` |
 * | `GET /callback?userId=...` | the login helper from a GET (an OAuth/OIDC redirect callback) → 200 `{ id, token }` |
 * | `POST /logout` | the logout helper → 204, no body |
 * | `POST /rotate` (needs a session) | the rotate helper → 200 `{ id, token }` |
 * | `GET /protected` (needs a session) | 200 `{ userId, sessionId }`, else 401 `UNAUTHENTICATED` |
 * | `GET /public` | 200 `{ sessionId: id \| null }` |
 * | `/api/v1/me/sessions/...` ({@link SESSIONS_PREFIX}) | the self-service routes, with `options.routes` |
 *
 * `options.middleware` goes to the session middleware as it is. Anything a handler throws must come
 * out as the core's `errorResponse()` (JSON `{ error: { code, message } }`), never an HTML page.
 */
export interface HttpAdapterUnderTest {
  /** Shown in the suite's name. */
  readonly name: string;
  start(manager: SessionManager, options?: AdapterStartOptions): Promise<AdapterServer>;
}

/** A PEM key and a self-signed certificate for 127.0.0.1. */
export interface TestCertificate {
  key: string;
  cert: string;
}

/** Where the test app serves the self-service routes. */
export const SESSIONS_PREFIX = '/api/v1/me/sessions';