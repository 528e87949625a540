export { runActivityStoreConformance, runAlertStoreConformance, runSessionConformance, runSessionStoreConformance } from './conformance.js';
export type { CapabilityConformanceOptions, ConformanceCapabilities, ConformanceOptions } from './conformance.js';
export { runLabStoreConformance } from './lab-conformance.js';
export type { LabStoreConformanceOptions, LabStoreUnderTest } from './lab-conformance.js';
export { manualClock } from '../clock.js';
export type { ManualClock } from '../clock.js';
