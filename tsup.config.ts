import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    memory: 'adapters/storage/memory/index.ts',
    sqlite: 'adapters/storage/sqlite/index.ts',
    postgres: 'adapters/storage/postgres/index.ts',
    testing: 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'node20',
  splitting: true,
  sourcemap: true,
  // nanoid is ESM-only; bundling it keeps the CommonJS build loadable with a plain require().
  noExternal: ['nanoid'],
  // Drivers stay external and are only loaded by the adapter entry that needs them.
  external: ['better-sqlite3', 'pg', 'kysely', 'vitest'],
});
