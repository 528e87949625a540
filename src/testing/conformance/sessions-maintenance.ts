import { describe, expect, it } from 'vitest';
import type { SessionMetadata } from '../../contracts.js';
import { generateToken, hashToken } from '../../token.js';
import { START, SECOND, MINUTE, HOUR, DAY, IDLE, expectError, newRecord, ids, sortedIds, type Harness, type ConformanceOptions } from './harness.js';

export function describeCleanup(t: () => Harness): void {
  describe('cleanup()', () => {
    it('deletes only sessions that ended before the cutoff, in batches, and returns the count', async () => {
      const h = t();
      const m = h.manager({ idleTimeout: '10m', touchInterval: '1m' });
      const userId = h.user();
      // At START: three to revoke early, two to expire early, one kept alive by extend().
      const early = await Promise.all(Array.from({ length: 5 }, () => m.create({ userId })));
      const alive = await m.create({ userId });
      await m.extend(alive.session.id, '6h');
      h.clock.set(START + MINUTE);
      for (const s of early.slice(0, 3)) await m.revoke(s.session.id);
      // Later sessions: expires after the cutoff, revoked exactly at the cutoff, revoked after it.
      h.clock.set(START + 4 * HOUR);
      const lateExpired = await m.create({ userId }); // expires START+4h10m
      const atCutoff = await m.create({ userId });
      const lateRevoked = await m.create({ userId });
      h.clock.set(START + 4 * HOUR + MINUTE);
      await m.revoke(atCutoff.session.id);
      h.clock.set(START + 5 * HOUR);
      await m.revoke(lateRevoked.session.id);

      h.clock.set(START + 5 * HOUR + MINUTE); // cutoff = START + 4h1m
      const callsBefore = h.calls('deleteEndedBefore');
      expect(await m.cleanup({ olderThan: '1h', batchSize: 2 })).toBe(5);
      expect(h.calls('deleteEndedBefore') - callsBefore).toBeGreaterThanOrEqual(3);
      for (const s of early) expect(await m.get(s.session.id)).toBeNull();
      expect(await m.get(alive.session.id)).toMatchObject({ status: 'active' });
      expect(await m.get(lateExpired.session.id)).toMatchObject({ status: 'expired' });
      expect(await m.get(atCutoff.session.id)).toMatchObject({ status: 'revoked' });
      expect(await m.get(lateRevoked.session.id)).toMatchObject({ status: 'revoked' });
      expect(await m.list(userId, { includeInactive: true })).toHaveLength(4);

      expect(await m.cleanup({ olderThan: '1h', batchSize: 2 })).toBe(0);
      expect(await m.validate(alive.token)).toMatchObject({ ok: true });
    });

    it('a session that expired before the cutoff counts as ended then, even if revoked after it', async () => {
      const h = t();
      const m = h.manager({ idleTimeout: '10m', touchInterval: '1m' });
      const userId = h.user();
      const expiredThenRevoked = await m.create({ userId });
      const revokedLater = await m.create({ userId });
      await m.extend(revokedLater.session.id, '5h');
      h.clock.set(START + 2 * HOUR);
      // revoke() marks an already expired session too; its end stays its idle deadline (START+10m).
      await m.revoke(expiredThenRevoked.session.id);
      await m.revoke(revokedLater.session.id);
      h.clock.set(START + 2 * HOUR + 30 * MINUTE);
      expect(await m.cleanup({ olderThan: '1h' })).toBe(1); // cutoff START+1h30m
      expect(await m.get(expiredThenRevoked.session.id)).toBeNull();
      expect(await m.get(revokedLater.session.id)).toMatchObject({ status: 'revoked' });
    });

    it('never deletes an active session, even with olderThan 0', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const active = await m.create({ userId });
      const ended = await m.create({ userId });
      h.clock.advance('1m');
      await m.revoke(ended.session.id);
      h.clock.advance('1m');
      expect(await m.cleanup({ olderThan: 0 })).toBe(1);
      expect(await m.get(ended.session.id)).toBeNull();
      expect(ids(await m.list(userId, { includeInactive: true }))).toEqual([active.session.id]);
      expect((await m.validate(active.token)).ok).toBe(true);
      expect(await m.cleanup({ olderThan: 0 })).toBe(0);
    });
  });
}

