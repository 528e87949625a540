/**
 * The HTTP entries of the built package (dist/, `npm run build` first) as a user loads them by name
 * from a child Node process: `sessionkeeper/http` in both module systems without any framework or
 * vitest, `sessionkeeper/http/testing` as ESM, and the Fastify plugin's default export.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bareImportsOf } from '../support/bundle-imports.js';

const root = resolve(import.meta.dirname, '..', '..');
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();
const LOADED = `Object.keys(require.cache).filter((f) => /node_modules[\\\\/](express|koa|fastify|fastify-plugin|vitest|better-sqlite3|pg)[\\\\/]/.test(f))`;

describe('built HTTP entries', () => {
  it('sessionkeeper/http loads in both module systems, shares the core\'s SessionError, and loads no framework, no vitest and no lab code', () => {
    const script = (load: string) =>
      `${load}
       let shared = null;
       try { http.checkPrefix('no-slash', 'prefix') } catch (e) { shared = e instanceof core.SessionError && e.code }
       const names = ['createSessionHttp', 'createSelfService', 'routeTable', 'serveRoute', 'pathBelow', 'sendResponse', 'fromNodeRequest', 'readJsonBody'];
       console.log(names.every((n) => typeof http[n] === 'function'), shared, JSON.stringify(${LOADED}), JSON.stringify(Object.keys(http).filter((n) => /lab/i.test(n))));`;
    const esm = node(['--input-type=module', '-e', script(`import * as core from 'sessionkeeper'; import * as http from 'sessionkeeper/http'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);`)]);
    const cjs = node(['-e', script(`const core = require('sessionkeeper'); const http = require('sessionkeeper/http');`)]);
    for (const out of [esm, cjs]) expect(out).toBe('true INVALID_CONFIG [] []');
  });

  it('sessionkeeper/http and the chunks it imports name no framework and no vitest (the ESM build)', () => {
    const bare = bareImportsOf(join(root, 'dist/http.js'));
    // Only Node built-ins and the package's own dependencies, none of which is a framework.
    const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect([...bare].filter((spec) => !isBuiltin(spec) && !(spec in dependencies))).toEqual([]);
    expect([...bare].filter((spec) => /vitest|express|koa|fastify/.test(spec))).toEqual([]);
  });

  it('sessionkeeper/http/testing ships the conformance suite as ESM', () => {
    const out = node(['--input-type=module', '-e', `const t = await import('sessionkeeper/http/testing'); console.log(typeof t.runHttpAdapterConformance, typeof t.HttpTestClient)`]);
    expect(out).toBe('function function');
  });

  it("sessionkeeper/fastify's default export is the plugin, in both module systems", () => {
    const esm = node(['--input-type=module', '-e', `import sessionkeeper, * as named from 'sessionkeeper/fastify'; console.log(sessionkeeper === named.sessionkeeper, sessionkeeper[Symbol.for('skip-override')])`]);
    const cjs = node(['-e', `const f = require('sessionkeeper/fastify'); console.log(f.default === f.sessionkeeper, f.default[Symbol.for('skip-override')])`]);
    for (const out of [esm, cjs]) expect(out).toBe('true true');
  });
});
