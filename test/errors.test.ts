import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../adapters/storage/memory/index.js';
import { knownErrorResponse, HttpError } from '../src/http/index.js';
// Loaded for its registrations: the README's tables include the lab codes.
import '../src/labs/index.js';
import {
  createSessionManager,
  errorCodeInfo,
  ERROR_CODES,
  isSessionkeeperError,
  registerErrorCodes,
  registeredErrorCodes,
  SessionError,
  SessionkeeperError,
} from '../src/index.js';

/** Every row of the README's error tables: those whose header is `| code | status | when |`. */
function readmeErrorTable(): Map<string, number> {
  const lines = readFileSync(new URL('../README.md', import.meta.url), 'utf8').split('\n');
  const rows = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '| code | status | when |') continue;
    for (let j = i + 2; j < lines.length && lines[j]!.startsWith('|'); j++) {
      const match = /^\| `([A-Z_]+)` \| (\d{3}) \|/.exec(lines[j]!);
      if (match === null) throw new Error(`README.md line ${j + 1} is not a row of the error table: ${lines[j]}`);
      expect(rows.has(match[1]!), `${match[1]} listed twice`).toBe(false);
      rows.set(match[1]!, Number(match[2]));
    }
  }
  return rows;
}

describe('the error-code registry', () => {
  it('matches the README error table exactly: the same codes, the same statuses', () => {
    // TEST_ codes are this file's own registrations.
    const registered = new Map(Object.entries(registeredErrorCodes()).filter(([code]) => !code.startsWith('TEST_')).map(([code, info]) => [code, info.status]));
    const readme = readmeErrorTable();
    expect(readme.size).toBeGreaterThan(0);
    expect(Object.fromEntries(readme)).toEqual(Object.fromEntries(registered));
  });

  it('holds every SessionError code, each with a description', () => {
    for (const code of Object.values(ERROR_CODES)) {
      const info = errorCodeInfo(code);
      expect(info, code).toBeDefined();
      expect(info!.description.length).toBeGreaterThan(0);
    }
  });

  it('refuses to give a registered code another meaning, and accepts the same registration again', () => {
    expect(() => registerErrorCodes({ SESSION_LIMIT: { status: 400, description: 'something else' } })).toThrow(
      expect.objectContaining({ name: 'SessionError', code: 'INVALID_CONFIG' }),
    );
    expect(errorCodeInfo('SESSION_LIMIT')!.status).toBe(429);
    const same = errorCodeInfo('SESSION_NOT_FOUND')!;
    expect(() => registerErrorCodes({ SESSION_NOT_FOUND: { ...same } })).not.toThrow();
  });

  it.each([
    ['lower-case code', { bad_code: { status: 400, description: 'x' } }],
    ['status outside 400-599', { TEST_OK_STATUS: { status: 200, description: 'x' } }],
    ['no description', { TEST_NO_DESCRIPTION: { status: 400, description: '' } }],
  ])('refuses a %s with INVALID_CONFIG, registering nothing of the batch', (_, codes) => {
    expect(() => registerErrorCodes({ TEST_FIRST_OF_BATCH: { status: 400, description: 'x' }, ...codes })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
    expect(errorCodeInfo('TEST_FIRST_OF_BATCH')).toBeUndefined();
  });
});

describe('one error family', () => {
  it('SessionError and HttpError are SessionkeeperErrors with a code, a cause and optional details', () => {
    const cause = new TypeError('driver failed');
    const session = new SessionError('STORE_UNAVAILABLE', 'down', { cause });
    expect(session).toBeInstanceOf(SessionkeeperError);
    expect(session).toBeInstanceOf(Error);
    expect(session).toMatchObject({ name: 'SessionError', code: 'STORE_UNAVAILABLE', message: 'down', cause, details: undefined });
    const http = new HttpError(413, 'INVALID_BODY', 'too large');
    expect(isSessionkeeperError(http, 'INVALID_BODY')).toBe(true);
    expect(http).toMatchObject({ name: 'HttpError', status: 413, code: 'INVALID_BODY' });
  });

  it('INVALID_CONFIG names the option at fault in details.field', () => {
    const thrown = (() => {
      try {
        createSessionManager({ store: memoryStore(), maxSessionsPerUser: -1 });
      } catch (err) {
        return err;
      }
    })();
    expect(thrown).toBeInstanceOf(SessionError);
    expect(thrown).toMatchObject({ code: 'INVALID_CONFIG', details: { field: 'maxSessionsPerUser' } });
  });

  it("a module's own subclass and codes are answered over HTTP with the registered status, without the HTTP layer knowing them", () => {
    class QuotaError extends SessionkeeperError<'TEST_QUOTA_EXCEEDED' | 'TEST_QUOTA_BACKEND'> {
      override readonly name = 'QuotaError';
    }
    registerErrorCodes({
      TEST_QUOTA_EXCEEDED: { status: 429, description: 'the tenant used up its quota' },
      TEST_QUOTA_BACKEND: { status: 502, description: 'the quota service failed', response: { message: 'Quota service unavailable' } },
    });
    const exceeded = knownErrorResponse(new QuotaError('TEST_QUOTA_EXCEEDED', 'Quota of 100 used up', { details: { limit: 100 } }));
    expect(exceeded).toMatchObject({ status: 429, body: { error: { code: 'TEST_QUOTA_EXCEEDED', message: 'Quota of 100 used up' } } });
    // A server-side failure answers with the registered message: its own is for the logs.
    const backend = knownErrorResponse(new QuotaError('TEST_QUOTA_BACKEND', 'connect ECONNREFUSED 10.0.0.7:9000'));
    expect(backend).toMatchObject({ status: 502, body: { error: { code: 'TEST_QUOTA_BACKEND', message: 'Quota service unavailable' } } });
  });

  it('an unregistered code, INVALID_CONFIG and STORE_CONTRACT are left to the application; the 503 codes answer STORE_UNAVAILABLE', () => {
    expect(knownErrorResponse(new SessionkeeperError('TEST_NEVER_REGISTERED', 'x'))).toBeNull();
    expect(knownErrorResponse(new SessionError('INVALID_CONFIG', 'idleTimeout must be positive'))).toBeNull();
    expect(knownErrorResponse(new SessionError('STORE_CONTRACT', 'the store returned 2 rows for one id'))).toBeNull();
    for (const code of ['STORE_UNAVAILABLE', 'STORE_NOT_MIGRATED', 'CLOSED'] as const) {
      expect(knownErrorResponse(new SessionError(code, 'secret detail'))).toMatchObject({
        status: 503,
        body: { error: { code: 'STORE_UNAVAILABLE', message: 'Session storage is unavailable; try again shortly' } },
      });
    }
  });
});
