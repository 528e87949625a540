/**
 * The Lua source of every server-side step of the Redis store. Each script is one atomic unit in
 * Redis: no other command runs between its first and last call, which is what makes the limit,
 * rotation, merge and revocation safe across app servers.
 *
 * ARGV[1] is the key prefix and ARGV[2] the retention of ended sessions (ms); the script's own
 * arguments start at ARGV[3]. Key names are built inside the scripts from the prefix, so the
 * lookups (`t:<hash>`, `i:<id>`) and the per-user keys (`{<userId>}:...`) are reached in one call.
 */

// Shared helpers, prepended to every script. Numbers are formatted with %.0f because Lua's default
// number-to-string conversion keeps only 14 significant digits.
const PRELUDE = `
local P = ARGV[1]
local RET = tonumber(ARGV[2])
local function n(x) return string.format('%.0f', x) end
local function skey(u, id) return P .. '{' .. u .. '}:s:' .. id end
local function ukey(u, kind) return P .. '{' .. u .. '}:' .. kind end
local function load(k)
  if not k then return nil end
  local f = redis.call('HGETALL', k)
  if #f == 0 then return nil end
  local s = {}
  for i = 1, #f, 2 do s[f[i]] = f[i + 1] end
  return s
end
local function byId(id) local k = redis.call('GET', P .. 'i:' .. id) if not k then return nil, nil end return k, load(k) end
local function active(s, now) return s.st == 'active' and now < tonumber(s.e) and now < tonumber(s.a) end
local function ended(s)
  local t = tonumber(s.e)
  if s.ra then t = math.min(t, tonumber(s.ra)) end
  return t
end
local function expireAll(k, s)
  local at = n(ended(s) + RET)
  redis.call('PEXPIREAT', k, at)
  redis.call('PEXPIREAT', P .. 't:' .. s.h, at)
  redis.call('PEXPIREAT', P .. 'i:' .. s.id, at)
end
local function revokeOne(k, s, reason, at)
  redis.call('HSET', k, 'st', 'revoked', 'ra', n(at), 'rr', reason)
  redis.call('ZREM', ukey(s.u, 'live'), s.id)
  s.ra = n(at)
  expireAll(k, s)
  return redis.call('HGETALL', k)
end
local function pruneOldest(zkey, member)
  for _, m in ipairs(redis.call('ZRANGE', zkey, 0, 1)) do
    if redis.call('EXISTS', member(m)) == 0 then redis.call('ZREM', zkey, m) end
  end
end
local function sessionKey(m) return m end
`;

const INSERT = `
local now = tonumber(ARGV[3]); local max = tonumber(ARGV[4]); local policy = ARGV[5]
local id = ARGV[6]; local u = ARGV[7]; local h = ARGV[8]
if redis.call('EXISTS', P .. 'i:' .. id) == 1 or redis.call('EXISTS', P .. 't:' .. h) == 1 then
  return redis.error_reply('SK_DUPLICATE')
end
local live = ukey(u, 'live')
local evicted = {}
if max then
  local cand = {}
  for _, sid in ipairs(redis.call('ZRANGE', live, 0, -1)) do
    local k = skey(u, sid)
    local s = load(k)
    if s and active(s, now) then s.k = k cand[#cand + 1] = s else redis.call('ZREM', live, sid) end
  end
  local excess = #cand + 1 - max
  if excess > 0 then
    if policy == 'reject' then return redis.error_reply('SK_LIMIT ' .. #cand) end
    table.sort(cand, function(x, y)
      local a, b = tonumber(x.la), tonumber(y.la)
      if a ~= b then return a < b end
      a, b = tonumber(x.c), tonumber(y.c)
      if a ~= b then return a < b end
      return (tonumber(x.q) or 0) < (tonumber(y.q) or 0)
    end)
    for i = 1, math.min(excess, #cand) do evicted[#evicted + 1] = revokeOne(cand[i].k, cand[i], 'limit', now) end
  end
end
local k = skey(u, id)
redis.call('HSET', k, unpack(ARGV, 9))
-- Insertion order, the last tie-break of eviction (equal lastActiveAt and createdAt).
local seq = ukey(u, 'seq')
redis.call('HSET', k, 'q', redis.call('INCR', seq))
local s = load(k)
if redis.call('PTTL', seq) == -1 then redis.call('PEXPIREAT', seq, n(ended(s) + RET)) else redis.call('PEXPIREAT', seq, n(ended(s) + RET), 'GT') end
redis.call('ZADD', ukey(u, 'idx'), s.c, id)
redis.call('ZADD', live, s.e, id)
redis.call('SET', P .. 't:' .. h, k)
redis.call('SET', P .. 'i:' .. id, k)
redis.call('ZADD', P .. 'all', s.c, k)
pruneOldest(P .. 'all', sessionKey)
expireAll(k, s)
return { redis.call('HGETALL', k), evicted }
`;

