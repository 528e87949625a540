/** The CSRF cases of the HTTP adapter conformance suite: origins, Sec-Fetch-Site, login CSRF, the origin's scheme. */
import { describe, expect, it } from 'vitest';
import { CHROME_WINDOWS, EVIL, expectCleared, expectError, SAFARI_IPHONE, SELF, SID, tlsRequest, type ErrorBody, type Reply } from './conformance-client.js';
import { testCertificate } from './certificate.js';
import type { Suite } from './suite.js';

/** CSRF: cookie-authenticated state changes need an allowed origin. */
export function csrfCases(suite: Suite): void {
  describe('CSRF: cookie-authenticated state changes need an allowed origin', () => {
    csrf1(suite);
    csrf2(suite);
    csrf3(suite);
  });
}

// --- internal ---

function csrf1({ setup }: Suite): void {
  it('a foreign Origin is 403 FORBIDDEN_ORIGIN and revokes nothing', async () => {
    const { app, manager } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    const b = await app.login('alice', SAFARI_IPHONE);

    const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: EVIL });
    expectError(reply, 403, 'FORBIDDEN_ORIGIN');
    expectError(await app.delete(`${SELF}/${b.id}`, { cookie: a.cookie, origin: EVIL }), 403, 'FORBIDDEN_ORIGIN');
    expectError(await app.post(`${SELF}/${a.id}/extend`, { cookie: a.cookie, origin: EVIL, body: { by: '30m' } }), 403, 'FORBIDDEN_ORIGIN');
    // An opaque origin (sandboxed iframe, data: URL) is no better.
    expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: 'null' }), 403, 'FORBIDDEN_ORIGIN');

    expect(await manager.get(b.id)).toMatchObject({ status: 'active' });
    expect(await manager.get(a.id)).toMatchObject({ expiresAt: Date.parse('2030-01-01T00:30:00.000Z') });
    expect((await app.get('/protected', { cookie: b.cookie })).status).toBe(200);
    // Reading is not a state change.
    expect((await app.get(SELF, { cookie: a.cookie, origin: EVIL })).status).toBe(200);
  });

  it('Sec-Fetch-Site: cross-site without an Origin is 403; same-origin passes', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    await app.login('alice', SAFARI_IPHONE);
    for (const site of ['cross-site', 'same-site']) {
      const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, headers: { 'sec-fetch-site': site } });
      expectError(reply, 403, 'FORBIDDEN_ORIGIN');
    }
    const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, headers: { 'sec-fetch-site': 'same-origin' } });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ revoked: 1 });
  });

  it("the server's own origin passes", async () => {
    const { app, server } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    await app.login('alice', SAFARI_IPHONE);
    const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: server.url, headers: { 'sec-fetch-site': 'same-origin' } });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ revoked: 1 });
  });

  it('an Origin listed in allowedOrigins passes, others are refused', async () => {
    const { app } = await setup({ middleware: { allowedOrigins: ['https://app.example'] } });
    const a = await app.login('alice', CHROME_WINDOWS);
    await app.login('alice', SAFARI_IPHONE);
    expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: EVIL }), 403, 'FORBIDDEN_ORIGIN');
    expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: 'https://app.example:8443' }), 403, 'FORBIDDEN_ORIGIN');
    const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: 'https://app.example' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ revoked: 1 });
  });

  it("with allowedOrigins the server's own origin still passes (own origin, or one of allowedOrigins)", async () => {
    const { app, server } = await setup({ middleware: { allowedOrigins: ['https://app.example'] } });
    const a = await app.login('alice', CHROME_WINDOWS);
    await app.login('alice', SAFARI_IPHONE);
    const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: server.url });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ revoked: 1 });
  });

  it('a bearer-authenticated request is exempt: a foreign Origin passes', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    await app.login('alice', SAFARI_IPHONE);
    const reply = await app.post(`${SELF}/revoke-others`, { bearer: a.token, origin: EVIL, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ revoked: 1 });
  });
}

