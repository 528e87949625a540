import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateToken, hashToken, TOKEN_PREFIX } from '../../token.js';
import { START, MINUTE, HOUR, DAY, IDLE, ABSOLUTE, TOKEN_SHAPE, expectError, expectNoSecrets, expectSessionShape, recordEvents, newRecord, ids, type Harness } from './harness.js';

export function describeLifecycle(t: () => Harness): void {
  describe('lifecycle', () => {
    lifecycleTests1(t);
    lifecycleTests2(t);
    lifecycleTests3(t);
  });
}

function lifecycleTests1(t: () => Harness): void {
  it('create → validate → get → list → revoke → validate reports revoked', async () => {
    const h = t();
    const m = h.manager();
    const events = recordEvents(m);
    const userId = h.user();
    const { session, token } = await m.create({
      userId,
      tenantId: 'tenant-1',
      ip: '203.0.113.7',
      userAgent: 'Mozilla/5.0 (conformance)',
      metadata: { plan: 'pro', seats: 3 },
    });

    expect(token).toMatch(TOKEN_SHAPE);
    expect(session.id).not.toBe(token);
    expect(session.id).not.toContain(token.slice(TOKEN_PREFIX.length));
    expectSessionShape(session);
    expect(session).toEqual({
      id: session.id,
      userId,
      tenantId: 'tenant-1',
      status: 'active',
      createdAt: START,
      lastActiveAt: START,
      expiresAt: START + IDLE,
      absoluteExpiresAt: START + ABSOLUTE,
      revokedAt: null,
      revokeReason: null,
      // The default ipPrivacy keeps the /24 network only.
      ip: '203.0.113.0',
      userAgent: 'Mozilla/5.0 (conformance)',
      device: session.device,
      metadata: { plan: 'pro', seats: 3 },
    });

    const validated = await m.validate(token);
    expect(validated).toEqual({ ok: true, session });
    const fetched = await m.get(session.id);
    expect(fetched).toEqual(session);
    const listed = await m.list(userId);
    expect(listed).toEqual([session]);
    expect(await m.count(userId)).toBe(1);

    h.clock.advance('5m');
    const revoked = await m.revoke(session.id, { reason: 'logout' });
    expectSessionShape(revoked);
    expect(revoked).toEqual({ ...session, status: 'revoked', revokedAt: START + 5 * MINUTE, revokeReason: 'logout' });
    expect(await m.validate(token)).toEqual({ ok: false, reason: 'revoked' });
    expect(await m.get(session.id)).toEqual(revoked);
    expect(await m.list(userId)).toEqual([]);
    expect(await m.count(userId)).toBe(0);
    expect(await m.list(userId, { includeInactive: true })).toEqual([revoked]);

    expect(events.map((e) => e.name)).toEqual(['created', 'revoked']);
    expectNoSecrets([session, validated, fetched, listed, revoked, events], [token]);
  });
}

