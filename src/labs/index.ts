export { assertBelowLabLimits, LAB_ERROR_CODES, LAB_STATUS_BY_CODE, LabError } from './errors.js';
export type { LabErrorCode } from './errors.js';
export { LIVE_LAB_STATUSES } from './types.js';
export type {
  Lab,
  LabChanges,
  LabContainer,
  LabContainerStats,
  LabEvents,
  LabExpectation,
  LabLimits,
  LabNetwork,
  LabQuery,
  Labs,
  LabStats,
  LabStatus,
  LabStopReason,
  LabStore,
  NewLabRecord,
  ReconcileReport,
} from './types.js';
export { createLabRoutes, labView } from './lab-routes.js';
export type { LabRoutes, LabRoutesOptions, LabRoutesRequest, LabStatsView, LabView } from './lab-routes.js';
