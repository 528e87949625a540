/**
 * Summarises a CPU profile written by `BENCH_PROFILE=<dir> npm run bench:http`:
 * `node --import tsx bench/http/profile-summary.ts <file.cpuprofile> [top]`.
 *
 * Prints where the samples fall: self time by area (sessionkeeper's own code, each dependency,
 * Node internals, GC, idle), the top functions by self time, and the inclusive (self + callees)
 * time of sessionkeeper's functions, which is what the middleware costs end to end.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Time per sample: the delta to the next sample is the time that sample stands for.
const selfTime = new Map<number, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i + 1] ?? 0;
  selfTime.set(profile.samples[i]!, (selfTime.get(profile.samples[i]!) ?? 0) + dt);
  total += dt;
}

function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native/builtin)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const own = /\/(src|adapters|bench)\/(.*)$/.exec(url);
  if (own) return `sessionkeeper ${own[1]}/${own[2]!.replace(/\/[^/]+$/, '/')}`;
  return url;
}

function name(frame: CallFrame): string {
  const where = frame.url.replace(/^.*\/(node_modules\/|src\/|adapters\/|bench\/|\.scratch\/)/, '$1').replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
}

const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;

const areas = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, t] of selfTime) {
  const frame = byId.get(id)!.callFrame;
  areas.set(area(frame), (areas.get(area(frame)) ?? 0) + t);
  functions.set(name(frame), (functions.get(name(frame)) ?? 0) + t);
}

// Inclusive time of each of our functions: a sample counts once per function on its stack.
const inclusive = new Map<string, number>();
for (const [id, t] of selfTime) {
  const seen = new Set<string>();
  for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
    const frame = byId.get(node)!.callFrame;
    if (!/\/(src|adapters)\//.test(frame.url) || frame.url.includes('node_modules')) continue;
    const key = name(frame);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + t);
  }
}

const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
console.log('\nSelf time by area:');
for (const [k, t] of sorted(areas)) if (t / total >= 0.002) console.log(`  ${pct(t)}  ${k}`);
console.log(`\nTop ${top} functions by self time:`);
for (const [k, t] of sorted(functions).slice(0, top)) console.log(`  ${pct(t)}  ${k}`);
console.log(`\nsessionkeeper functions by inclusive time (self + callees):`);
for (const [k, t] of sorted(inclusive).slice(0, top)) console.log(`  ${pct(t)}  ${k}`);