export function describeMigration(t: () => Harness, options: ConformanceOptions): void {
  describe('migrate()', () => {
    it('is idempotent, also when called concurrently, and keeps existing sessions', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const before = await m.create({ userId, metadata: { kept: true } });
      await h.store.migrate();
      await h.store.migrate();
      await Promise.all([h.store.migrate(), h.store.migrate(), h.store.migrate()]);
      expect(await m.get(before.session.id)).toEqual(before.session);
      expect((await m.validate(before.token)).ok).toBe(true);
      const after = await m.create({ userId });
      expect(sortedIds(await m.list(userId))).toEqual(sortedIds([before.session, after.session]));
    });

    it.runIf(options.createPeerStore !== undefined)('a second store over the same data (createPeerStore) can migrate again and sees the sessions', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user() });
      const peer = await h.peerManager();
      await h.store.migrate();
      expect(await peer.get(session.id)).toEqual(session);
      expect((await peer.validate(token)).ok).toBe(true);
    });
  });
}

export function describeRoundTrip(t: () => Harness): void {
  describe('round-trip of unicode and large values', () => {
    const UNICODE: SessionMetadata = {
      emoji: '👩‍👩‍👧‍👦 🎉 🏳️‍🌈 👍🏽',
      cjk: '会话管理 セッション管理 세션 관리',
      rtl: 'مرحبا بالعالم — שלום עולם',
      astral: '𝄞 𐍈 𠜎 🀄',
      combining: 'e\u0301 n\u0303 a\u030a',
      escapes: 'quote " backslash \\ newline \n tab \t slash / zero-width \u200b bom \ufeff',
      '键 🔑 مفتاح': 'unicode key',
      '': 'empty key',
      nested: { list: ['α', 'β', { γ: 'δ' }], empty: {}, none: [] },
      numbers: { int: -42, float: 0.1, tiny: 1e-7, big: 6.02e23, maxSafe: Number.MAX_SAFE_INTEGER },
      flags: { yes: true, no: false, nothing: null },
      // Postgres text refuses NUL and UTF-8 has no unpaired surrogates: JSON escapes must carry both.
      controls: { nul: 'a\u0000b', bell: '\u0007', loneHigh: 'x\ud800y', loneLow: '\udc00' },
    };

    it('metadata with emoji, CJK, RTL, astral and escaped characters comes back exactly', async () => {
      const h = t();
      const m = h.manager();
      const { session, token } = await m.create({ userId: h.user(), metadata: UNICODE });
      expect(session.metadata).toEqual(UNICODE);
      expect((await m.get(session.id))?.metadata).toEqual(UNICODE);
      const validated = await m.validate(token);
      expect(validated.ok && validated.session.metadata).toEqual(UNICODE);
      const updated = await m.update(session.id, { metadata: { more: '🙂 добавлено' } });
      expect(updated.metadata).toEqual({ ...UNICODE, more: '🙂 добавлено' });
      expect((await m.get(session.id))?.metadata).toEqual({ ...UNICODE, more: '🙂 добавлено' });
    });

    it('unicode userId, tenantId and userAgent are stored and matched exactly', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user('us\u00e9r-用户-🙂-مستخدم');
      expect(userId.normalize('NFD')).not.toBe(userId);
      const tenantId = 'テナント-🏢';
      const userAgent = 'Navigateur/1.0 (Ünïcödé; 日本語) 🦊';
      const { session, token } = await m.create({ userId, tenantId, userAgent });
      expect(await m.get(session.id)).toMatchObject({ userId, tenantId, userAgent });
      expect(ids(await m.list(userId))).toEqual([session.id]);
      expect(await m.count(userId)).toBe(1);
      const validated = await m.validate(token);
      expect(validated.ok && validated.session.userId).toBe(userId);
      // A user id differing only in normalisation (é precomposed vs. e + combining accent) is another user.
      expect(await m.count(userId.normalize('NFD'))).toBe(0);
    });

    it('ids with NUL or unpaired surrogates are refused; such a userAgent is cleaned, not refused', async () => {
      const h = t();
      const m = h.manager();
      for (const bad of ['nul\u0000user', 'lone\ud800', '\udfffx']) {
        await expectError(() => m.create({ userId: bad }), 'INVALID_ARGUMENT', JSON.stringify(bad));
        await expectError(() => m.create({ userId: h.user(), tenantId: bad }), 'INVALID_ARGUMENT', JSON.stringify(bad));
      }
      const { session } = await m.create({ userId: h.user(), userAgent: 'Agent\u0000/1.0 \ud800(x)' });
      expect(session.userAgent).toBe('Agent/1.0 \ufffd(x)');
      expect((await m.get(session.id))?.userAgent).toBe('Agent/1.0 \ufffd(x)');
    });

    it('about 10 KB of metadata comes back exactly through get() and validate()', async () => {
      const h = t();
      const m = h.manager();
      const metadata = {
        blob: 'x'.repeat(6000),
        text: 'Ünïcödé ✓ '.repeat(150),
        items: Array.from({ length: 60 }, (_, i) => ({ i, label: `item-${i}`, tags: ['a', 'b'] })),
      };
      expect(Buffer.byteLength(JSON.stringify(metadata))).toBeGreaterThan(10_000);
      const { session, token } = await m.create({ userId: h.user(), metadata });
      expect((await m.get(session.id))?.metadata).toEqual(metadata);
      const validated = await m.validate(token);
      expect(validated.ok && validated.session.metadata).toEqual(metadata);
    });
  });
}

