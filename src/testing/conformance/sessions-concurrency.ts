import { describe, expect, it } from 'vitest';
import type { Session } from '../../contracts.js';
import { SessionError } from '../../errors.js';
import { type SessionManager } from '../../session-manager.js';
import { hashToken, TOKEN_PREFIX } from '../../token.js';
import { START, IDLE, expectError, expectNoSecrets, recordEvents, eventsNamed, ids, sortedIds, type Harness, type ConformanceOptions, type RecordedEvent } from './harness.js';

type Created = { session: Session; token: string };

/** Starts `n` creates round-robin over `managers` at once; records the order in which they resolved. */
async function createAtOnce(managers: SessionManager[], userId: string, n: number) {
  const resolved: string[] = [];
  const settled = await Promise.allSettled(
    Array.from({ length: n }, (_, i) =>
      managers[i % managers.length]!.create({ userId }).then((created) => {
        resolved.push(created.session.id);
        return created;
      }),
    ),
  );
  const won = settled.filter((r): r is PromiseFulfilledResult<Created> => r.status === 'fulfilled').map((r) => r.value);
  const lost = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  return { won, lost, resolved };
}

async function expectRejectOutcome(m: SessionManager, userId: string, run: Awaited<ReturnType<typeof createAtOnce>>) {
  expect(run.won).toHaveLength(3);
  expect(run.lost).toHaveLength(47);
  for (const err of run.lost) {
    expect(err).toBeInstanceOf(SessionError);
    expect((err as SessionError).code).toBe('SESSION_LIMIT');
  }
  expect(sortedIds(await m.list(userId))).toEqual(sortedIds(run.won.map((c) => c.session)));
  expect(await m.list(userId, { includeInactive: true })).toHaveLength(3);
  expect(await m.count(userId)).toBe(3);
}

/**
 * `newestSurvives`: the create that resolved last is one of the survivors. True of one manager on one
 * store; across two connections the order replies resolve in is not the order the store ran them.
 */
async function expectEvictOutcome(m: SessionManager, userId: string, run: Awaited<ReturnType<typeof createAtOnce>>, events: RecordedEvent[], newestSurvives = true) {
  expect(run.lost).toEqual([]);
  expect(run.won).toHaveLength(50);
  const active = await m.list(userId);
  expect(active).toHaveLength(3);
  expect(await m.count(userId)).toBe(3);
  const all = await m.list(userId, { includeInactive: true });
  expect(all).toHaveLength(50);
  const revoked = all.filter((s) => s.status === 'revoked');
  expect(revoked).toHaveLength(47);
  expect(revoked.every((s) => s.revokeReason === 'limit')).toBe(true);
  if (newestSurvives) expect(ids(active)).toContain(run.resolved[run.resolved.length - 1]);
  // Each evicted session is reported once, with reason 'limit'.
  const evictions = eventsNamed(events, 'revoked');
  expect(evictions.every((e) => e.reason === 'limit')).toBe(true);
  expect(sortedIds(evictions.map((e) => e.session))).toEqual(sortedIds(revoked));
  for (const { token, session } of run.won) {
    const result = await m.validate(token);
    expect(result.ok ? 'active' : result.reason).toBe(ids(active).includes(session.id) ? 'active' : 'revoked');
  }
}

export function describeConcurrency(t: () => Harness, options: ConformanceOptions): void {
  describe('concurrency', () => {
    it("50 parallel creates with maxSessionsPerUser 3 'reject': exactly 3 succeed and are the active ones", async () => {
      const h = t();
      const m = h.manager({ maxSessionsPerUser: 3, onLimit: 'reject' });
      const userId = h.user();
      await expectRejectOutcome(m, userId, await createAtOnce([m], userId, 50));
    });

    it("50 parallel creates with maxSessionsPerUser 3 'evict-oldest': all succeed, 3 stay active, 47 are revoked for 'limit'", async () => {
      const h = t();
      const m = h.manager({ maxSessionsPerUser: 3, onLimit: 'evict-oldest' });
      const events = recordEvents(m);
      const userId = h.user();
      await expectEvictOutcome(m, userId, await createAtOnce([m], userId, 50), events);
    });

    describe.runIf(options.createPeerStore !== undefined)('across two stores over the same data (createPeerStore)', () => {
      it('a session created through one store is seen, validated and revoked through the other', async () => {
        const h = t();
        const m1 = h.manager();
        const m2 = await h.peerManager();
        const userId = h.user();
        const { session, token } = await m1.create({ userId, metadata: { from: 'm1' } });
        expect(await m2.get(session.id)).toEqual(session);
        expect((await m2.validate(token)).ok).toBe(true);
        await m2.revoke(session.id);
        expect(await m1.validate(token)).toEqual({ ok: false, reason: 'revoked' });
      });

      it("25 + 25 parallel creates with 'reject': exactly 3 succeed across both", async () => {
        const h = t();
        const m1 = h.manager({ maxSessionsPerUser: 3, onLimit: 'reject' });
        const m2 = await h.peerManager({ maxSessionsPerUser: 3, onLimit: 'reject' });
        const userId = h.user();
        await expectRejectOutcome(m1, userId, await createAtOnce([m1, m2], userId, 50));
        expect(await m2.count(userId)).toBe(3);
      });

      it("25 + 25 parallel creates with 'evict-oldest': all succeed, 3 stay active, 47 are revoked for 'limit'", async () => {
        const h = t();
        const m1 = h.manager({ maxSessionsPerUser: 3, onLimit: 'evict-oldest' });
        const m2 = await h.peerManager({ maxSessionsPerUser: 3, onLimit: 'evict-oldest' });
        const events = recordEvents(m1, m2);
        const userId = h.user();
        await expectEvictOutcome(m1, userId, await createAtOnce([m1, m2], userId, 50), events, false);
        expect(await m2.count(userId)).toBe(3);
      });
    });
  });
}