// A read through a lookup key (`t:<hash>` or `i:<id>`) that holds the session's key name.
const findThrough = (kind: 't:' | 'i:'): string => `
local k = redis.call('GET', P .. '${kind}' .. ARGV[3])
if not k then return false end
local f = redis.call('HGETALL', k)
if #f == 0 then return false end
return f
`;
const FIND_BY_TOKEN = findThrough('t:');
const FIND_BY_ID = findThrough('i:');


// touch and rotate share this: lastActiveAt and the idle deadline only move forward.
const RECORD_ACTIVITY = `
local function recordActivity(k, s, at, idle)
  local la = math.max(tonumber(s.la), at)
  local e = math.min(math.max(tonumber(s.e), idle), tonumber(s.a))
  redis.call('HSET', k, 'la', n(la), 'e', n(e))
  s.la = n(la) s.e = n(e)
  redis.call('ZADD', ukey(s.u, 'live'), s.e, s.id)
  expireAll(k, s)
end
`;

const TOUCH = `${RECORD_ACTIVITY}
local k, s = byId(ARGV[3])
local at = tonumber(ARGV[4])
if not s or not active(s, at) then return false end
recordActivity(k, s, at, tonumber(ARGV[5]))
return redis.call('HGETALL', k)
`;

const EXTEND = `
local k, s = byId(ARGV[3])
local by = tonumber(ARGV[4]); local now = tonumber(ARGV[5]); local maxIdle = tonumber(ARGV[6])
if not s or not active(s, now) then return false end
local e = tonumber(s.e)
local e2 = math.min(e + by, tonumber(s.a), math.max(e, maxIdle))
if e2 > e then
  redis.call('HSET', k, 'e', n(e2))
  s.e = n(e2)
  redis.call('ZADD', ukey(s.u, 'live'), s.e, s.id)
  expireAll(k, s)
end
return redis.call('HGETALL', k)
`;

const ROTATE = `${RECORD_ACTIVITY}
local cur = ARGV[3]; local nxt = ARGV[4]; local now = tonumber(ARGV[5]); local idle = tonumber(ARGV[6])
local k = redis.call('GET', P .. 't:' .. cur)
local s = load(k)
if not s or s.h ~= cur or not active(s, now) then return false end
if redis.call('EXISTS', P .. 't:' .. nxt) == 1 then return redis.error_reply('SK_DUPLICATE') end
redis.call('DEL', P .. 't:' .. cur)
redis.call('SET', P .. 't:' .. nxt, k)
redis.call('HSET', k, 'h', nxt)
s.h = nxt
recordActivity(k, s, now, idle)
local r = P .. 'r:' .. cur
redis.call('HSET', r, 's', s.id, 'u', s.u, 'at', n(now))
redis.call('PEXPIREAT', r, n(now + RET))
redis.call('ZADD', P .. 'rot', n(now), cur)
pruneOldest(P .. 'rot', function(m) return P .. 'r:' .. m end)
return redis.call('HGETALL', k)
`;

const FIND_ROTATED = `return redis.call('HGETALL', P .. 'r:' .. ARGV[3])`;

const DELETE_ROTATED = `
local rot = P .. 'rot'
local hashes = redis.call('ZRANGEBYSCORE', rot, '-inf', '(' .. ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
for _, h in ipairs(hashes) do
  redis.call('DEL', P .. 'r:' .. h)
  redis.call('ZREM', rot, h)
end
return #hashes
`;

// The merged JSON's size is computed from the stored parts: each field is 'm:' .. JSON key and its
// value the JSON of the value, so the object is '{' .. key:value joined by ',' .. '}'.
const MERGE = `
local k, s = byId(ARGV[3])
local now = tonumber(ARGV[4]); local limit = tonumber(ARGV[5])
if not s or not active(s, now) then return false end
local patch = {}
for i = 6, #ARGV, 2 do patch[ARGV[i]] = ARGV[i + 1] end
local size, count = 2, 0
local function add(field, value) size = size + #field - 2 + 1 + #value count = count + 1 end
for field, value in pairs(s) do
  if string.sub(field, 1, 2) == 'm:' and not patch[field] then add(field, value) end
end
for field, value in pairs(patch) do add(field, value) end
if count > 1 then size = size + count - 1 end
if size > limit then return redis.error_reply('SK_METADATA ' .. size) end
if #ARGV >= 6 then redis.call('HSET', k, unpack(ARGV, 6)) end
return redis.call('HGETALL', k)
`;

