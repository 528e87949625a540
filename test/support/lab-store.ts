import type { SessionStore } from '../../src/index.js';
import type { LabStore } from '../../src/labs/index.js';
import type { LabStoreUnderTest } from '../../src/testing/index.js';

/**
 * The lab store a store offers: `store.labs`, or, for a store that still implements the lab methods
 * itself (the SQL stores, until they gain `labs`), the store.
 */
export function labStoreOf(store: SessionStore): LabStore {
  return (store as { labs?: LabStore }).labs ?? (store as unknown as LabStore);
}

/** A store as `runLabStoreConformance` takes it: its lab store, closed with it. */
export function labsUnderTest(store: SessionStore): LabStoreUnderTest {
  return { labs: labStoreOf(store), close: () => store.close() };
}
