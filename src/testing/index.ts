export { runActivityStoreConformance, runAlertStoreConformance, runSessionConformance, runSessionStoreConformance } from './conformance.js';
export type { CapabilityConformanceOptions, ConformanceCapabilities, ConformanceOptions } from './conformance.js';
export { manualClock } from '../clock.js';
export type { ManualClock } from '../clock.js';
