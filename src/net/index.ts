export { clientIp, createClientIpResolver, createPeerTrust } from './client-ip.js';
export type {
  ClientIpOptions,
  ClientIpRequest,
  ClientIpResolver,
  HeadersLike,
  ProxyHeader,
  TrustProxy,
} from './client-ip.js';
export { createIpProtector } from './ip-privacy.js';
export type { IpPrivacyMode, IpProtector, IpProtectorOptions } from './ip-privacy.js';
export { normalizeIp } from './ip-address.js';
