import { defineConfig, type Options } from 'tsup';

const shared: Options = {
  dts: true,
  target: 'node20',
  sourcemap: true,
  splitting: true,
  // nanoid is ESM-only; bundling it keeps the CommonJS build loadable with a plain require().
  noExternal: ['nanoid'],
  // Drivers stay external and are only loaded by the adapter entry that needs them.
  external: ['better-sqlite3', 'pg', 'redis', '@redis/client', 'kysely', 'vitest', 'express', 'koa', 'fastify', 'fastify-plugin', 'cookie', 'dockerode'],
};

const entries = {
  index: 'src/index.ts',
  memory: 'adapters/storage/memory/index.ts',
  sqlite: 'adapters/storage/sqlite/index.ts',
  postgres: 'adapters/storage/postgres/index.ts',
  redis: 'adapters/storage/redis/index.ts',
  express: 'adapters/http/express/index.ts',
  koa: 'adapters/http/koa/index.ts',
  fastify: 'adapters/http/fastify/index.ts',
  docker: 'adapters/provisioner/docker/index.ts',
  labs: 'src/labs/index.ts',
  http: 'src/http/index.ts',
};

// One ESM build of every entry, so that they share chunks (one SessionError class for all of them),
// and a CommonJS build of all but the conformance suites: vitest can only be imported as ESM.
export default defineConfig([
  { ...shared, entry: { ...entries, testing: 'src/testing/index.ts', 'http-testing': 'src/http/testing/index.ts' }, format: ['esm'] },
  { ...shared, entry: entries, format: ['cjs'] },
]);