function csrf2({ setup }: Suite): void {
  it("the app's own state-changing routes are checked too: a foreign Origin on a cookie POST is 403 and changes nothing", async () => {
    const { app, manager } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);

    const logout = await app.post('/logout', { cookie: a.cookie, origin: EVIL });
    expectError(logout, 403, 'FORBIDDEN_ORIGIN');
    expect(logout.cookies).toEqual([]);
    expectError(await app.post('/rotate', { cookie: a.cookie, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'FORBIDDEN_ORIGIN');
    // A login over the cookie's session would revoke it: refused as well.
    expectError(await app.post('/login', { cookie: a.cookie, origin: EVIL, body: { userId: 'mallory' } }), 403, 'FORBIDDEN_ORIGIN');
    expect(await manager.get(a.id)).toMatchObject({ status: 'active' });
    expect((await app.get('/protected', { cookie: a.cookie })).body).toEqual({ userId: 'alice', sessionId: a.id });

    // Reading is not a state change; a bearer token is exempt; so is a request the cookie did not authenticate.
    expect((await app.get('/protected', { cookie: a.cookie, origin: EVIL })).status).toBe(200);
    expect((await app.post('/rotate', { bearer: a.token, origin: EVIL })).status).toBe(200);
    const garbage = await app.post('/logout', { cookie: `${SID}=garbage`, origin: EVIL });
    expect(garbage.status).toBe(204);
    expectCleared(garbage, SID);
  });

  it('login CSRF: a cross-site sign-in POST is 403 FORBIDDEN_ORIGIN, with no cookie and no session created', async () => {
    const { app, manager } = await setup();
    for (const cross of [{ origin: EVIL }, { origin: 'null' }, { headers: { 'sec-fetch-site': 'cross-site' } }, { headers: { 'sec-fetch-site': 'same-site' } }]) {
      const reply = await app.post('/login', { ...cross, ua: CHROME_WINDOWS, body: { userId: 'mallory' } });
      expectError(reply, 403, 'FORBIDDEN_ORIGIN');
      expect(reply.cookies).toEqual([]);
    }
    expect((await manager.stats()).total).toBe(0);
  });

  it('sign-ins that stay allowed: same origin, clients without browser headers, a cross-site top-level GET (OAuth callback), an IdP listed in allowedOrigins (form_post)', async () => {
    const { app, server, manager } = await setup({ middleware: { allowedOrigins: ['https://idp.example'] } });
    const signIn = async (reply: Reply) => {
      expect(reply.status).toBe(200);
      expect(reply.cookies.map((c) => c.name)).toEqual([SID]);
    };
    await signIn(await app.post('/login', { origin: server.url, headers: { 'sec-fetch-site': 'same-origin' }, body: { userId: 'alice' } }));
    await signIn(await app.post('/login', { body: { userId: 'alice' } }));
    await signIn(await app.get('/callback?userId=alice', { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' } }));
    await signIn(await app.post('/login', { origin: 'https://idp.example', headers: { 'sec-fetch-site': 'cross-site' }, body: { userId: 'alice' } }));
    expect(await manager.count('alice')).toBe(4);
    expectError(await app.post('/login', { origin: 'https://idp.example:8443', body: { userId: 'mallory' } }), 403, 'FORBIDDEN_ORIGIN');
  });

  it('csrf: false leaves the sign-in route to the app as well', async () => {
    const { app } = await setup({ middleware: { csrf: false } });
    expect((await app.post('/login', { origin: EVIL, body: { userId: 'alice' } })).status).toBe(200);
  });

  it('origin scheme: an https:// Origin of the same host and port is refused on a plain-http server, with a message that says what to check', async () => {
    const { app, server, manager } = await setup();
    const https = server.url.replace(/^http:/, 'https:');
    const a = await app.login('alice', CHROME_WINDOWS);
    const b = await app.login('alice', SAFARI_IPHONE);

    const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: https });
    expectError(reply, 403, 'FORBIDDEN_ORIGIN');
    const { message } = (reply.body as ErrorBody).error;
    expect(message).toMatch(/scheme, host and port/);
    expect(message).toMatch(/allowedOrigins/);
    expect(message).toMatch(/trustProxy/);
    expect(message).not.toContain('127.0.0.1');
    expectError(await app.post('/rotate', { cookie: a.cookie, origin: https }), 403, 'FORBIDDEN_ORIGIN');
    expectError(await app.post('/login', { origin: https, body: { userId: 'mallory' } }), 403, 'FORBIDDEN_ORIGIN');
    expect(await manager.get(b.id)).toMatchObject({ status: 'active' });
    expect(await manager.count('mallory')).toBe(0);

    expect((await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: server.url })).body).toEqual({ revoked: 1 });
  });
}

