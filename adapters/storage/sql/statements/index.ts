export { activityStatements, type ActivityStatements } from './activity.js';
export { alertStatements, type AlertStatements } from './alerts.js';
export { counterStatements, type CounterStatements } from './counters.js';
export { labStatements, statusParams, statusValues, type LabStatements } from './labs.js';
export { rotationStatements, type RotationStatements } from './rotation.js';
export { isActive, sessionStatements, touchColumns, type SessionStatements } from './sessions.js';
