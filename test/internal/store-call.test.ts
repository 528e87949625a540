import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/http/index.js';
import { SessionError, storeContractError } from '../../src/errors.js';
import { storeCall } from '../../src/internal/store-call.js';

describe('storeCall', () => {
  it('returns what the store answered', async () => {
    expect(await storeCall('get', async () => 42)).toBe(42);
    expect(await storeCall('get', () => 'sync')).toBe('sync');
  });

  it("turns a driver's failure, thrown or rejected, into STORE_UNAVAILABLE with the original as cause", async () => {
    const cause = new RangeError('connection terminated');
    for (const fn of [
      async () => {
        throw cause;
      },
      () => {
        throw cause;
      },
    ]) {
      const err = await storeCall('alerts.list', fn).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessionError);
      expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', cause, message: 'Session store failed during alerts.list: connection terminated' });
    }
  });

  it("lets sessionkeeper's own errors through unchanged: a limit, a broken contract, any SessionkeeperError", async () => {
    for (const own of [new SessionError('SESSION_LIMIT', 'full'), storeContractError('listAlerts', 'returned a row of another user'), new HttpError(400, 'INVALID_BODY', 'x')]) {
      await expect(
        storeCall('op', async () => {
          throw own;
        }),
      ).rejects.toBe(own);
    }
  });
});
