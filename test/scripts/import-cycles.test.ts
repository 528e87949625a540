import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'check-import-cycles.mjs');
const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-cycles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a source tree under a fresh folder and runs the check over its `src`. */
async function check(files: Record<string, string>): Promise<{ code: number; out: string }> {
  const root = mkdtempSync(join(dir, 'tree-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  try {
    const { stdout } = await run(process.execPath, [SCRIPT, 'src'], { cwd: root });
    return { code: 0, out: stdout };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, out: stdout + stderr };
  }
}

describe('scripts/check-import-cycles.mjs', () => {
  it('passes the repository (src and adapters)', async () => {
    const { stdout } = await run(process.execPath, [SCRIPT], { cwd: join(import.meta.dirname, '..', '..') });
    expect(stdout).toMatch(/^check-import-cycles: no import cycle among \d+ files of src, adapters/);
  });

  it('passes a tree whose imports only go one way, packages and index folders included', async () => {
    const result = await check({
      'src/a.ts': "import { b } from './b.js';\nimport pg from 'pg';\nexport const a = b;\n",
      'src/b.ts': "export { c } from './lib/index.js';\nexport const b = 1;\n",
      'src/lib/index.ts': "export const c = 2;\n",
    });
    expect(result).toEqual({ code: 0, out: expect.stringContaining('no import cycle among 3 files') });
  });

  it('fails on a cycle of type-only imports, naming every file of each cycle', async () => {
    const result = await check({
      'src/contracts.ts': "import type { LabStore } from './labs/types.js';\nexport type EpochMs = number;\n",
      'src/labs/types.ts': "import type { EpochMs } from '../contracts.js';\nimport type {\n  Duration,\n} from '../duration.js';\nexport interface LabStore { at: EpochMs }\n",
      'src/duration.ts': "import { SessionError } from './errors.js';\nexport type Duration = number;\n",
      'src/errors.ts': "export { LabError } from './labs/types.js';\n",
    });
    expect(result.code).toBe(1);
    expect(result.out).toContain('2 import cycles');
    expect(result.out).toContain('src/contracts.ts -> src/labs/types.ts -> src/contracts.ts');
    expect(result.out).toContain('src/duration.ts -> src/errors.ts -> src/labs/types.ts -> src/duration.ts');
  });

  it('counts dynamic imports and a file importing itself', async () => {
    const result = await check({
      'src/a.ts': "export const load = () => import('./b.js');\n",
      'src/b.ts': "import './a.js';\n",
      'src/self.ts': "export * from './self.js';\n",
    });
    expect(result.code).toBe(1);
    expect(result.out).toContain('src/a.ts -> src/b.ts -> src/a.ts');
    expect(result.out).toContain('src/self.ts -> src/self.ts');
  });
});