function lifecycleTests2(t: () => Harness): void {
  it('issues a distinct well-formed token and a distinct id for every session', async () => {
    const h = t();
    const m = h.manager();
    const userId = h.user();
    const created = await Promise.all(Array.from({ length: 20 }, () => m.create({ userId })));
    const tokens = created.map((c) => c.token);
    for (const token of tokens) expect(token).toMatch(TOKEN_SHAPE);
    expect(new Set(tokens).size).toBe(20);
    expect(new Set(created.map((c) => c.session.id)).size).toBe(20);
    for (const { session, token } of created) {
      expect(session.id).not.toContain(token.slice(TOKEN_PREFIX.length));
      expect((await m.validate(token)).ok).toBe(true);
    }
    expect(await m.count(userId)).toBe(20);
  });

  it('never returns the token or its hash from any operation or event', async () => {
    const h = t();
    const m = h.manager({ maxSessionsPerUser: 3 });
    const events = recordEvents(m);
    const userId = h.user();
    const seen: unknown[] = [];
    const tokens: string[] = [];
    const keep = <T>(value: T): T => {
      seen.push(value);
      return value;
    };

    const a = keep(await m.create({ userId, metadata: { k: 1 } }));
    const b = keep(await m.create({ userId }));
    const c = keep(await m.create({ userId }));
    tokens.push(a.token, b.token, c.token);
    h.clock.advance('2m');
    keep(await m.validate(a.token)); // writes a touch
    keep(await m.extend(a.session.id, '10m'));
    keep(await m.update(a.session.id, { metadata: { k: 2 } }));
    const rotated = keep(await m.rotate(b.token));
    tokens.push(rotated.token);
    const d = keep(await m.create({ userId })); // evicts one
    tokens.push(d.token);
    keep(await m.get(a.session.id));
    keep(await m.list(userId, { includeInactive: true }));
    keep(await m.stats({ userId }));
    keep(await m.revoke(c.session.id));
    keep(await m.revokeAll(userId));
    h.clock.advance('1d');
    keep(await m.validate(d.token)); // revoked by revokeAll
    keep(await m.list(userId, { includeInactive: true }));

    // Only create() and rotate() results carry a token, at their top level, by design.
    const withoutIssuedTokens = seen.map((value) => {
      if (value === null || typeof value !== 'object' || !('token' in value)) return value;
      const { token: _token, ...rest } = value as { token: string };
      return rest;
    });
    expect(withoutIssuedTokens).toHaveLength(15);
    expectNoSecrets(withoutIssuedTokens, tokens);
    expect(events.length).toBeGreaterThanOrEqual(8);
    expectNoSecrets(events, tokens);
  });
}

function lifecycleTests3(t: () => Harness): void {
  it('parses the device at create(), stores it, and validate() reports whether a request comes from another device', async () => {
    const h = t();
    const m = h.manager();
    const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const macMinor = mac.replace('131.0.0.0', '131.0.6778.86');
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
    const { session, token } = await m.create({ userId: h.user(), userAgent: mac });
    expect(session.device).toMatchObject({ class: 'desktop', label: 'Chrome 131 on macOS', isBot: false });
    expect(session.device?.fingerprint).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect((await m.get(session.id))?.device).toEqual(session.device);
    expect(await m.validate(token, { userAgent: macMinor })).toMatchObject({ ok: true, deviceChanged: false });
    expect(await m.validate(token, { userAgent: iphone })).toMatchObject({ ok: true, deviceChanged: true });
    expect(await m.validate(token)).not.toHaveProperty('deviceChanged');
    const bot = await m.create({ userId: h.user(), userAgent: 'curl/8.4.0' });
    expect(bot.session.device).toMatchObject({ class: 'bot', isBot: true });
  });

  it("stores no raw client address unless ipPrivacy is 'raw': /24 and /48 by default, a keyed hash with ipHashKey", async () => {
    const h = t();
    const userId = h.user();
    const truncating = h.manager();
    expect((await truncating.create({ userId, ip: '198.51.100.77' })).session.ip).toBe('198.51.100.0');
    expect((await truncating.create({ userId, ip: '2001:db8:85a3:8d3:1319:8a2e:370:7348' })).session.ip).toBe('2001:db8:85a3::');
    const hashing = h.manager({ ipHashKey: 'k'.repeat(32) });
    const hashed = await hashing.create({ userId, ip: '198.51.100.77' });
    expect(hashed.session.ip).toMatch(/^h:[A-Za-z0-9_-]{22}$/);
    expect((await hashing.create({ userId, ip: '198.51.100.77' })).session.ip).toBe(hashed.session.ip);
    expect((await hashing.create({ userId, ip: '198.51.100.78' })).session.ip).not.toBe(hashed.session.ip);
    const stored = JSON.stringify(await truncating.list(userId));
    expect(stored).not.toContain('198.51.100.77');
    expect(stored).not.toContain('8a2e:370:7348');
  });

  it('stores tenantId, ip and userAgent as given, null when omitted, and cuts userAgent to 512 characters', async () => {
    const h = t();
    const m = h.manager({ ipPrivacy: 'raw' });
    const userId = h.user();
    const bare = await m.create({ userId });
    expect(bare.session).toMatchObject({ tenantId: null, ip: null, userAgent: null, device: null });
    expect(bare.session.metadata).toEqual({});
    expect(await m.get(bare.session.id)).toEqual(bare.session);

    const long = await m.create({ userId, ip: '2001:db8::1', userAgent: 'u'.repeat(600) });
    expect(long.session.userAgent).toBe('u'.repeat(512));
    expect(long.session.ip).toBe('2001:db8::1');
    expect((await m.get(long.session.id))?.userAgent).toBe('u'.repeat(512));

    expect((await m.create({ userId, ip: '::ffff:203.0.113.9' })).session.ip).toBe('203.0.113.9');
    await expectError(() => m.create({ userId, ip: 'not an address' }), 'INVALID_ARGUMENT');

    // The cut must not split a surrogate pair (a lone surrogate is not storable as UTF-8).
    const emoji = await m.create({ userId, userAgent: `${'a'.repeat(511)}😀tail` });
    expect(emoji.session.userAgent).toBe('a'.repeat(511));
    expect((await m.get(emoji.session.id))?.userAgent).toBe('a'.repeat(511));
  });
}

