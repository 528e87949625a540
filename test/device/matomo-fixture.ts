/**
 * Loads the Matomo Device Detector fixtures (see ../shared/fixtures/user-agents/README.md). They are
 * LGPL test data and live outside the repository, next to it, so callers must cope with their absence.
 * Shared by test/device/accuracy.test.ts and bench/device.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DeviceClass } from '../../src/contracts.js';
import type { DeviceInput } from '../../src/device/index.js';

export interface FixtureRow {
  readonly ua: string;
  readonly device: DeviceClass;
  readonly browser: string | null;
  readonly os: string | null;
  readonly client_type?: string | null;
  readonly headers?: Record<string, string>;
}

/** `../shared/fixtures/user-agents` relative to the repository root. */
export const FIXTURE_DIR = fileURLToPath(new URL('../../../shared/fixtures/user-agents/', import.meta.url));

export function fixturePath(name: 'matomo.jsonl' | 'matomo-sample.jsonl'): string {
  return FIXTURE_DIR + name;
}

export function fixtureExists(path: string): boolean {
  return existsSync(path);
}

export function loadRows(path: string): FixtureRow[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as FixtureRow);
}

/** The `parseDevice` input for a row: its UA, and its request headers when it has any. */
export function inputOf(row: FixtureRow): DeviceInput {
  return { userAgent: row.ua, headers: requestHeaders(row.headers) };
}

/**
 * 19 client-hint rows record the JavaScript API's names (`navigator.userAgentData`: `mobile`,
 * `platform`, `fullVersionList` as a printed list of objects, ...) instead of HTTP headers. Their
 * labels were computed with those values, so they are passed as the headers they stand for. HTTP
 * header keys are passed unchanged, in whatever letter case the fixture wrote them.
 */
export function requestHeaders(raw: Record<string, string> | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const headers: Record<string, string> = { ...raw };
  const list = (value: string): string =>
    [...value.matchAll(/'brand':\s*'([^']*)',\s*'version':\s*'([^']*)'/g)].map((m) => `"${m[1]}";v="${m[2]}"`).join(', ');
  if (raw.mobile !== undefined) headers['sec-ch-ua-mobile'] = raw.mobile === '1' || raw.mobile === 'true' ? '?1' : '?0';
  if (raw.platform !== undefined) headers['sec-ch-ua-platform'] = `"${raw.platform}"`;
  if (raw.platformVersion !== undefined) headers['sec-ch-ua-platform-version'] = `"${raw.platformVersion}"`;
  if (raw.model !== undefined) headers['sec-ch-ua-model'] = `"${raw.model}"`;
  if (raw.uaFullVersion !== undefined) headers['sec-ch-ua-full-version'] = `"${raw.uaFullVersion}"`;
  if (raw.fullVersionList !== undefined) headers['sec-ch-ua-full-version-list'] = list(raw.fullVersionList);
  if (raw.brands !== undefined) headers['sec-ch-ua'] = list(raw.brands);
  return headers;
}
