import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../clock.js';
import type { SessionStore } from '../../contracts.js';
import { invalidConfig, SessionError } from '../../errors.js';
import { createSessionManager } from '../../session-manager.js';
import { csrfCases } from './cases-csrf.js';
import { cookieTossingCases, hostileInputCases, trackingCases } from './cases-hostile.js';
import { authenticationCases, cookieCases, extendBoundCases, selfServiceCases } from './cases-sessions.js';
import { CHROME_WINDOWS, expectError, HttpTestClient, SELF, SID, T0 } from './conformance-client.js';
import type { HttpAdapterUnderTest } from './conformance-types.js';
import type { Setup, SetupOptions, Suite } from './suite.js';

/** Options of {@link runHttpAdapterConformance}. */
export interface HttpConformanceOptions {
  /** A fresh, migrated or migratable store for each case: `() => memoryStore()` from `sessionkeeper/memory`. */
  store: () => SessionStore;
  /**
   * What the adapter can do. `tls` (default `true`): its `start()` serves HTTPS when given
   * `options.tls`, and the system has `openssl` to make the certificate. With `false` the one TLS
   * case is reported as skipped, by name.
   */
  capabilities?: { tls?: boolean };
}

/**
 * The end-to-end suite every HTTP adapter of sessionkeeper passes (Express, Koa, Fastify and a plain
 * `node:http` wrapper in this repository): the test app of {@link HttpAdapterUnderTest} over real
 * HTTP on 127.0.0.1 with Node's fetch. Cookies and their attributes, bearer tokens, re-login,
 * every self-service route, rotation, expiry, hostile headers, CSRF (origins, Sec-Fetch-Site, login
 * CSRF, the origin's scheme over TLS and behind proxies), cookie tossing, a failing store (503, never
 * "logged out") and activity tracking. Call it at the top level of a vitest file.
 *
 * @example
 * import { memoryStore } from 'sessionkeeper/memory';
 * import { runHttpAdapterConformance } from 'sessionkeeper/http/testing';
 * runHttpAdapterConformance({ name: 'hono', start: startHonoTestApp }, { store: () => memoryStore() });
 */
export function runHttpAdapterConformance(adapter: HttpAdapterUnderTest, options: HttpConformanceOptions): void {
  if (adapter === null || typeof adapter !== 'object' || typeof adapter.start !== 'function') {
    invalidConfig('the adapter under test', 'must have a name and a start(manager, options) function');
  }
  if (options === null || typeof options !== 'object' || typeof options.store !== 'function') {
    invalidConfig('options.store', 'must be a function that returns a fresh session store');
  }
  describe(`HTTP adapter conformance: ${adapter.name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    const setup = async (given: SetupOptions = {}): Promise<Setup> => {
      const clock = manualClock(T0);
      const store = given.store ?? options.store();
      await store.migrate();
      const manager = createSessionManager({ store, clock: clock.now, ...given.manager });
      const server = await adapter.start(manager, { middleware: given.middleware, routes: given.routes, tls: given.tls });
      cleanups.push(async () => {
        await server.close();
        await manager.close().catch(() => {});
      });
      return { manager, server, clock, app: new HttpTestClient(server) };
    };
    const suite: Suite = { setup, capabilities: { tls: options.capabilities?.tls ?? true } };

    cookieCases(suite);
    authenticationCases(suite);
    selfServiceCases(suite);
    extendBoundCases(suite);
    hostileInputCases(suite);
    csrfCases(suite);
    cookieTossingCases(suite);
    storageFailureCases(suite, options.store);
    trackingCases(suite);
  });
}

// --- internal ---

function storageFailureCases({ setup }: Suite, createStore: () => SessionStore): void {
  describe('storage failure', () => {
    it('a store that fails answers 503 STORE_UNAVAILABLE: never 401, never 200, the cookie kept, no stack trace', async () => {
      const store = failingStore(createStore());
      const { app } = await setup({ store, manager: { alerts: false } });
      const a = await app.login('alice', CHROME_WINDOWS);
      expect((await app.get('/protected', { cookie: a.cookie })).status).toBe(200);

      store.fail();
      for (const reply of [
        await app.get('/protected', { cookie: a.cookie }),
        await app.get('/protected', { bearer: a.token }),
        await app.get('/public', { cookie: a.cookie }),
        // Several session cookies are validated together: one failure is the answer.
        await app.get('/public', { cookie: `${a.cookie}; ${SID}=skt_${'A'.repeat(32)}` }),
        await app.get(SELF, { cookie: a.cookie }),
        await app.post('/logout', { cookie: a.cookie }),
      ]) {
        expectError(reply, 503, 'STORE_UNAVAILABLE');
        // An outage is not "logged out": the cookie stays.
        expect(reply.cookies).toEqual([]);
        expect(reply.text).not.toContain(FAILURE_DETAIL);
      }
      expectError(await app.post('/login', { ua: CHROME_WINDOWS, body: { userId: 'bob' } }), 503, 'STORE_UNAVAILABLE');
    });
  });
}

/** Text of the failing store's errors, which must never reach a response. */
const FAILURE_DETAIL = 'conformance: the store is down (connection refused at 10.0.0.1:5432)';

/** `store`, until `fail()`: then every operation fails as a store whose database went away. */
function failingStore(store: SessionStore): SessionStore & { fail(): void } {
  let failing = false;
  const failure = () => new SessionError('STORE_UNAVAILABLE', FAILURE_DETAIL);
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'fail') return () => void (failing = true);
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return typeof value === 'function' ? value.bind(target) : value;
      return (...args: unknown[]) => {
        if (!failing) return (value as (...a: unknown[]) => unknown).apply(target, args);
        if (property === 'scan') return failingIterable(failure());
        return Promise.reject(failure());
      };
    },
  });
  return wrapped as SessionStore & { fail(): void };
}

function failingIterable(error: Error): AsyncIterable<never> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
  };
}