export function describeStoreGuards(t: () => Harness): void {
  describe('store methods on sessions that are not active', () => {
    // The manager checks status before most writes, so these call the store directly: a store must
    // also refuse on its own, because a session can be revoked between the manager's read and write.
    it('touch, extend, rotateToken and mergeMetadata return null and write nothing for revoked, expired and missing sessions', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const revoked = await m.create({ userId, metadata: { v: 1 } });
      const idle = await m.create({ userId, metadata: { v: 1 } });
      const capped = newRecord(userId, { createdAt: START, expiresAt: START + IDLE, absoluteExpiresAt: START + IDLE });
      await h.store.insert(capped.record, START);
      await m.revoke(revoked.session.id);
      const now = START + IDLE;
      h.clock.set(now);
      const before = await m.list(userId, { includeInactive: true });

      const cases = [
        { id: revoked.session.id, token: revoked.token },
        { id: idle.session.id, token: idle.token },
        { id: capped.record.id, token: capped.token },
        { id: `ses_${randomBytes(12).toString('hex')}`, token: generateToken() },
      ];
      for (const { id, token } of cases) {
        expect(await h.store.touch(id, now, now + IDLE), `touch ${id}`).toBeNull();
        expect(await h.store.extend(id, HOUR, now, now + DAY), `extend ${id}`).toBeNull();
        expect(await h.store.rotateToken(hashToken(token), hashToken(generateToken()), now, now + IDLE), `rotateToken ${id}`).toBeNull();
        expect(await h.store.mergeMetadata(id, { v: 2 }, now, 1024), `mergeMetadata ${id}`).toBeNull();
      }
      expect(await m.list(userId, { includeInactive: true })).toEqual(before);
      expect(await h.store.findByTokenHash(hashToken(revoked.token))).toMatchObject({ id: revoked.session.id, status: 'revoked' });
    });

    it('revoke returns null for a missing or already revoked session; find* return null for unknown keys', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user() });
      const first = await h.store.revoke(session.id, 'logout', START + 1);
      expect(first).toMatchObject({ id: session.id, status: 'revoked', revokeReason: 'logout', revokedAt: START + 1 });
      expect(await h.store.revoke(session.id, 'again', START + 2)).toBeNull();
      expect(await h.store.findById(session.id)).toEqual(first);
      expect(await h.store.revoke(`ses_${randomBytes(12).toString('hex')}`, 'x', START)).toBeNull();
      expect(await h.store.findById(`ses_${randomBytes(12).toString('hex')}`)).toBeNull();
      expect(await h.store.findByTokenHash(hashToken(generateToken()))).toBeNull();
    });
  });
}

