import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestCertificate } from './conformance-types.js';

/**
 * A fresh self-signed certificate for IP 127.0.0.1, made once per process by the system's `openssl`.
 *
 * @example
 * const server = https.createServer(testCertificate(), handler);
 */
export function testCertificate(): TestCertificate {
  if (certificate !== undefined) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-tls-'));
  try {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'pipe' });
    certificate = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- internal ---

let certificate: TestCertificate | undefined;
