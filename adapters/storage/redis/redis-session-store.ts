import type {
  EpochMs,
  NewSessionRecord,
  RotatedToken,
  ScanFilter,
  Session,
  SessionLimit,
  SessionMetadata,
  SessionStore,
  StoreCapabilities,
} from '../../../src/contracts.js';
import { parseDuration, type Duration } from '../../../src/duration.js';
import { invalidArgument, invalidConfig, SessionError, storeContractError, toStoreError } from '../../../src/errors.js';
import { metadataFields, parseOptionalSession, parseRotatedToken, parseSession, parseSessions, sessionFields } from './redis-records.js';
import { RedisScripts, type RedisScriptClient } from './redis-scripts.js';
import type { ScriptName } from './redis-lua.js';

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * A node-redis client you created and connected (`createClient({ url })`); the store never opens,
   * configures or closes it. With the default offline queue, calls made while Redis is down wait for
   * the reconnect; with `disableOfflineQueue: true` they fail at once with `STORE_UNAVAILABLE`.
   */
  client: RedisScriptClient;
  /** Prefix of every key the store writes. Must not contain `{` or `}`. Default `'sk:'`. */
  prefix?: string;
  /**
   * How long ended (expired or revoked) sessions and rotated-token records stay before Redis expires
   * them by itself: keys carry PEXPIREAT at the session's end plus this. `cleanup()` can delete them
   * earlier. Default `'30d'`, the default `olderThan` of `cleanup()`.
   */
  retainEnded?: Duration;
}

/**
 * A session store on Redis (node-redis 6): the required {@link SessionStore} capability only, so
 * `capabilities` is `{ activity: false, alerts: false }`; pair it with a SQL store for those
 * (`createSessionManager({ store: redis, activityStore: sqlite, alertStore: sqlite })`).
 *
 * Every change is one Lua script, atomic in the server; keys expire with their session (PEXPIREAT),
 * so Redis needs no sweeper. Tokens are stored only as their SHA-256.
 *
 * @example
 * import { createClient } from 'redis';
 * import { redisStore } from 'sessionkeeper/redis';
 *
 * const client = await createClient({ url: 'redis://127.0.0.1:6379' }).connect();
 * const store = redisStore({ client, prefix: 'myapp:sk:' });
 */
export function redisStore(options: RedisStoreOptions): RedisSessionStore {
  if (options === null || typeof options !== 'object') invalidConfig('redisStore options', 'must be an object');
  const { client } = options;
  if (client === null || typeof client !== 'object' || typeof client.evalSha !== 'function' || typeof client.eval !== 'function') {
    invalidConfig('client', 'must be a node-redis client (createClient()), with evalSha() and eval()');
  }
  const prefix = options.prefix ?? 'sk:';
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 200 || /[{}]/.test(prefix)) {
    invalidConfig('prefix', 'must be a non-empty string of at most 200 characters without { or }');
  }
  const retainEndedMs = parseDuration(options.retainEnded ?? '30d', 'retainEnded');
  return new RedisSessionStore(new RedisScripts(client, prefix, retainEndedMs), prefix);
}

