import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The bare specifiers (packages, built-ins) that a built ESM file and the chunks it imports name. */
export function bareImportsOf(entry: string): Set<string> {
  return walk(entry).bare;
}

/** The built ESM file and every chunk it imports, directly or through other chunks. */
export function filesOf(entry: string): Set<string> {
  return walk(entry).files;
}

// --- internal ---

function walk(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*['"]([^'"]+)['"]/g)) {
      if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!));
      else bare.add(spec!);
    }
  };
  visit(entry);
  return { files, bare };
}
