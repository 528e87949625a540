import type { SessionStore } from '../../src/index.js';
import type { LabStore } from '../../src/labs/index.js';
import type { LabStoreUnderTest } from '../../src/testing/index.js';

/** A built-in store as `runLabStoreConformance` takes it: its lab store, closed with it. */
export function labsUnderTest(store: SessionStore & { readonly labs: LabStore }): LabStoreUnderTest {
  return { labs: store.labs, close: () => store.close() };
}
