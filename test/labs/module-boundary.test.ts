/**
 * Labs are a feature module: nothing of the core (src/ outside src/labs) imports src/labs, so the
 * core can be understood, built and published without it. The one exception is the testing entry's
 * lab store suite, which exists to test lab stores.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = resolve(import.meta.dirname, '..', '..', 'src');
const labs = join(src, 'labs');
/** Files of the testing entry that are about labs on purpose. */
const ALLOWED = new Set(['testing/lab-conformance.ts', 'testing/index.ts'].map((file) => join(src, file)));

describe('the core and the labs module', () => {
  it('no file of src/ outside src/labs imports src/labs (the lab store suite of sessionkeeper/testing aside)', () => {
    const core = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .map((file) => join(src, file))
      .filter((file) => file.endsWith('.ts') && !file.startsWith(labs + sep) && !ALLOWED.has(file));
    expect(core.length).toBeGreaterThan(40);
    const offending = core.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\bfrom\s*['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]/g)]
        .map((match) => resolve(dirname(file), match[1] ?? match[2]!))
        .filter((target) => target === labs || target.startsWith(labs + sep))
        .map((target) => `${relative(src, file)} -> ${relative(src, target)}`),
    );
    expect(offending).toEqual([]);
  });
});
