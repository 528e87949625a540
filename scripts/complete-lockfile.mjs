// Adds lockfile entries for platform-specific optional packages that the registry this project is
// installed from does not serve (it holds only the Linux builds of rollup's native binaries).
// Without them `npm ci` refuses the lockfile as out of sync; with them it skips those packages on
// every platform they do not match, exactly as with a lockfile written against the public registry.
// Run after `npm install` changes package-lock.json: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const OS = new Set(['aix', 'android', 'darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'openharmony', 'sunos', 'win32']);
let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  if (entry.optional && entry.os) continue;
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const hoisted = `node_modules/${name}`;
    if (lock.packages[hoisted] || lock.packages[`${path}/${hoisted}`]) continue;
    const match = /^@[^/]+\/[a-z]+-([a-z0-9]+)-([a-z0-9]+)(?:-([a-z]+))?$/.exec(name);
    if (!match || !OS.has(match[1])) continue;
    const [, os, cpu, abi] = match;
    lock.packages[hoisted] = {
      version: range.replace(/^[\^~=]/, ''),
      cpu: [cpu],
      ...(abi?.startsWith('gnu') ? { libc: ['glibc'] } : abi?.startsWith('musl') ? { libc: ['musl'] } : {}),
      dev: true,
      license: 'MIT',
      optional: true,
      os: [os],
    };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform package entries`);
