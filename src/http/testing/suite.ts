import type { ManualClock } from '../../clock.js';
import type { SessionStore } from '../../contracts.js';
import type { SessionManager, SessionManagerOptions } from '../../session-manager.js';
import type { SelfServiceOptions } from '../self-service.js';
import type { SessionHttpOptions } from '../types.js';
import type { HttpTestClient } from './conformance-client.js';
import type { AdapterServer, TestCertificate } from './conformance-types.js';

/** What one case may ask of {@link Suite.setup}. */
export interface SetupOptions {
  middleware?: SessionHttpOptions;
  routes?: SelfServiceOptions;
  /** Default: a fresh one from the suite's `store` option. */
  store?: SessionStore;
  manager?: Partial<SessionManagerOptions>;
  tls?: TestCertificate;
}

/** A manager at T0 on a manual clock, the app serving it, and a client for it. */
export interface Setup {
  manager: SessionManager;
  server: AdapterServer;
  clock: ManualClock;
  app: HttpTestClient;
}

/** What the case modules are given by the runner. */
export interface Suite {
  setup(options?: SetupOptions): Promise<Setup>;
  readonly capabilities: { readonly tls: boolean };
}
