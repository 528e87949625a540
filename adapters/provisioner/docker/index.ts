export { dockerLabs } from './docker-labs.js';
export type { DockerLabsOptions } from './docker-labs.js';
export { LAB_LABELS } from './lab-docker.js';
export type { DockerClient, DockerContainerHandle, DockerContainerInfo, DockerFilters, DockerNetworkHandle, DockerNetworkInfo } from './docker-client.js';
export type { LabContainerTemplate, LabTemplate } from './templates.js';
export { LabError, LAB_ERROR_CODES } from '../../../src/labs/index.js';
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
  LabStore,
  ReconcileReport,
} from '../../../src/labs/index.js';
