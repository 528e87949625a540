export { createSessionManager } from './session-manager.js';
export type {
  CreateSessionInput,
  ExtendOptions,
  InvalidReason,
  ManagerCapabilities,
  SessionManager,
  SessionManagerOptions,
  SessionPreset,
  ValidateContext,
  ValidationCacheOptions,
  ValidationResult,
} from './session-manager.js';
export { isActivityStore, isAlertStore, storeCapabilities } from './contracts.js';
export { SessionError, isSessionError, ERROR_CODES, SessionkeeperError, isSessionkeeperError, registerErrorCodes, errorCodeInfo, registeredErrorCodes } from './errors.js';
export type { SessionErrorCode, ErrorCodeInfo, ErrorDetails, SessionkeeperErrorOptions } from './errors.js';
export { parseDuration } from './duration.js';
export type { Duration } from './duration.js';
export { TOKEN_PREFIX } from './token.js';
export { createDeviceParser, parseDevice } from './device/index.js';
export type { DeviceHeaders, DeviceInfo, DeviceInput, DeviceParser, DeviceParserOptions, NameVersion } from './device/index.js';
export { clientIp, createClientIpResolver, createIpProtector, normalizeIp } from './net/index.js';
export type {
  ClientIpOptions,
  ClientIpRequest,
  ClientIpResolver,
  HeadersLike,
  IpPrivacyMode,
  IpProtector,
  IpProtectorOptions,
  ProxyHeader,
  TrustProxy,
} from './net/index.js';
export type {
  Alert,
  AlertOccurrence,
  AlertQuery,
  AlertSeverity,
  AlertStatus,
  AlertStore,
  CounterStore,
  RotatedToken,
  ActivityCategory,
  ActivityQuery,
  ActivityRecord,
  ActivityStore,
  DeviceClass,
  EpochMs,
  FullSessionStore,
  NewSessionRecord,
  ScanFilter,
  Session,
  SessionDevice,
  SessionInvalidation,
  SessionLimit,
  SessionMetadata,
  SessionStatus,
  SessionStore,
  StoreCapabilities,
} from './contracts.js';
export type { SessionEvents, SessionEventListener } from './events.js';
export type { SessionStats, StatsOptions } from './stats.js';
export type { Clock } from './clock.js';
export type { ActivityEvent, ActivityListOptions, ActivityLog, ActivityOptions, ActivityPage, ActivityStats } from './activity/activity-logger.js';
export type { CategoryRule } from './activity/classify.js';
export { ALERT_SEVERITIES } from './alerts/severity.js';
export type {
  AlertAction,
  AlertCenter,
  AlertEngineStats,
  AlertQueueStats,
  AlertEvent,
  AlertEventType,
  AlertFinding,
  AlertListOptions,
  AlertOptions,
  AlertPage,
  AlertRule,
  AlertRuleContext,
  BuiltinRuleOptions,
  BuiltinRules,
  GeoLocation,
  GeoResolver,
} from './alerts/types.js';
