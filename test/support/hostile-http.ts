import http from 'node:http';
import net from 'node:net';
import { expect } from 'vitest';

/**
 * An HTTP/1.1 client for hostile requests over real sockets on 127.0.0.1: one keep-alive connection
 * (so tens of thousands of cases fit in seconds), headers passed as the bytes a client would send,
 * and a raw-socket form for what Node's own client refuses to write (control characters, NUL).
 */
export class HostileClient {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  readonly #url: URL;

  constructor(url: string) {
    this.#url = new URL(url);
  }

  get port(): number {
    return Number(this.#url.port);
  }

  /**
   * Sends one request. Header values may hold any characters: what is not Latin-1 goes as its
   * UTF-8 bytes (as a browser or curl sends it), and control characters Node's client refuses are
   * replaced by `?` (send those with {@link raw}). A connection the server closed in between is
   * retried once on a new one.
   */
  async send(request: { method: string; path: string; headers?: Record<string, string | string[] | undefined>; body?: string | Buffer }): Promise<HostileResponse> {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      if (value === undefined) continue;
      headers[name] = Array.isArray(value) ? value.map(headerBytes) : headerBytes(value);
    }
    const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
    if (body !== undefined) headers['content-length'] = String(body.length);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(request.method, request.path, headers, body);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (attempt === 0 && (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNREFUSED' || code === 'ERR_STREAM_DESTROYED')) continue;
        throw error;
      }
    }
  }

  /** Writes `bytes` on a new connection and reads until the server closes it (or 2 s pass). */
  raw(bytes: Buffer): Promise<HostileResponse | null> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.setTimeout(2000, () => socket.destroy());
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        if (match === null) return resolve(null);
        const split = text.indexOf('\r\n\r\n');
        resolve({ status: Number(match[1]), headers: {}, text: split === -1 ? '' : text.slice(split + 4) });
      });
      socket.end(bytes);
    });
  }

  close(): void {
    this.#agent.destroy();
  }

  #once(method: string, path: string, headers: Record<string, string | string[]>, body: Buffer | undefined): Promise<HostileResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path, headers, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

export interface HostileResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * What every answer to a hostile request must be: not a 5xx (unless `allow5xx` names the error
 * codes that may answer one), no stack trace or file path, and for JSON errors the one error shape.
 */
export function expectSafeResponse(response: HostileResponse, what: string, allow5xx: readonly string[] = []): void {
  const text = response.text;
  expect(text, `${what}: a stack trace or file path in the body`).not.toMatch(/\n\s+at [^\n]+:\d+:\d+|\.(?:ts|js|cjs|mjs):\d+|node_modules|\/work\/|Internal error/);
  let code: unknown;
  if (response.status >= 400 && /json/.test(String(response.headers['content-type'] ?? '')) && text !== '') {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    // Fastify's own refusals ({ statusCode, code, error, message }) come before the plugin sees the request.
    if (body.error !== null && typeof body.error === 'object') {
      code = body.error.code;
      expect(typeof body.error.code, `${what}: error code`).toBe('string');
      expect(typeof body.error.message, `${what}: error message`).toBe('string');
    }
  }
  if (response.status >= 500) {
    expect(allow5xx.includes(String(code)), `${what} answered ${response.status} ${text.slice(0, 300)}`).toBe(true);
  }
}

/** Percent-encodes every byte of the UTF-8 form that is not unreserved (a lone surrogate goes as U+FFFD). */
export function pct(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// --- internal ---

/** A header value as the bytes a client sends: UTF-8, read as Latin-1, controls Node refuses replaced. */
function headerBytes(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1').replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}
