/**
 * The published package as a user gets it: `npm test` builds dist/ first, and these tests load it
 * by name from a child Node process, in both module systems, so broken exports or a driver
 * leaking into the core entry fail here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bareImportsOf, filesOf } from './support/bundle-imports.js';

const root = resolve(import.meta.dirname, '..');
/** What only lab code contains: its error class and codes, its store calls, its ids and Docker names. */
const LAB_CODE = /\bLabError\b|LAB_ERROR_CODES|LAB_STATUS_BY_CODE|LIVE_LAB_STATUSES|insertLab|deleteLabsEndedBefore|generateLabId|sk-lab-|lab_\[/;

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

describe('built package', () => {
  it('has been built (npm test runs tsup before vitest)', () => {
    expect(existsSync(join(root, 'dist/index.js'))).toBe(true);
  });

  it('runs a session lifecycle through the ESM build of sessionkeeper and sessionkeeper/sqlite', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import { createSessionManager, SessionError } from 'sessionkeeper';
       import { sqliteStore } from 'sessionkeeper/sqlite';
       import { memoryStore } from 'sessionkeeper/memory';
       for (const store of [sqliteStore({ filename: ':memory:' }), memoryStore()]) {
         await store.migrate();
         const sessions = createSessionManager({ store });
         const { token } = await sessions.create({ userId: 'u' });
         const r = await sessions.validate(token);
         const malformed = await sessions.validate('x');
         let code = null;
         try { await sessions.validate(42) } catch (e) { code = e instanceof SessionError ? e.code : 'wrong class' }
         console.log(store.kind, r.ok, malformed.reason, code);
         await sessions.close();
       }`,
    ]);
    expect(out.trim().split('\n')).toEqual(['sqlite true malformed INVALID_TOKEN', 'memory true malformed INVALID_TOKEN']);
  });

  it('loads every entry through require() (CommonJS build)', () => {
    const out = node([
      '-e',
      `const core = require('sessionkeeper');
       const entries = ['memory', 'sqlite', 'postgres', 'redis'].map((e) => Object.keys(require('sessionkeeper/' + e)).join(','));
       console.log(typeof core.createSessionManager, typeof core.SessionError, entries.join(' | '));`,
    ]);
    expect(out.trim()).toBe('function function memoryStore | sqliteStore | postgresInvalidation,postgresStore | redisInvalidation,redisStore');
  });

  it('loads sessionkeeper/express in both module systems, sharing the core\'s SessionError, without loading express itself', () => {
    const script = (load: string) =>
      `${load}
       let shared = null;
       try { express.sessionMiddleware({}) } catch (e) { shared = e instanceof core.SessionError && e.code }
       const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/]express[\\\\/]/.test(f));
       console.log(Object.keys(express).sort().join(','), shared, JSON.stringify(loaded));`;
    const esm = node([
      '--input-type=module',
      '-e',
      script(`import * as core from 'sessionkeeper'; import * as express from 'sessionkeeper/express'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);`),
    ]);
    const cjs = node(['-e', script(`const core = require('sessionkeeper'); const express = require('sessionkeeper/express');`)]);
    for (const out of [esm, cjs]) expect(out.trim()).toBe('labRoutes,requireSession,sessionErrorHandler,sessionMiddleware,sessionRoutes INVALID_CONFIG []');
  });

  it('loads sessionkeeper/koa in both module systems, sharing the core\'s SessionError, without loading koa itself', () => {
    const script = (load: string) =>
      `${load}
       let shared = null;
       try { koa.sessionRoutes({}, { prefix: 'no-slash' }) } catch (e) { shared = e instanceof core.SessionError && e.code }
       const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/]koa[\\\\/]/.test(f));
       console.log(Object.keys(koa).sort().join(','), shared, JSON.stringify(loaded));`;
    const esm = node([
      '--input-type=module',
      '-e',
      script(`import * as core from 'sessionkeeper'; import * as koa from 'sessionkeeper/koa'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);`),
    ]);
    const cjs = node(['-e', script(`const core = require('sessionkeeper'); const koa = require('sessionkeeper/koa');`)]);
    for (const out of [esm, cjs]) expect(out.trim()).toBe('labRoutes,requireSession,sessionErrorHandler,sessionMiddleware,sessionRoutes INVALID_CONFIG []');
  });

  it('loads sessionkeeper/fastify in both module systems, sharing the core\'s SessionError, without loading fastify itself', () => {
    const script = (load: string) =>
      `${load}
       const app = { decorateRequest() {}, addHook() {}, register() {} };
       Promise.resolve(fastify.sessionkeeper(app, { manager: {} })).then(
         () => 'no error',
         (e) => e instanceof core.SessionError && e.code,
       ).then((shared) => {
         const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/]fastify[\\\\/]/.test(f));
         // fastify-plugin's mark: the plugin's decorations and hooks reach the whole app.
         const appWide = fastify.sessionkeeper[Symbol.for('skip-override')] === true;
         console.log(Object.keys(fastify).sort().join(','), shared, appWide, JSON.stringify(loaded));
       });`;
    const esm = node([
      '--input-type=module',
      '-e',
      script(`import * as core from 'sessionkeeper'; import * as fastify from 'sessionkeeper/fastify'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);`),
    ]);
    const cjs = node(['-e', script(`const core = require('sessionkeeper'); const fastify = require('sessionkeeper/fastify');`)]);
    for (const out of [esm, cjs]) expect(out.trim()).toBe('default,requireSession,sessionErrorHandler,sessionkeeper INVALID_CONFIG true []');
  });

  it('loads sessionkeeper/docker in both module systems: one LabError with sessionkeeper/labs, the core\'s SessionError, config checked at once', () => {
    const script = (load: string) =>
      `${load}
       const store = memory.memoryStore();
       const manager = core.createSessionManager({ store });
       let code = null;
       try { docker.dockerLabs({ manager, store: store.labs, addressPool: '10.10.0.1/16', templates: {} }) } catch (e) { code = e instanceof core.SessionError && e.code }
       console.log(Object.keys(docker).sort().join(','), docker.LabError === labs.LabError, code);
       manager.close();`;
    const esm = node([
      '--input-type=module',
      '-e',
      script(`import * as core from 'sessionkeeper'; import * as memory from 'sessionkeeper/memory'; import * as docker from 'sessionkeeper/docker'; import * as labs from 'sessionkeeper/labs';`),
    ]);
    const cjs = node(['-e', script(`const core = require('sessionkeeper'); const memory = require('sessionkeeper/memory'); const docker = require('sessionkeeper/docker'); const labs = require('sessionkeeper/labs');`)]);
    for (const out of [esm, cjs]) expect(out.trim()).toBe('LAB_ERROR_CODES,LAB_LABELS,LabError,dockerLabs true INVALID_CONFIG');
  });

  it('loads sessionkeeper/labs in both module systems without Docker: its errors answer HTTP with their own status through the core', () => {
    const script = (load: string) =>
      `${load}
       const answer = http.errorResponse(new labs.LabError('LAB_LIMIT', 'Stop a lab first'));
       const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](dockerode|docker-modem)[\\\\/]/.test(f));
       console.log(Object.keys(labs).sort().join(','), answer.status, answer.body.error.code, JSON.stringify(loaded));`;
    const esm = node([
      '--input-type=module',
      '-e',
      script(`import * as labs from 'sessionkeeper/labs'; import * as http from 'sessionkeeper/http'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);`),
    ]);
    const cjs = node(['-e', script(`const labs = require('sessionkeeper/labs'); const http = require('sessionkeeper/http');`)]);
    const names = 'LAB_ERROR_CODES,LAB_STATUS_BY_CODE,LIVE_LAB_STATUSES,LabError,assertBelowLabLimits,createLabRoutes,labView';
    for (const out of [esm, cjs]) expect(out.trim()).toBe(`${names} 409 LAB_LIMIT []`);
    expect(bareImportsOf(join(root, 'dist/labs.js'))).not.toContain('dockerode');
  });

  it('ships the conformance suite as ESM (vitest is ESM-only)', async () => {
    const out = node(['--input-type=module', '-e', `const t = await import('sessionkeeper/testing'); console.log(Object.keys(t).sort().join(','))`]);
    expect(out.trim()).toBe('manualClock,runActivityStoreConformance,runAlertStoreConformance,runLabStoreConformance,runSessionConformance,runSessionStoreConformance');
  });

  it('loads no lab, Docker, driver or framework code when only the core is imported (only Node built-ins and declared dependencies)', () => {
    const out = node([
      '-e',
      `const core = require('sessionkeeper');
       const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](better-sqlite3|pg|redis|@redis|kysely|express|koa|fastify|fastify-plugin|dockerode|docker-modem)[\\\\/]/.test(f));
       console.log(JSON.stringify({ loaded, lab: Object.keys(core).filter((name) => /lab/i.test(name)) }));`,
    ]);
    expect(JSON.parse(out)).toEqual({ loaded: [], lab: [] });
    // Neither entry's code (the ESM entry with every chunk it imports, the CommonJS bundle) holds lab code.
    for (const file of [...filesOf(join(root, 'dist/index.js')), join(root, 'dist/index.cjs')]) {
      expect(readFileSync(file, 'utf8'), file).not.toMatch(LAB_CODE);
    }
    expect(readFileSync(join(root, 'dist/labs.js'), 'utf8')).toMatch(LAB_CODE);
    // The ESM entry and the chunks it imports name no driver either.
    const bare = bareImportsOf(join(root, 'dist/index.js'));
    // Only Node built-ins and the package's own (driver-free) dependencies.
    const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect([...bare].filter((spec) => !isBuiltin(spec) && !(spec in dependencies))).toEqual([]);
    expect(Object.keys(dependencies)).not.toContain('better-sqlite3');
    expect(Object.keys(dependencies)).not.toContain('pg');
    expect(Object.keys(dependencies)).not.toContain('redis');
  });

  it('loads sessionkeeper/redis in both module systems without loading redis itself (the client is the caller\'s)', () => {
    const script = `const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](redis|@redis)[\\\\/]/.test(f));
       let code = null;
       try { sk.redisStore({ client: {} }) } catch (e) { code = e instanceof core.SessionError && e.code }
       console.log(Object.keys(sk).sort().join(','), code, JSON.stringify(loaded));`;
    const esm = node([
      '--input-type=module',
      '-e',
      `import * as core from 'sessionkeeper'; import * as sk from 'sessionkeeper/redis'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${script}`,
    ]);
    const cjs = node(['-e', `const core = require('sessionkeeper'); const sk = require('sessionkeeper/redis'); ${script}`]);
    for (const out of [esm, cjs]) expect(out.trim()).toBe('redisInvalidation,redisStore INVALID_CONFIG []');
  });

  it('publishes only dist, the README and the licence', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.files).toEqual(['dist', 'README.md', 'LICENSE']);
    expect(pkg.engines.node).toBe('>=20');
    expect(pkg.peerDependenciesMeta['better-sqlite3'].optional).toBe(true);
    expect(pkg.peerDependenciesMeta.pg.optional).toBe(true);
    expect(pkg.peerDependenciesMeta.redis.optional).toBe(true);
    expect(pkg.peerDependenciesMeta.koa.optional).toBe(true);
    expect(pkg.peerDependenciesMeta.fastify.optional).toBe(true);
  });
});
