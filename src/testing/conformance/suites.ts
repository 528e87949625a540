import { describe } from 'vitest';
import type { ActivityStore, AlertStore, SessionStore } from '../../contracts.js';
import { describeActivity } from './activity.js';
import { describeAlertCleanup, describeAlertStorage, describeCounters } from './alerts.js';
import { checkSuiteOptions, useHarness, type CapabilityConformanceOptions, type ConformanceOptions, type Harness } from './harness.js';
import { describeConcurrency, describeClose, describeEvents, describeSecrets } from './sessions-concurrency.js';
import { describeExpiry, describeRotation, describeTouchThrottling } from './sessions-expiry.js';
import { describeBadInput, describeLimits } from './sessions-input.js';
import { describeLifecycle, describeStoreGuards, describeUpdate } from './sessions-lifecycle.js';
import { describeListing, describeRevocation, describeStats } from './sessions-listing.js';
import { describeCleanup, describeMigration, describeRotatedTokens, describeRoundTrip } from './sessions-maintenance.js';

/**
 * Registers the required part of the storage conformance suite with vitest: every behaviour of the
 * {@link SessionStore} contract (sessions and rotation records), driven through
 * `createSessionManager` with a manual clock. A store that implements only these methods passes
 * it; its managers run with activity and alerts off. Call it at the top level of a test file (or
 * inside a `describe`), once per store configuration.
 *
 * Tests that need an optional hook (`createPeerStore`, `dump`) are reported as skipped, with the hook
 * named in their title, when it is not given.
 *
 * @example
 * import { runSessionConformance } from 'sessionkeeper/testing';
 *
 * runSessionConformance('my store', { createStore: async () => { const s = myStore(); await s.migrate(); return s; } });
 */
export function runSessionConformance(name: string, options: ConformanceOptions): void {
  checkSuiteOptions(options, 'runSessionConformance');
  describe(`SessionStore conformance (sessions): ${name}`, () => describeSessionGroups(useHarness(options), options));
}

/**
 * Registers the conformance suite of the activity capability ({@link ActivityStore}): rows round-trip,
 * order, filters, keyset pages, idempotent batches, retention, and the manager's activity log over
 * the store. The store under test may hold only activity: pass `createSessionStore` for the sessions.
 *
 * @example
 * import { runActivityStoreConformance } from 'sessionkeeper/testing';
 * import { memoryStore } from 'sessionkeeper/memory';
 *
 * runActivityStoreConformance('my audit log', { createStore: () => myActivityStore(), createSessionStore: () => memoryStore() });
 */
export function runActivityStoreConformance(name: string, options: CapabilityConformanceOptions<ActivityStore>): void {
  checkSuiteOptions(options, 'runActivityStoreConformance');
  describe(`ActivityStore conformance: ${name}`, () => describeActivity(useHarness(options)));
}

/**
 * Registers the conformance suite of the alerts capability ({@link AlertStore} with its hit
 * counters): raising and folding, status changes, listing, retention, counters, and the manager's
 * alerts over the store. The store under test may hold only alerts: pass `createSessionStore`.
 *
 * @example
 * import { runAlertStoreConformance } from 'sessionkeeper/testing';
 * import { memoryStore } from 'sessionkeeper/memory';
 *
 * runAlertStoreConformance('my alert store', { createStore: () => myAlertStore(), createSessionStore: () => memoryStore() });
 */
export function runAlertStoreConformance(name: string, options: CapabilityConformanceOptions<AlertStore>): void {
  checkSuiteOptions(options, 'runAlertStoreConformance');
  describe(`AlertStore conformance: ${name}`, () => describeAlertGroups(useHarness(options), options));
}

/** Every group of the session suite, in the order the run-all registers them. */
export function describeSessionGroups(t: () => Harness, options: ConformanceOptions): void {
  describeLifecycle(t);
  describeStoreGuards(t);
  describeExpiry(t);
  describeTouchThrottling(t);
  describeRotation(t);
  describeUpdate(t);
  describeRevocation(t);
  describeListing(t);
  describeStats(t);
  describeCleanup(t);
  describeMigration(t, options);
  describeRoundTrip(t);
  describeBadInput(t);
  describeLimits(t);
  describeConcurrency(t, options);
  describeSecrets(t, options);
  describeEvents(t);
  describeRotatedTokens(t);
  describeClose(t);
}

/** Every group of the alerts suite. */
export function describeAlertGroups(t: () => Harness<AlertStore>, options: { readonly createPeerStore?: unknown }): void {
  describeAlertStorage(t);
  describeAlertCleanup(t);
  describeCounters(t, options);
}
