/**
 * The exported conformance suite, as a third-party adapter runs it: the built `sessionkeeper/http/testing`
 * over the `node:http` wrapper of servers/node-http.ts, which uses nothing but `sessionkeeper/http`.
 * Runs against dist/ (`npm run build` first, as `npm test` does).
 */
import { memoryStore } from 'sessionkeeper/memory';
import { runHttpAdapterConformance } from 'sessionkeeper/http/testing';
import { nodeHttp } from './servers/node-http.js';

runHttpAdapterConformance(nodeHttp, { store: () => memoryStore() });