const REVOKE = `
local k, s = byId(ARGV[3])
if not s or s.st == 'revoked' then return false end
return revokeOne(k, s, ARGV[4], tonumber(ARGV[5]))
`;

const REVOKE_ALL = `
local u = ARGV[3]; local reason = ARGV[4]; local at = tonumber(ARGV[5]); local except = ARGV[6]
local live = ukey(u, 'live')
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', live, 0, -1)) do
  local k = skey(u, sid)
  local s = load(k)
  if not s or not active(s, at) then
    redis.call('ZREM', live, sid)
  elseif sid ~= except then
    out[#out + 1] = revokeOne(k, s, reason, at)
  end
end
return out
`;

// Entries whose session key is gone (expired by Redis) leave the user's index here.
const LIST_BY_USER = `
local u = ARGV[3]
local idx = ukey(u, 'idx')
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
  local f = redis.call('HGETALL', skey(u, sid))
  if #f == 0 then
    redis.call('ZREM', idx, sid)
    redis.call('ZREM', ukey(u, 'live'), sid)
  else
    out[#out + 1] = f
  end
end
return out
`;

// The live index holds exactly the user's unrevoked sessions scored by their idle deadline, which is
// never after the absolute one: those active at now are the scores above now.
const COUNT_ACTIVE = `return redis.call('ZCOUNT', ukey(ARGV[3], 'live'), '(' .. ARGV[4], '+inf')`;

const SCAN_PAGE = `
local out = {}
for _, k in ipairs(redis.call('ZRANGEBYSCORE', P .. 'all', ARGV[3], '+inf', 'LIMIT', tonumber(ARGV[4]), tonumber(ARGV[5]))) do
  out[#out + 1] = redis.call('HGETALL', k)
end
return out
`;

// Examines up to ARGV[5] entries of the global index from offset ARGV[4]; returns
// { deleted, next offset, 1 when the index is exhausted }.
const DELETE_ENDED = `
local cutoff = tonumber(ARGV[3]); local limit = tonumber(ARGV[4]); local offset = tonumber(ARGV[5]); local window = tonumber(ARGV[6])
local all = P .. 'all'
local members = redis.call('ZRANGE', all, offset, offset + window - 1)
local deleted, kept = 0, 0
for _, k in ipairs(members) do
  if deleted >= limit then break end
  local s = load(k)
  if not s then
    redis.call('ZREM', all, k)
  elseif ended(s) < cutoff then
    redis.call('DEL', k)
    if redis.call('GET', P .. 't:' .. s.h) == k then redis.call('DEL', P .. 't:' .. s.h) end
    redis.call('DEL', P .. 'i:' .. s.id)
    redis.call('ZREM', ukey(s.u, 'idx'), s.id)
    redis.call('ZREM', ukey(s.u, 'live'), s.id)
    redis.call('ZREM', all, k)
    deleted = deleted + 1
  else
    kept = kept + 1
  end
end
local done = 0
if #members < window then done = 1 end
return { deleted, offset + kept, done }
`;

/** Every script of the store by name, each prefixed with the shared helpers. */
export const LUA = {
  insert: INSERT,
  findByToken: FIND_BY_TOKEN,
  findById: FIND_BY_ID,
  touch: TOUCH,
  extend: EXTEND,
  rotate: ROTATE,
  findRotated: FIND_ROTATED,
  deleteRotated: DELETE_ROTATED,
  merge: MERGE,
  revoke: REVOKE,
  revokeAll: REVOKE_ALL,
  listByUser: LIST_BY_USER,
  countActive: COUNT_ACTIVE,
  scanPage: SCAN_PAGE,
  deleteEnded: DELETE_ENDED,
} as const;

/** The name of one script in {@link LUA}. */
export type ScriptName = keyof typeof LUA;

/** The full source of a script: the helpers, then its body. */
export function scriptSource(name: ScriptName): string {
  return PRELUDE + LUA[name];
}
