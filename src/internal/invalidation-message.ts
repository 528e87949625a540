/**
 * The wire format of the built-in invalidation channels: a JSON array of session ids per message,
 * split so that no message exceeds `maxBytes` (Postgres NOTIFY payloads stop at 8000 bytes).
 */
export function encodeInvalidation(sessionIds: readonly string[], maxBytes: number): string[] {
  const messages: string[] = [];
  let batch: string[] = [];
  let bytes = 2;
  for (const id of sessionIds) {
    const size = Buffer.byteLength(JSON.stringify(id)) + 1;
    if (batch.length > 0 && bytes + size > maxBytes) {
      messages.push(JSON.stringify(batch));
      batch = [];
      bytes = 2;
    }
    batch.push(id);
    bytes += size;
  }
  if (batch.length > 0) messages.push(JSON.stringify(batch));
  return messages;
}

/**
 * The session ids of a message, or `null` for one that is not in the format: whoever else publishes
 * on the channel, the safe reading of a message nobody can parse is "drop everything".
 */
export function decodeInvalidation(message: unknown): string[] | null {
  if (typeof message !== 'string') return null;
  let ids: unknown;
  try {
    ids = JSON.parse(message);
  } catch {
    return null;
  }
  return Array.isArray(ids) && ids.every((id) => typeof id === 'string') ? ids : null;
}
