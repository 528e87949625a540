#!/usr/bin/env node
/**
 * `node scripts/check-import-cycles.mjs [dir ...]`: fails (exit 1) when the relative imports of the
 * TypeScript sources under the given folders (default: src and adapters, from the current folder) form a cycle, and prints
 * each cycle as a path of files. Part of `npm test`, before vitest.
 *
 * Every `import`, `export ... from` and `import()` of a relative path counts, `import type` too: a
 * type-only cycle is harmless at run time, but it still means two modules cannot be understood (or
 * moved into separate entries) one without the other, which is what the check is for. Package
 * imports are leaves. The sources are scanned with regular expressions rather than parsed, which is
 * enough for this repository's one-statement-per-line imports and needs no dependency.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

function main(folders) {
  const graph = buildGraph(folders.flatMap((folder) => sourceFiles(resolve(folder))));
  const cycles = findCycles(graph);
  if (cycles.length === 0) {
    console.log(`check-import-cycles: no import cycle among ${graph.size} files of ${folders.join(', ')}`);
    return;
  }
  console.error(`check-import-cycles: ${cycles.length} import cycle${cycles.length === 1 ? '' : 's'}:`);
  for (const cycle of cycles) console.error(`  ${[...cycle, cycle[0]].map((file) => relative(process.cwd(), file)).join(' -> ')}`);
  process.exitCode = 1;
}

// --- internal ---

/** Statements that import a module: `import ... from 'x'`, `export ... from 'x'`, `import 'x'`, `import('x')`. */
const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((file) => join(dir, file))
    .filter((file) => /\.(?:ts|mts|cts)$/.test(file) && !file.endsWith('.d.ts') && statSync(file).isFile());
}

/** File → the files it imports (relative imports only, resolved as NodeNext resolves `.js` to `.ts`). */
function buildGraph(files) {
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = new Set();
    for (const pattern of IMPORT_PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const target = match[1].startsWith('.') ? resolveImport(file, match[1]) : null;
        if (target !== null) targets.add(target);
      }
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

function resolveImport(from, specifier) {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.(m|c)?js$/, '.$1ts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile()) ?? null;
}

/**
 * Cycles that together pass through every file of each strongly connected component of more than
 * one file (or a file importing itself), so that every file to untangle is named,
 * found with Tarjan's algorithm (iteratively, so a deep import chain cannot overflow the stack).
 */
function findCycles(graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const cycles = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const edges = graph.get(frame.node) ?? [];
      if (frame.edge < edges.length) {
        const target = edges[frame.edge++];
        if (!graph.has(target)) continue;
        if (!index.has(target)) {
          index.set(target, next);
          low.set(target, next++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, edge: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node), index.get(target)));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent), low.get(frame.node)));
      }
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.node);
      const selfImport = component.length === 1 && (graph.get(frame.node) ?? []).includes(frame.node);
      if (component.length > 1 || selfImport) cycles.push(...cyclesCovering(graph, new Set(component)));
    }
  }
  return cycles;
}

/** Shortest cycles through the component's files, in sorted order, until each file is on one. */
function cyclesCovering(graph, component) {
  const covered = new Set();
  const cycles = [];
  for (const start of [...component].sort()) {
    if (covered.has(start)) continue;
    const cycle = shortestCycle(graph, component, start);
    for (const file of cycle) covered.add(file);
    cycles.push(cycle);
  }
  return cycles;
}

/** A shortest cycle from `start` back to it within the component, as the list of its files. */
function shortestCycle(graph, component, start) {
  const previous = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const target of graph.get(node) ?? []) {
      if (!component.has(target)) continue;
      if (target === start) {
        const path = [];
        for (let at = node; at !== null; at = previous.get(at)) path.unshift(at);
        return path;
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start];
}

main(process.argv.length > 2 ? process.argv.slice(2) : ['src', 'adapters']);
