import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The bare specifiers (packages, built-ins) that a built ESM file and the chunks it imports name. */
export function bareImportsOf(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*['"]([^'"]+)['"]/g)) {
      if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!));
      else bare.add(spec!);
    }
  };
  visit(entry);
  return bare;
}
