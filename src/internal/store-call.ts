import { toStoreError } from '../errors.js';

/**
 * Runs one call into a store and turns whatever its driver throws into `STORE_UNAVAILABLE` (the
 * original kept as `cause`); sessionkeeper's own errors (`SESSION_LIMIT`, `STORE_CONTRACT`, ...)
 * pass through. `fn` runs inside the try, so a store that throws synchronously is wrapped too.
 *
 * @example
 * const rows = await storeCall('alerts.list', () => store.listAlerts(query));
 */
export async function storeCall<T>(operation: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStoreError(err, operation);
  }
}