/** The store {@link redisStore} returns. Construct it through `redisStore()`. */
export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis';
  readonly capabilities: StoreCapabilities = { activity: false, alerts: false };
  readonly #scripts: RedisScripts;
  readonly #prefix: string;
  #closed = false;

  /** @internal use {@link redisStore}. */
  constructor(scripts: RedisScripts, prefix: string) {
    this.#scripts = scripts;
    this.#prefix = prefix;
  }

  /** Nothing to create: Redis has no schema. The scripts are loaded on first use. */
  async migrate(): Promise<void> {
    this.#assertOpen();
  }

  async insert(record: NewSessionRecord, now: EpochMs, limit?: SessionLimit): Promise<{ session: Session; evicted: Session[] }> {
    assertText(record?.id, 'record.id');
    assertText(record.userId, 'record.userId');
    assertText(record.tokenHash, 'record.tokenHash');
    const args = [String(now), limit ? String(limit.max) : '', limit?.onLimit ?? '', record.id, record.userId, record.tokenHash, ...sessionFields(record)];
    const reply = await this.#run('insert', this.#userKey(record.userId), args);
    if (!Array.isArray(reply) || reply.length !== 2) throw storeContractError('insert', 'Redis returned no session and evictions');
    return { session: parseSession(reply[0], 'insert'), evicted: parseSessions(reply[1], 'insert') };
  }

  async findByTokenHash(tokenHash: string): Promise<Session | null> {
    assertText(tokenHash, 'tokenHash');
    return parseOptionalSession(await this.#run('findByToken', this.#key('t:', tokenHash), [tokenHash]), 'findByTokenHash');
  }

  async findById(id: string): Promise<Session | null> {
    assertText(id, 'id');
    return parseOptionalSession(await this.#run('findById', this.#key('i:', id), [id]), 'findById');
  }

  async touch(id: string, at: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null> {
    assertText(id, 'id');
    return parseOptionalSession(await this.#run('touch', this.#key('i:', id), [id, String(at), String(idleExpiresAt)]), 'touch');
  }

  async extend(id: string, byMs: number, now: EpochMs, maxIdleExpiresAt: EpochMs): Promise<Session | null> {
    assertText(id, 'id');
    const args = [id, String(byMs), String(now), String(maxIdleExpiresAt)];
    return parseOptionalSession(await this.#run('extend', this.#key('i:', id), args), 'extend');
  }

  async rotateToken(currentHash: string, nextHash: string, now: EpochMs, idleExpiresAt: EpochMs): Promise<Session | null> {
    assertText(currentHash, 'currentHash');
    assertText(nextHash, 'nextHash');
    const args = [currentHash, nextHash, String(now), String(idleExpiresAt)];
    return parseOptionalSession(await this.#run('rotate', this.#key('t:', currentHash), args), 'rotateToken');
  }

  async findRotatedToken(tokenHash: string): Promise<RotatedToken | null> {
    assertText(tokenHash, 'tokenHash');
    return parseRotatedToken(await this.#run('findRotated', this.#key('r:', tokenHash), [tokenHash]));
  }

  async deleteRotatedTokensBefore(cutoff: EpochMs, limit: number): Promise<number> {
    assertLimit(limit);
    return Number(await this.#run('deleteRotated', this.#key('rot', ''), [String(cutoff), String(limit)]));
  }

  async mergeMetadata(id: string, patch: SessionMetadata, now: EpochMs, serializedLimit: number): Promise<Session | null> {
    assertText(id, 'id');
    const args = [id, String(now), String(serializedLimit), ...metadataFields(patch)];
    return parseOptionalSession(await this.#run('merge', this.#key('i:', id), args), 'mergeMetadata');
  }

  async revoke(id: string, reason: string, at: EpochMs): Promise<Session | null> {
    assertText(id, 'id');
    return parseOptionalSession(await this.#run('revoke', this.#key('i:', id), [id, reason, String(at)]), 'revoke');
  }

  async revokeAll(userId: string, reason: string, at: EpochMs, exceptId?: string): Promise<Session[]> {
    assertText(userId, 'userId');
    const reply = await this.#run('revokeAll', this.#userKey(userId), [userId, reason, String(at), exceptId ?? '']);
    return parseSessions(reply, 'revokeAll');
  }

  async listByUser(userId: string, activeAt?: EpochMs): Promise<Session[]> {
    assertText(userId, 'userId');
    const sessions = parseSessions(await this.#run('listByUser', this.#userKey(userId), [userId]), 'listByUser');
    const selected = activeAt === undefined ? sessions : sessions.filter((s) => isActive(s, activeAt));
    return selected.sort((a, b) => b.lastActiveAt - a.lastActiveAt || b.createdAt - a.createdAt || compare(b.id, a.id));
  }

  async countActive(userId: string, now: EpochMs): Promise<number> {
    assertText(userId, 'userId');
    return Number(await this.#run('countActive', this.#userKey(userId), [userId, String(now)]));
  }

  async *scan(filter: ScanFilter, pageSize: number): AsyncIterable<Session[]> {
    assertLimit(pageSize);
    if (filter.userId !== undefined) {
      const since = filter.createdSince ?? -Infinity;
      const own = (await this.listByUser(filter.userId)).filter((s) => s.createdAt >= since);
      own.sort((a, b) => a.createdAt - b.createdAt || compare(a.id, b.id));
      for (let i = 0; i < own.length; i += pageSize) yield own.slice(i, i + pageSize);
      return;
    }
    const min = filter.createdSince === undefined ? '-inf' : String(filter.createdSince);
    for (let offset = 0; ; offset += pageSize) {
      const reply = await this.#run('scanPage', this.#key('all', ''), [min, String(offset), String(pageSize)]);
      const count = Array.isArray(reply) ? reply.length : 0;
      const page = parseSessions(reply, 'scan');
      if (page.length > 0) yield page;
      if (count < pageSize) return;
    }
  }

  async deleteEndedBefore(cutoff: EpochMs, limit: number): Promise<number> {
    assertLimit(limit);
    let deleted = 0;
    let offset = 0;
    // Windows of the global index, so that no single script blocks Redis for long.
    for (;;) {
      const reply = await this.#run('deleteEnded', this.#key('all', ''), [String(cutoff), String(limit - deleted), String(offset), '1000']);
      const [count, next, done] = Array.isArray(reply) ? reply.map(Number) : [0, 0, 1];
      deleted += count ?? 0;
      offset = next ?? 0;
      if (deleted >= limit || done === 1) return deleted;
    }
  }

  /** Marks the store closed; the client is the caller's and stays open. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  #key(kind: string, rest: string): string {
    return `${this.#prefix}${kind}${rest}`;
  }

  #userKey(userId: string): string {
    return `${this.#prefix}{${userId}}:idx`;
  }

  async #run(name: ScriptName, key: string, args: readonly string[]): Promise<unknown> {
    this.#assertOpen();
    try {
      return await this.#scripts.run(name, key, args);
    } catch (err) {
      throw scriptError(err, name);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionError('CLOSED', 'The Redis store is closed');
  }
}

// --- internal ---

function isActive(session: Session, at: EpochMs): boolean {
  return session.status === 'active' && at < session.expiresAt && at < session.absoluteExpiresAt;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function assertText(value: unknown, name: string): void {
  if (typeof value !== 'string' || value.length === 0) throw invalidArgument(`${name} must be a non-empty string`);
}

function assertLimit(value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) throw invalidArgument('limit must be a positive integer');
}

// The scripts answer expected refusals with error replies of their own (SK_*); anything else the
// driver throws is the backend failing.
function scriptError(err: unknown, operation: string): Error {
  const message = err instanceof Error ? err.message : '';
  if (message.startsWith('SK_LIMIT')) {
    return new SessionError('SESSION_LIMIT', `User already has ${message.slice(9)} active sessions (the limit)`);
  }
  if (message.startsWith('SK_METADATA')) {
    return new SessionError('INVALID_METADATA', `metadata is ${message.slice(12)} bytes of JSON; the limit (maxMetadataBytes) is lower`);
  }
  if (message.startsWith('SK_DUPLICATE')) return invalidArgument('A session with this id or token hash already exists');
  return toStoreError(err, operation);
}
