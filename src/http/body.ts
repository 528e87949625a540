import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/** The largest JSON body the self-service routes read. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads and parses a JSON request body, for frameworks that have not parsed it already; `undefined`
 * when there is none. Oversized or malformed bodies are an `HttpError` (413, 400), never a crash.
 */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const length = request.headers['content-length'];
  if ((length === undefined || length === '0') && request.headers['transfer-encoding'] === undefined) return undefined;
  if (length !== undefined && Number(length) > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  return parseJsonBody(Buffer.concat(chunks).toString('utf8'));
}

/** Parses a body's text as JSON; 400 `INVALID_BODY` when it is not. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'INVALID_BODY', 'The request body is not valid JSON');
  }
}

/**
 * The body a framework's parser left (`req.body`, `ctx.request.body`), else the one read from the
 * request with {@link readJsonBody}: so a route works behind `express.json()` and without it.
 *
 * @example
 * const body = await bodyOf(req.body, req);
 */
export function bodyOf(parsed: unknown, request: IncomingMessage): Promise<unknown> {
  return parsed !== undefined ? Promise.resolve(parsed) : readJsonBody(request);
}

// --- internal ---

function tooLarge(): HttpError {
  return new HttpError(413, 'INVALID_BODY', `The request body is larger than ${MAX_BODY_BYTES} bytes`);
}