export function describeSecrets(t: () => Harness, options: ConformanceOptions): void {
  describe('token storage', () => {
    it.runIf(options.dump !== undefined)('the backend (dump) holds token hashes, never a token', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const created = await Promise.all(Array.from({ length: 4 }, (_, i) => m.create({ userId, metadata: { i } })));
      h.clock.advance('2m');
      await m.validate(created[0]!.token);
      const rotated = await m.rotate(created[1]!.token);
      await m.revoke(created[2]!.session.id);
      const tokens = [...created.map((c) => c.token), rotated.token];
      const live = [created[0]!.token, rotated.token, created[2]!.token, created[3]!.token];

      const dump = await options.dump!(h.store);
      expect(dump).toContain(created[0]!.session.id); // the dump really holds the data
      for (const token of tokens) {
        expect(dump).not.toContain(token);
        expect(dump).not.toContain(token.slice(TOKEN_PREFIX.length));
      }
      expect(live.some((token) => dump.includes(hashToken(token)))).toBe(true);
    });
  });
}

export function describeEvents(t: () => Harness): void {
  describe('events', () => {
    it('created, extended, rotated, revoked and expired fire once each with their payloads', async () => {
      const h = t();
      const m = h.manager();
      const events = recordEvents(m);
      const userId = h.user();
      const a = await m.create({ userId });
      const extended = await m.extend(a.session.id, '5m');
      const rotated = await m.rotate(a.token);
      const revoked = await m.revoke(a.session.id, { reason: 'logout' });
      const b = await m.create({ userId });
      h.clock.set(START + IDLE);
      await m.validate(b.token);

      expect(events).toEqual([
        { name: 'created', payload: { session: a.session } },
        { name: 'extended', payload: { session: extended } },
        { name: 'rotated', payload: { session: rotated.session } },
        { name: 'revoked', payload: { session: revoked, reason: 'logout' } },
        { name: 'created', payload: { session: b.session } },
        { name: 'expired', payload: { session: { ...b.session, status: 'expired' }, cause: 'idle' } },
      ]);
      expectNoSecrets(events, [a.token, rotated.token, b.token]);
    });

    it('a throwing or rejecting listener does not fail the operation and is reported to onListenerError', async () => {
      const h = t();
      const reported: Array<{ error: unknown; event: string }> = [];
      const m = h.manager({ onListenerError: (error, event) => reported.push({ error, event }) });
      const boom = new Error('listener failed');
      const later = new Error('async listener failed');
      m.on('created', () => {
        throw boom;
      });
      m.on('revoked', async () => {
        throw later;
      });
      const seen: string[] = [];
      m.on('created', ({ session }) => {
        seen.push(session.id);
      });

      const userId = h.user();
      const { session, token } = await m.create({ userId });
      expect(seen).toEqual([session.id]); // later listeners still run
      expect((await m.validate(token)).ok).toBe(true);
      await m.revoke(session.id);
      await new Promise((resolve) => setImmediate(resolve)); // let the rejected listener promise settle
      expect(reported).toEqual([
        { error: boom, event: 'created' },
        { error: later, event: 'revoked' },
      ]);
      expect((await m.get(session.id))?.status).toBe('revoked');
    });

    it('the function returned by on() unsubscribes', async () => {
      const h = t();
      const m = h.manager();
      const seen: string[] = [];
      const off = m.on('created', ({ session }) => {
        seen.push(session.id);
      });
      const userId = h.user();
      const first = await m.create({ userId });
      off();
      await m.create({ userId });
      expect(seen).toEqual([first.session.id]);
    });
  });
}

export function describeClose(t: () => Harness): void {
  describe('close()', () => {
    it('after close() every call throws CLOSED, and close() may be called again', async () => {
      const h = t();
      const m = h.manager();
      const userId = h.user();
      const { session, token } = await m.create({ userId });
      await m.close();
      await m.close();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['create', () => m.create({ userId })],
        ['validate', () => m.validate(token)],
        ['extend', () => m.extend(session.id, '1m')],
        ['rotate', () => m.rotate(token)],
        ['update', () => m.update(session.id, { metadata: { a: 1 } })],
        ['revoke', () => m.revoke(session.id)],
        ['revokeAll', () => m.revokeAll(userId)],
        ['get', () => m.get(session.id)],
        ['list', () => m.list(userId)],
        ['count', () => m.count(userId)],
        ['stats', () => m.stats()],
        ['cleanup', () => m.cleanup()],
      ];
      for (const [label, call] of calls) await expectError(call, 'CLOSED', label);
    });
  });
}