/** Inserts an active session directly; its token hash is `hash`. */
async function activeSession(h: Harness, userId = h.user()) {
  const { record } = newRecord(userId, { createdAt: START, expiresAt: START + IDLE });
  const { session } = await h.store.insert(record, START);
  return { session, hash: record.tokenHash };
}

const newHash = (): string => hashToken(generateToken());

export function describeRotatedTokens(t: () => Harness): void {
  describe('rotated tokens', () => {
    rotatedTokensTests1(t);
    rotatedTokensTests2(t);
  });
}

function rotatedTokensTests1(t: () => Harness): void {
  it('rotateToken remembers each replaced hash with its session, user and time; current and unknown hashes are not rotated ones', async () => {
    const h = t();
    const userId = h.user();
    const { session, hash } = await activeSession(h, userId);
    const second = newHash();
    const third = newHash();
    expect(await h.store.rotateToken(hash, second, START + 10 * SECOND, START + 10 * SECOND + IDLE)).toMatchObject({ id: session.id });
    expect(await h.store.findRotatedToken(hash)).toEqual({ sessionId: session.id, userId, rotatedAt: START + 10 * SECOND });
    expect(await h.store.findRotatedToken(second)).toBeNull();
    expect(await h.store.rotateToken(second, third, START + 20 * SECOND, START + 20 * SECOND + IDLE)).toMatchObject({ id: session.id });
    expect(await h.store.findRotatedToken(hash)).toEqual({ sessionId: session.id, userId, rotatedAt: START + 10 * SECOND });
    expect(await h.store.findRotatedToken(second)).toEqual({ sessionId: session.id, userId, rotatedAt: START + 20 * SECOND });
    expect(await h.store.findRotatedToken(third)).toBeNull();
    expect(await h.store.findRotatedToken(newHash())).toBeNull();
    // A rotated-away hash is remembered, not valid.
    expect(await h.store.findByTokenHash(hash)).toBeNull();
  });

  it('a rotation that fails records nothing (revoked, expired, unknown hash)', async () => {
    const h = t();
    const revoked = await activeSession(h);
    const expired = await activeSession(h);
    await h.store.revoke(revoked.session.id, 'logout', START + 1);
    const now = START + IDLE;
    const unknown = newHash();
    for (const hash of [revoked.hash, expired.hash, unknown]) {
      expect(await h.store.rotateToken(hash, newHash(), now, now + IDLE)).toBeNull();
      expect(await h.store.findRotatedToken(hash)).toBeNull();
    }
    expect(await h.store.deleteRotatedTokensBefore(now + DAY, 100)).toBe(0);
  });

  it('of 10 concurrent rotations of one hash exactly one succeeds, and exactly one record exists, the winner\'s', async () => {
    const h = t();
    const userId = h.user();
    const { session, hash } = await activeSession(h, userId);
    const nexts = Array.from({ length: 10 }, newHash);
    const results = await Promise.all(nexts.map((next, i) => h.store.rotateToken(hash, next, START + i, START + i + IDLE)));
    const winners = results.flatMap((result, i) => (result === null ? [] : [i]));
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    expect(await h.store.findRotatedToken(hash)).toEqual({ sessionId: session.id, userId, rotatedAt: START + winner });
    for (const [i, next] of nexts.entries()) {
      expect(await h.store.findRotatedToken(next)).toBeNull();
      expect((await h.store.findByTokenHash(next))?.id ?? null).toBe(i === winner ? session.id : null);
    }
    expect(await h.store.deleteRotatedTokensBefore(START + DAY, 100)).toBe(1);
    expect(await h.store.findRotatedToken(hash)).toBeNull();
  });

  it('a record outlives its session: deleting ended sessions leaves it', async () => {
    const h = t();
    const userId = h.user();
    const { session, hash } = await activeSession(h, userId);
    await h.store.rotateToken(hash, newHash(), START + MINUTE, START + MINUTE + IDLE);
    await h.store.revoke(session.id, 'logout', START + 2 * MINUTE);
    expect(await h.store.deleteEndedBefore(START + HOUR, 100)).toBe(1);
    expect(await h.store.findById(session.id)).toBeNull();
    expect(await h.store.findRotatedToken(hash)).toEqual({ sessionId: session.id, userId, rotatedAt: START + MINUTE });
  });
}