function csrf3({ setup, capabilities }: Suite): void {
  // Skipped, by name, for an adapter whose start() cannot serve HTTPS (capabilities.tls: false).
  it.skipIf(!capabilities.tls)('origin scheme: over TLS the own origin is https://, and an http:// Origin of the same host and port is refused', async () => {
    const certificate = testCertificate();
    const { server, manager } = await setup({ tls: certificate });
    const http = server.url.replace(/^https:/, 'http:');
    const send = (method: string, path: string, headers: Record<string, string>, body?: unknown) => tlsRequest(server.url + path, certificate.cert, method, headers, body);

    const signIn = await send('POST', '/login', { 'user-agent': CHROME_WINDOWS }, { userId: 'alice' });
    expect(signIn.status).toBe(200);
    const cookie = signIn.setCookie[0]!.split(';')[0]!;
    expect(cookie).toMatch(/^__Host-sid=skt_/);
    await send('POST', '/login', { 'user-agent': SAFARI_IPHONE }, { userId: 'alice' });

    const refused = await send('POST', `${SELF}/revoke-others`, { cookie, origin: http });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'FORBIDDEN_ORIGIN' } });
    expect((await send('POST', '/login', { origin: http }, { userId: 'mallory' })).status).toBe(403);
    expect(await manager.count('mallory')).toBe(0);
    expect(await manager.count('alice')).toBe(2);

    const allowed = await send('POST', `${SELF}/revoke-others`, { cookie, origin: server.url });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({ revoked: 1 });
  });

  it('origin scheme: behind a TLS-terminating proxy that trustProxy trusts, X-Forwarded-Proto: https makes the own origin https://', async () => {
    const { app, server, manager } = await setup({ middleware: { trustProxy: 'loopback' } });
    const https = server.url.replace(/^http:/, 'https:');
    const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };
    const a = await app.login('alice', CHROME_WINDOWS);
    const b = await app.login('alice', SAFARI_IPHONE);

    expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: server.url, headers: proxied }), 403, 'FORBIDDEN_ORIGIN');
    expectError(await app.post('/login', { origin: server.url, headers: proxied, body: { userId: 'mallory' } }), 403, 'FORBIDDEN_ORIGIN');
    expect(await manager.count('mallory')).toBe(0);
    expect(await manager.get(b.id)).toMatchObject({ status: 'active' });

    expect((await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: https, headers: proxied })).body).toEqual({ revoked: 1 });
    expect((await app.post('/login', { origin: https, headers: proxied, body: { userId: 'carol' } })).status).toBe(200);
  });

  it('origin scheme: X-Forwarded-Proto from a peer that trustProxy does not trust is ignored', async () => {
    for (const trustProxy of [false, '10.0.0.0/8']) {
      const { app, server } = await setup({ middleware: { trustProxy } });
      const https = server.url.replace(/^http:/, 'https:');
      const forged = { 'x-forwarded-proto': 'https' };
      const a = await app.login('alice', CHROME_WINDOWS);
      await app.login('alice', SAFARI_IPHONE);
      expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: https, headers: forged }), 403, 'FORBIDDEN_ORIGIN');
      expectError(await app.post('/login', { origin: https, headers: forged, body: { userId: 'mallory' } }), 403, 'FORBIDDEN_ORIGIN');
      expect((await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: server.url, headers: forged })).body, String(trustProxy)).toEqual({ revoked: 1 });
    }
  });

  it('csrf: false leaves the app\'s own routes to the app; the self-service routes still check', async () => {
    const { app } = await setup({ middleware: { csrf: false } });
    const a = await app.login('alice', CHROME_WINDOWS);
    expectError(await app.post(`${SELF}/revoke-others`, { cookie: a.cookie, origin: EVIL }), 403, 'FORBIDDEN_ORIGIN');
    expect((await app.post('/rotate', { cookie: a.cookie, origin: EVIL })).status).toBe(200);
  });

  it('a client that sends neither Origin nor Sec-Fetch-Site (curl, a server) passes', async () => {
    const { app } = await setup();
    const a = await app.login('alice', CHROME_WINDOWS);
    const reply = await app.post(`${SELF}/revoke-others`, { cookie: a.cookie });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ revoked: 0 });
  });
}
