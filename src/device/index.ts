export { createDeviceParser, parseDevice, MAX_USER_AGENT_LENGTH } from './device-parser.js';
export type { DeviceHeaders, DeviceInfo, DeviceInput, DeviceParser, DeviceParserOptions, NameVersion } from './device-parser.js';
