export { dockerLabs, LAB_LABELS } from './docker-labs.js';
export type { DockerLabsOptions } from './docker-labs.js';
export type { LabContainerTemplate, LabTemplate } from './templates.js';
export { LabError, LAB_ERROR_CODES } from '../../../src/labs/types.js';
export type {
  Lab,
  LabContainer,
  LabContainerStats,
  LabErrorCode,
  LabEvents,
  LabNetwork,
  Labs,
  LabStats,
  LabStatus,
  LabStopReason,
  ReconcileReport,
} from '../../../src/labs/types.js';
