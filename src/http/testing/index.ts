export { runHttpAdapterConformance } from './http-conformance.js';
export type { HttpConformanceOptions } from './http-conformance.js';
export { SESSIONS_PREFIX } from './conformance-types.js';
export type { AdapterServer, AdapterStartOptions, HttpAdapterUnderTest, TestCertificate } from './conformance-types.js';
export { testCertificate } from './certificate.js';
export { Browser, CHROME_WINDOWS, expectCleared, expectError, HttpTestClient, SAFARI_IPHONE, tlsRequest } from './conformance-client.js';
export type { ErrorBody, Reply, RequestOptions, SetCookie } from './conformance-client.js';