function rotatedTokensTests2(t: () => Harness): void {
  it('deleteRotatedTokensBefore deletes at most `limit` records rotated before the cutoff', async () => {
    const h = t();
    const hashes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { hash } = await activeSession(h);
      await h.store.rotateToken(hash, newHash(), START + i * MINUTE, START + i * MINUTE + IDLE);
      hashes.push(hash);
    }
    expect(await h.store.deleteRotatedTokensBefore(START + 3 * MINUTE, 2)).toBe(2);
    expect(await h.store.deleteRotatedTokensBefore(START + 3 * MINUTE, 2)).toBe(1);
    expect(await h.store.deleteRotatedTokensBefore(START + 3 * MINUTE, 2)).toBe(0);
    const left = await Promise.all(hashes.map((hash) => h.store.findRotatedToken(hash)));
    expect(left.map((record) => record?.rotatedAt ?? null)).toEqual([null, null, null, START + 3 * MINUTE, START + 4 * MINUTE]);
  });

  it('600 lookups at once (a guessing flood), repeated and unknown hashes among them, each get their own answer', async () => {
    const h = t();
    const rotated: { hash: string; sessionId: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const { session, hash } = await activeSession(h);
      await h.store.rotateToken(hash, newHash(), START + i, START + i + IDLE);
      rotated.push({ hash, sessionId: session.id });
    }
    const asked = Array.from({ length: 600 }, (_, i) => (i % 50 === 0 ? rotated[(i / 50) % 3]! : { hash: newHash(), sessionId: null }));
    const answers = await Promise.all(asked.map(({ hash }) => h.store.findRotatedToken(hash)));
    expect(answers.map((answer) => answer?.sessionId ?? null)).toEqual(asked.map(({ sessionId }) => sessionId));
  });
}
