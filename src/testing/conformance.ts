import { describe, it } from 'vitest';
import { storeCapabilities, type ActivityStore, type AlertStore, type SessionStore } from '../contracts.js';
import { describeActivity } from './conformance/activity.js';
import { checkSuiteOptions, useHarness, type ConformanceOptions as SuiteOptions, type Harness as SuiteHarness } from './conformance/harness.js';
import { describeAlertGroups, describeSessionGroups } from './conformance/suites.js';

export { runActivityStoreConformance, runAlertStoreConformance, runSessionConformance } from './conformance/suites.js';
export type { CapabilityConformanceOptions } from './conformance/harness.js';

/** Which optional parts {@link runSessionStoreConformance} runs; each defaults to "detected". */
export interface ConformanceCapabilities {
  readonly activity?: boolean;
  readonly alerts?: boolean;
}

/** How {@link runSessionStoreConformance} obtains and disposes of the store under test. */
export interface ConformanceOptions extends SuiteOptions {
  /**
   * Optional: which capability suites to run. Default: detected from one store that the suite
   * creates (and destroys) while it registers its tests, with `storeCapabilities()`.
   */
  capabilities?: ConformanceCapabilities;
}

/**
 * Registers the whole storage conformance suite with vitest: the session suite
 * (`runSessionConformance`) and the suite of every optional capability the store offers
 * (`runActivityStoreConformance`, `runAlertStoreConformance`). Lab storage has its own suite,
 * `runLabStoreConformance`. A capability the store
 * lacks is reported as a skipped test whose title names it and why. Call it at the top level of a
 * test file (or inside a `describe`), once per store configuration.
 *
 * Tests that need an optional hook (`createPeerStore`, `dump`) are reported as skipped, with the hook
 * named in their title, when it is not given.
 *
 * @example
 * import { runSessionStoreConformance } from 'sessionkeeper/testing';
 * import { memoryStore } from 'sessionkeeper/memory';
 *
 * runSessionStoreConformance('memory', { createStore: () => memoryStore() });
 */
export function runSessionStoreConformance(name: string, options: ConformanceOptions): void {
  checkSuiteOptions(options, 'runSessionStoreConformance');
  describe(`SessionStore conformance: ${name}`, async () => {
    const found = await detectCapabilities(options);
    const t = useHarness(options);
    describeSessionGroups(t, options);
    for (const part of PARTS) {
      const reason = found.failure ?? (found.capabilities[part] ? null : MISSING[part]);
      if (reason !== null) it.skip(`${part}: skipped, ${reason}`, () => {});
      else if (part === 'activity') describeActivity(t as unknown as () => SuiteHarness<FullStore>);
      else describeAlertGroups(t as unknown as () => SuiteHarness<FullStore>, options);
    }
  });
}

// --- internal ---

type FullStore = SessionStore & ActivityStore & AlertStore;

const PARTS = ['activity', 'alerts'] as const;
const MISSING: Readonly<Record<(typeof PARTS)[number], string>> = {
  activity: 'the store has no activity capability (ActivityStore: insertActivity, listActivity, deleteActivityBefore)',
  alerts: 'the store has no alerts capability (AlertStore: raiseAlert, listAlerts, setAlertStatus, deleteAlertsBefore, hitCounter, deleteCountersBefore)',
};

/** The capabilities to test: as given, else probed on one store made (and destroyed) for it. */
async function detectCapabilities(
  options: ConformanceOptions,
): Promise<{ capabilities: Required<ConformanceCapabilities>; failure: string | null }> {
  const given = options.capabilities ?? {};
  if (given.activity !== undefined && given.alerts !== undefined) {
    return { capabilities: { activity: given.activity, alerts: given.alerts }, failure: null };
  }
  try {
    const probe = await options.createStore();
    const detected = storeCapabilities(probe);
    await probe.close();
    await options.destroyStore?.(probe);
    return {
      capabilities: { activity: given.activity ?? detected.activity, alerts: given.alerts ?? detected.alerts },
      failure: null,
    };
  } catch (err) {
    // Reported in the skipped tests' titles; the session suite's own tests then show the failure.
    return { capabilities: { activity: false, alerts: false }, failure: `the capability probe failed (${err instanceof Error ? err.message : String(err)})` };
  }
}
