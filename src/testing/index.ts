export { runSessionStoreConformance } from './conformance.js';
export type { ConformanceOptions } from './conformance.js';
export { manualClock } from '../clock.js';
export type { ManualClock } from '../clock.js';