export function describeUpdate(t: () => Harness): void {
  describe('update()', () => {
    it('merges top-level metadata keys and stores null as null', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user(), metadata: { a: 1, b: { deep: true } } });
      const first = await m.update(session.id, { metadata: { c: 'three' } });
      expect(first.metadata).toEqual({ a: 1, b: { deep: true }, c: 'three' });
      const second = await m.update(session.id, { metadata: { b: null, a: [1, 2] } });
      expect(second.metadata).toEqual({ a: [1, 2], b: null, c: 'three' });
      expect(second).toEqual({ ...session, metadata: { a: [1, 2], b: null, c: 'three' } });
      expect(await m.get(session.id)).toEqual(second);
      const validated = await m.validate(token);
      expect(validated.ok && validated.session.metadata).toEqual({ a: [1, 2], b: null, c: 'three' });
    });

    it('keeps every key of 20 concurrent updates of different keys', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user(), metadata: { base: 0 } });
      await Promise.all(Array.from({ length: 20 }, (_, i) => m.update(session.id, { metadata: { [`k${i}`]: i } })));
      const expected: Record<string, number> = { base: 0 };
      for (let i = 0; i < 20; i++) expected[`k${i}`] = i;
      expect((await m.get(session.id))?.metadata).toEqual(expected);
    });

    it('refuses revoked and expired sessions (SESSION_INACTIVE) and unknown ids (SESSION_NOT_FOUND)', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const revoked = await m.create({ userId, metadata: { v: 1 } });
      const idle = await m.create({ userId, metadata: { v: 1 } });
      await m.revoke(revoked.session.id);
      h.clock.set(START + IDLE);
      const before = await m.list(userId, { includeInactive: true });
      await expectError(() => m.update(revoked.session.id, { metadata: { v: 2 } }), 'SESSION_INACTIVE');
      await expectError(() => m.update(idle.session.id, { metadata: { v: 2 } }), 'SESSION_INACTIVE');
      await expectError(() => m.update('ses_doesnotexist000000000000', { metadata: { v: 2 } }), 'SESSION_NOT_FOUND');
      expect(await m.list(userId, { includeInactive: true })).toEqual(before);
    });

    it('rejects a merge whose result exceeds maxMetadataBytes (INVALID_METADATA) and changes nothing', async () => {
      const h = t();
      const m = h.manager({ maxMetadataBytes: 256 });
      const { session } = await m.create({ userId: h.user(), metadata: { a: 'x'.repeat(150) } });
      const base = h.writes();
      // Each patch fits on its own; the merged object does not.
      await expectError(() => m.update(session.id, { metadata: { b: 'y'.repeat(150) } }), 'INVALID_METADATA');
      expect(await m.get(session.id)).toEqual(session);
      // The limit applies to the merged result, so replacing a big value can make room.
      const shrunk = await m.update(session.id, { metadata: { a: null, b: 'y'.repeat(150) } });
      expect(shrunk.metadata).toEqual({ a: null, b: 'y'.repeat(150) });
      expect(h.writes() - base).toBe(2);
    });

    it('measures the limit on the compact JSON of the merged object', async () => {
      const h = t();
      const m = h.manager({ maxMetadataBytes: 64 });
      const { session } = await m.create({ userId: h.user(), metadata: { zz: 1, a: 'x'.repeat(20) } });
      const patch = { b: 'y'.repeat(9), cc: [1, 2, 3] };
      expect(Buffer.byteLength(JSON.stringify({ ...session.metadata, ...patch }))).toBe(64);
      const merged = await m.update(session.id, { metadata: patch });
      expect(merged.metadata).toEqual({ zz: 1, a: 'x'.repeat(20), ...patch });
      await expectError(() => m.update(session.id, { metadata: { b: 'y'.repeat(10) } }), 'INVALID_METADATA');
      expect((await m.get(session.id))?.metadata).toEqual(merged.metadata);
    });

    it('merges values holding any string, \\u0000 included', async () => {
      const h = t();
      const m = h.manager();
      const { session } = await m.create({ userId: h.user(), metadata: { a: 'nul\u0000a' } });
      const merged = await m.update(session.id, { metadata: { b: 'nul\u0000b' } });
      expect(merged.metadata).toEqual({ a: 'nul\u0000a', b: 'nul\u0000b' });
      const plain = await m.create({ userId: h.user(), metadata: { a: 1 } });
      expect((await m.update(plain.session.id, { metadata: { b: '\u0000' } })).metadata).toEqual({ a: 1, b: '\u0000' });
      expect((await m.get(session.id))?.metadata).toEqual(merged.metadata);
    });
  });
}
