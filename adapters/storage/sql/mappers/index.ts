export { activityValue, toActivity } from './activity-mapper.js';
export { ALERT_AT, toAlert } from './alert-mapper.js';
export { numberOrNull, parseJson } from './json.js';
export { toLab } from './lab-mapper.js';
export { rotatedHashOf, rotatedTokenMapper } from './rotated-token-mapper.js';
export { deviceKeyOf, metadataOf, SessionMapper, sessionIdOf, UNRESOLVED_DEVICE } from './session-mapper.js';
