// One Lua script per store operation (the prelude in lua-common.ts comes first). Each runs
// atomically in Redis, so a multi-key step is never seen half done by another process.
// Operation arguments start at ARGV[6]; replies are arrays whose first item says how it went.
import { LUA_PRELUDE } from './lua-common.ts';

/** Fields per task in a submit: id, type, payload, priority, runAt ('' = now + delay), delay, maxAttempts, timeoutMs, tenant, idempotency key ('' = none), region ('' = none). */
export const SUBMIT_STRIDE = 11;

const SUBMIT = String.raw`
-- [6] max queue depth (0 = none), [7] task count, then SUBMIT_STRIDE fields per task.
local maxDepth = tonumber(ARGV[6])
local n = tonumber(ARGV[7])
local base = 7
local results = {}
local seen = {}
local fresh = 0
for k = 1, n do
  local o = base + (k - 1) * ${SUBMIT_STRIDE}
  local ik = ARGV[o + 10]
  if ik ~= '' then
    local key = ARGV[o + 9]..'\0'..ik
    local existing = redis.call('HGET', P..'idem', key)
    if existing then results[k] = existing
    elseif seen[key] then results[k] = seen[key]
    else seen[key] = k; fresh = fresh + 1 end
  else fresh = fresh + 1 end
end
if maxDepth > 0 and fresh > 0 then
  local depth = tonumber(redis.call('GET', P..'pend') or '0')
  if depth + fresh > maxDepth then return {'full', depth, fresh} end
end
local seq = 0
if fresh > 0 then seq = redis.call('INCRBY', P..'seq', fresh) - fresh end
-- Counters once per type, sorted-set members in bulk: per task only its hash is written alone.
local perType = {}
local ready = {}
local delayed = {}
local all = {}
local out = {'ok', I(NOW)}
for k = 1, n do
  local r = results[k]
  if type(r) == 'string' then out[#out + 1] = taskFields(r)
  elseif type(r) == 'number' then out[#out + 1] = r
  else
    local o = base + (k - 1) * ${SUBMIT_STRIDE}
    local id, ty, tn, ik, rg = ARGV[o + 1], ARGV[o + 2], ARGV[o + 9], ARGV[o + 10], ARGV[o + 11]
    local ra = ARGV[o + 5]
    if ra == '' then ra = NOW + tonumber(ARGV[o + 6]) else ra = tonumber(ra) end
    seq = seq + 1
    local key = P..'t:'..id
    if ik ~= '' then
      redis.call('HSET', key, 'id', id, 'ty', ty, 'pl', ARGV[o + 3], 'pr', ARGV[o + 4], 'ra', I(ra), 'at', '0',
        'ma', ARGV[o + 7], 'to', ARGV[o + 8], 'tn', tn, 'st', 'queued', 'ca', I(NOW), 'ua', I(NOW), 'sq', I(seq), 'ik', ik)
      redis.call('HSET', P..'idem', tn..'\0'..ik, id)
    else
      redis.call('HSET', key, 'id', id, 'ty', ty, 'pl', ARGV[o + 3], 'pr', ARGV[o + 4], 'ra', I(ra), 'at', '0',
        'ma', ARGV[o + 7], 'to', ARGV[o + 8], 'tn', tn, 'st', 'queued', 'ca', I(NOW), 'ua', I(NOW), 'sq', I(seq))
    end
    if rg ~= '' then
      redis.call('HSET', key, 'rg', rg)
      redis.call('SADD', P..'rg:'..ty, rg)
    end
    local sq = I(seq)
    all[#all + 1] = sq
    all[#all + 1] = id
    local pt = perType[ty]
    if not pt then pt = {n = 0, ready = 0}; perType[ty] = pt end
    pt.n = pt.n + 1
    if ra <= NOW then
      local lane = laneOf(ty, rg)
      local q = lane..'\0'..tn
      local list = ready[q]
      if not list then list = {ty = lane, tn = tn}; ready[q] = list end
      list[#list + 1] = I(-tonumber(ARGV[o + 4]))
      list[#list + 1] = seqMember(seq, id)
      pt.ready = pt.ready + 1
    else
      local list = delayed[ty]
      if not list then list = {}; delayed[ty] = list end
      list[#list + 1] = I(ra)
      list[#list + 1] = id
    end
    out[#out + 1] = 0
  end
end
-- ZADD in chunks (unpack has a stack limit).
local function zaddAll(key, items)
  for i = 1, #items, 400 do
    redis.call('ZADD', key, unpack(items, i, math.min(i + 399, #items)))
  end
end
if #all > 0 then zaddAll(P..'all', all) end
for _, list in pairs(ready) do zaddAll(P..'rq:'..list.ty..'\0'..list.tn, list) end
for ty, list in pairs(delayed) do zaddAll(P..'dl:'..ty, list) end
for ty, pt in pairs(perType) do
  count(ty, 'queued', pt.n)
  redis.call('HINCRBY', P..'arr', ty, pt.n)
  if pt.ready > 0 then redis.call('HINCRBY', P..'rdy', ty, pt.ready) end
  redis.call('SADD', P..'types', ty)
  noteSubmitted(ty)
end
if fresh > 0 then redis.call('INCRBY', P..'pend', fresh) end
for _, list in pairs(ready) do refreshHead(list.ty, list.tn, runningOf(list.tn)) end
publishEvents()
return out
`;

const CLAIM = String.raw`
-- [6..] a claim request (see claimAt).
local claimed = claimAt(6)
local submitted = publishEvents()
return {'ok', I(NOW), claimed, submitted, EVENTS_FINISHED}
`;

// The running task the token leases, or an early return saying why not.
const LEASED = String.raw`
local id, token = ARGV[6], ARGV[7]
local key = P..'t:'..id
local cur = redis.call('HMGET', key, 'st', 'tk', 'ty', 'tn', 'at', 'ma', 'pr', 'sq', 'ca', 'ra', 'sa', 'rg')
if not cur[1] then return {'notfound'} end
if cur[1] ~= 'running' or cur[2] ~= token then return {'lost', cur[1]} end
local ty, tn = cur[3], cur[4]
`;

const HEARTBEAT = LEASED + String.raw`
-- [8] leaseMs
local le = I(NOW + tonumber(ARGV[8]))
redis.call('HSET', key, 'le', le, 'ua', I(NOW))
redis.call('ZADD', P..'ls', le, id)
return {'ok', le}
`;

const COMPLETE = LEASED + String.raw`
-- [8] result JSON, [9..] the next claim request
redis.call('HSET', key, 'rs', ARGV[8])
redis.call('HDEL', key, 'er')
endRunning(id, ty, tn, 'succeeded', {cur[5], cur[9], cur[10], cur[11]})
local claimed = claimAt(9)
local submitted = publishEvents()
return {'ok', I(NOW), claimed, submitted, EVENTS_FINISHED}
`;

// A group of completions in one call (the group commit of workers finishing together),
// then one claim for the ones that asked for their next tasks: the k-th completion asks
// for ARGV ask tasks for its worker; a refused completion's ask is dropped, so nothing is
// claimed for a worker whose lease was lost.
const COMPLETE_MANY = String.raw`
-- [6] n, then n x (task id, lease token, result JSON, ask, worker id), then the claim: leaseMs,
-- token base, type count, types, tenant count (-1 = every tenant), tenants, region count (-1 = every region), regions.
local n = tonumber(ARGV[6])
local outcomes = {}
local workerIds = {}
local tenants = {}
for k = 1, n do
  local o = 6 + (k - 1) * 5
  local id, token = ARGV[o + 1], ARGV[o + 2]
  local key = P..'t:'..id
  local cur = redis.call('HMGET', key, 'st', 'tk', 'ty', 'tn', 'at', 'ca', 'ra', 'sa')
  if not cur[1] then outcomes[k] = 'notfound'
  elseif cur[1] ~= 'running' or cur[2] ~= token then outcomes[k] = cur[1]
  else
    redis.call('HSET', key, 'rs', ARGV[o + 3])
    redis.call('HDEL', key, 'er')
    endRunning(id, cur[3], cur[4], 'succeeded', {cur[5], cur[6], cur[7], cur[8]}, tenants)
    outcomes[k] = 'ok'
    for _ = 1, tonumber(ARGV[o + 4]) do workerIds[#workerIds + 1] = ARGV[o + 5] end
  end
end
for tn in pairs(tenants) do refreshTenant(tn) end
local claimed = {}
if #workerIds > 0 then
  local c = 7 + n * 5
  local types, j = argList(c + 2)
  local only, regions
  only, j = argList(j)
  regions = argList(j)
  claimed = claim(types, #workerIds, tonumber(ARGV[c]), workerIds[1], ARGV[c + 1], only, workerIds, regions)
end
local submitted = publishEvents()
return {'ok', I(NOW), claimed, submitted, EVENTS_FINISHED, outcomes}
`;

const FAIL = LEASED + String.raw`
-- [8] error JSON, [9] '1' retryable, [10] retry baseMs, [11] maxMs, [12] jitter, [13] random draw, [14..] next claim
local at, ma = tonumber(cur[5]), tonumber(cur[6])
redis.call('HSET', key, 'er', ARGV[8])
-- transitions.ts onFail: dead when not retryable or out of attempts, else retrying after the backoff.
if ARGV[9] ~= '1' or at >= ma then
  endRunning(id, ty, tn, 'dead', {cur[5], cur[9], cur[10], cur[11]})
else
  local exponent = math.min(math.max(at, 1) - 1, 52)
  local capMs = math.min(tonumber(ARGV[11]), tonumber(ARGV[10]) * 2 ^ exponent)
  local floorMs = capMs * (1 - tonumber(ARGV[12]))
  local ra = NOW + math.floor(floorMs + tonumber(ARGV[13]) * (capMs - floorMs) + 0.5)
  redis.call('ZREM', P..'ls', id)
  count(ty, 'running', -1)
  count(ty, 'retrying', 1)
  redis.call('INCRBY', P..'pend', 1)
  redis.call('HINCRBY', P..'run', tn, -1)
  redis.call('HSET', key, 'st', 'retrying', 'ra', I(ra), 'ua', I(NOW))
  redis.call('HDEL', key, 'le', 'tk', 'wk')
  if place(id, ty, tn, tonumber(cur[7]), tonumber(cur[8]), ra, cur[12]) then
    redis.call('SADD', P..'tt:'..tn, laneOf(ty, cur[12]))
    noteSubmitted(ty)
  end
  refreshTenant(tn)
end
local claimed = claimAt(14)
local submitted = publishEvents()
return {'ok', I(NOW), claimed, submitted, EVENTS_FINISHED}
`;

const CANCEL = String.raw`
-- [6] task id
local id = ARGV[6]
local key = P..'t:'..id
local cur = redis.call('HMGET', key, 'st', 'ty', 'tn', 'sq', 'rg')
if not cur[1] then return {'notfound'} end
local st, ty, tn = cur[1], cur[2], cur[3]
if st == 'running' then
  endRunning(id, ty, tn, 'cancelled')
elseif st == 'queued' or st == 'retrying' then
  if unplace(id, ty, tn, tonumber(cur[4]), cur[5]) then refreshHead(laneOf(ty, cur[5]), tn, runningOf(tn)) end
  count(ty, st, -1)
  count(ty, 'cancelled', 1)
  redis.call('INCRBY', P..'pend', -1)
  redis.call('ZADD', P..'fin', I(NOW), id)
  redis.call('HSET', key, 'st', 'cancelled', 'fa', I(NOW), 'ua', I(NOW))
  noteFinished(id)
else
  return {'conflict', st}
end
publishEvents()
return {'ok', taskFields(id), EVENTS_FINISHED}
`;

const RETRY_DEAD = String.raw`
-- [6] task id
local id = ARGV[6]
local key = P..'t:'..id
local cur = redis.call('HMGET', key, 'st', 'ty', 'tn', 'pr', 'sq', 'rg')
if not cur[1] then return {'notfound'} end
if cur[1] ~= 'dead' then return {'conflict', cur[1]} end
local ty, tn = cur[2], cur[3]
redis.call('ZREM', P..'fin', id)
count(ty, 'dead', -1)
count(ty, 'queued', 1)
redis.call('INCRBY', P..'pend', 1)
redis.call('HSET', key, 'st', 'queued', 'at', '0', 'ra', I(NOW), 'ua', I(NOW))
redis.call('HDEL', key, 'er', 'fa', 'le', 'tk')
place(id, ty, tn, tonumber(cur[4]), tonumber(cur[5]), NOW, cur[6])
refreshHead(laneOf(ty, cur[6]), tn, runningOf(tn))
noteSubmitted(ty)
publishEvents()
return {'ok', taskFields(id)}
`;

const RECLAIM = String.raw`
local n = reclaim()
local submitted = publishEvents()
return {'ok', n, submitted, EVENTS_FINISHED}
`;

const COUNTS = String.raw`
local out = {}
for _, ty in ipairs(redis.call('SMEMBERS', P..'types')) do
  local c = redis.call('HMGET', P..'cnt', ty..'\0queued', ty..'\0running', ty..'\0retrying', ty..'\0succeeded', ty..'\0dead', ty..'\0cancelled')
  local ready = tonumber(redis.call('HGET', P..'rdy', ty) or '0')
  local due = redis.call('ZCOUNT', P..'dl:'..ty, '-inf', I(NOW))
  local arrivals = redis.call('HGET', P..'arr', ty) or '0'
  out[#out + 1] = {ty, c, ready + due, tonumber(arrivals)}
end
return out
`;

const OLDEST = String.raw`
-- [6..] types
local oldest = false
for k = 6, #ARGV do
  local ty = ARGV[k]
  promote(ty)
  -- The best head over the type's lanes: highest priority (lowest score), then oldest.
  local best, bestScore, bestLane = nil, nil, nil
  local lanes = {ty}
  for _, rg in ipairs(redis.call('SMEMBERS', P..'rg:'..ty)) do lanes[#lanes + 1] = laneOf(ty, rg) end
  for _, lane in ipairs(lanes) do
    local h = redis.call('ZRANGE', P..'hd:'..lane, 0, 0, 'WITHSCORES')
    if h[1] then
      local sc = tonumber(h[2])
      if not best or sc < bestScore or (sc == bestScore and string.sub(h[1], 11, 26) < string.sub(best, 11, 26)) then
        best, bestScore, bestLane = h[1], sc, lane
      end
    end
  end
  if best then
    local top = redis.call('ZRANGE', P..'rq:'..bestLane..'\0'..string.sub(best, 27), 0, 0)
    local f = redis.call('HMGET', P..'t:'..string.sub(top[1], 17), 'ra', 'ca')
    local since = math.max(tonumber(f[1]), tonumber(f[2]))
    if not oldest or since < oldest then oldest = since end
  end
end
if oldest then return I(oldest) end
return false
`;

const LIST = String.raw`
-- [6] after seq, [7] limit (matches wanted), [8] status set ('' = any, else ',queued,running,'),
-- [9] type ('\0' = any), [10] tenant ('\0' = any). Scans at most 5,000 tasks a call.
local after, want, statuses, ty, tn = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9], ARGV[10]
local out = {}
local last = after
local scanned = 0
while #out < want and scanned < 5000 do
  local ids = redis.call('ZRANGEBYSCORE', P..'all', '(' .. I(last), '+inf', 'WITHSCORES', 'LIMIT', 0, 500)
  if #ids == 0 then return {'done', I(last), out} end
  for k = 1, #ids, 2 do
    local id = ids[k]
    last = tonumber(ids[k + 1])
    scanned = scanned + 1
    local f = redis.call('HMGET', P..'t:'..id, 'st', 'ty', 'tn')
    if (statuses == '' or string.find(statuses, ','..f[1]..',', 1, true)) and (ty == '\0' or f[2] == ty) and (tn == '\0' or f[3] == tn) then
      out[#out + 1] = taskFields(id)
      if #out >= want then return {'more', I(last), out} end
    end
  end
end
return {'more', I(last), out}
`;

const PURGE = String.raw`
-- [6] before (exclusive); deletes at most 1,000 a call
local ids = redis.call('ZRANGEBYSCORE', P..'fin', '-inf', '(' .. ARGV[6], 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  local key = P..'t:'..id
  local f = redis.call('HMGET', key, 'ty', 'st', 'tn', 'ik')
  if f[2] == 'succeeded' or f[2] == 'dead' or f[2] == 'cancelled' then
    count(f[1], f[2], -1)
    if f[4] then redis.call('HDEL', P..'idem', f[3]..'\0'..f[4]) end
    redis.call('ZREM', P..'all', id)
    redis.call('DEL', key, P..'lg:'..id)
  end
  redis.call('ZREM', P..'fin', id)
end
return #ids
`;

const APPEND_LOG = String.raw`
-- [6] task id, [7] max bytes, then per line: its bytes, its JSON ({attempt, atMs, stream, text}).
-- The log is the list P.."lg:"..id of "seq bytes json"; the task hash keeps lq (last seq),
-- lb (bytes kept) and lt ('1' once older lines were dropped).
local id = ARGV[6]
local key = P..'t:'..id
if redis.call('EXISTS', key) == 0 then return 0 end
local lg = P..'lg:'..id
local maxBytes = tonumber(ARGV[7])
local total = 0
for k = 8, #ARGV, 2 do
  local seq = redis.call('HINCRBY', key, 'lq', 1)
  redis.call('RPUSH', lg, I(seq)..' '..ARGV[k]..' '..ARGV[k + 1])
  total = total + tonumber(ARGV[k])
end
local kept = redis.call('HINCRBY', key, 'lb', total)
while kept > maxBytes do
  local oldest = redis.call('LPOP', lg)
  if not oldest then break end
  local s1 = string.find(oldest, ' ', 1, true)
  local s2 = string.find(oldest, ' ', s1 + 1, true)
  kept = redis.call('HINCRBY', key, 'lb', -tonumber(string.sub(oldest, s1 + 1, s2 - 1)))
  redis.call('HSET', key, 'lt', '1')
end
return 1
`;

const READ_LOG = String.raw`
-- [6] task id
local id = ARGV[6]
local key = P..'t:'..id
if redis.call('EXISTS', key) == 0 then return {'notfound'} end
return {'ok', redis.call('LRANGE', P..'lg:'..id, 0, -1), redis.call('HGET', key, 'lt') or '0'}
`;

const PURGE_HISTORY = String.raw`
-- [6] 'sev' or 'msm', [7] before (exclusive): from the all-pools set and each pool's.
local kind, before = ARGV[6], '(' .. ARGV[7]
local n = redis.call('ZREMRANGEBYSCORE', P..kind, '-inf', before)
for _, pool in ipairs(redis.call('SMEMBERS', P..kind..'pools')) do
  redis.call('ZREMRANGEBYSCORE', P..kind..':'..pool, '-inf', before)
end
return n
`;

const RECORD_HISTORY = String.raw`
-- [6] 'sev' or 'msm', [7] atMs, [8] pool, [9] member
redis.call('ZADD', P..ARGV[6], ARGV[7], ARGV[9])
redis.call('ZADD', P..ARGV[6]..':'..ARGV[8], ARGV[7], ARGV[9])
redis.call('SADD', P..ARGV[6]..'pools', ARGV[8])
return 1
`;

// --- coordination (rules: ../shared/coordination.ts; the lease transition and the fence
// check are that file's nextLease/checkFence, written again here to run atomically) ----
//   P.."lease:"..name  hash  h holder, t token, a acquiredAt, e expiresAt
//   P.."kv"            hash  key -> value (JSON text)
//   P.."kvm"           hash  key -> "updatedAt expiresAt" (expiresAt '' = none)
//   P.."kvk"           zset  every key, score 0 (lexicographic ranges for prefixes)
const LEASE_FNS = String.raw`
local function leaseOf(name)
  local h = redis.call('HMGET', P..'lease:'..name, 'h', 't', 'a', 'e')
  return h[1], tonumber(h[2] or '0'), tonumber(h[3] or '0'), tonumber(h[4] or '0')
end
-- nil when the fence holds; else the reply that refuses the write (JS words the error).
local function fenceRefusal(name, token)
  if name == '' then return nil end
  local holder, t, a, e = leaseOf(name)
  if holder and t == tonumber(token) and e > NOW then return nil end
  return {'fenced', holder or '', I(t), I(a), I(e), I(NOW)}
end
local function announceKey(key)
  redis.call('PUBLISH', P..'events', NODE..' '..cjson.encode({k = key}))
end
`;

const ACQUIRE_LEASE = LEASE_FNS + String.raw`
-- [6] name, [7] holder, [8] ttlMs
local name, me, ttl = ARGV[6], ARGV[7], tonumber(ARGV[8])
local holder, token, acq, exp = leaseOf(name)
if holder and exp > NOW then
  if holder ~= me then return {'held'} end
  redis.call('HSET', P..'lease:'..name, 'e', I(NOW + ttl))
  return {'ok', holder, I(token), I(acq), I(NOW + ttl)}
end
token = token + 1
redis.call('HSET', P..'lease:'..name, 'h', me, 't', I(token), 'a', I(NOW), 'e', I(NOW + ttl))
return {'ok', me, I(token), I(NOW), I(NOW + ttl)}
`;

const RELEASE_LEASE = LEASE_FNS + String.raw`
-- [6] name, [7] holder
local holder, token, acq, exp = leaseOf(ARGV[6])
if not holder or exp <= NOW or holder ~= ARGV[7] then return 0 end
redis.call('HSET', P..'lease:'..ARGV[6], 'e', I(NOW))
return 1
`;

const READ_LEASE = LEASE_FNS + String.raw`
-- [6] name
local holder, token, acq, exp = leaseOf(ARGV[6])
if not holder or exp <= NOW then return {'none'} end
return {'ok', holder, I(token), I(acq), I(exp)}
`;

const PUT_STATE = LEASE_FNS + String.raw`
-- [6] key, [7] value, [8] ttlMs ('' = none), [9] fence lease ('' = none), [10] fence token
local refused = fenceRefusal(ARGV[9], ARGV[10])
if refused then return refused end
local key = ARGV[6]
local exp = ''
if ARGV[8] ~= '' then exp = I(NOW + tonumber(ARGV[8])) end
redis.call('HSET', P..'kv', key, ARGV[7])
redis.call('HSET', P..'kvm', key, I(NOW)..' '..exp)
redis.call('ZADD', P..'kvk', 0, key)
announceKey(key)
return {'ok', I(NOW), exp}
`;

const DELETE_STATE = LEASE_FNS + String.raw`
-- [6] key, [7] fence lease ('' = none), [8] fence token
local refused = fenceRefusal(ARGV[7], ARGV[8])
if refused then return refused end
local key = ARGV[6]
local meta = redis.call('HGET', P..'kvm', key)
if not meta then return {'ok', 0} end
redis.call('HDEL', P..'kv', key)
redis.call('HDEL', P..'kvm', key)
redis.call('ZREM', P..'kvk', key)
local sp = string.find(meta, ' ')
local exp = string.sub(meta, sp + 1)
if exp ~= '' and tonumber(exp) <= NOW then return {'ok', 0} end
announceKey(key)
return {'ok', 1}
`;

const LIST_STATE = String.raw`
-- [6] min ('-' or '[prefix'), [7] max ('+' or '(successor'), [8] single key ('' = a range)
local keys
if ARGV[8] ~= '' then keys = {ARGV[8]} else keys = redis.call('ZRANGEBYLEX', P..'kvk', ARGV[6], ARGV[7]) end
local out = {'ok', I(NOW)}
for _, key in ipairs(keys) do
  local meta = redis.call('HGET', P..'kvm', key)
  if meta then
    local sp = string.find(meta, ' ')
    local exp = string.sub(meta, sp + 1)
    if exp == '' or tonumber(exp) > NOW then
      out[#out + 1] = {key, redis.call('HGET', P..'kv', key), string.sub(meta, 1, sp - 1), exp}
    end
  end
end
return out
`;

const PURGE_STATE = String.raw`
-- deletes lapsed entries; returns how many
local n = 0
for _, key in ipairs(redis.call('ZRANGE', P..'kvk', 0, -1)) do
  local meta = redis.call('HGET', P..'kvm', key)
  local exp = ''
  if meta then exp = string.sub(meta, string.find(meta, ' ') + 1) end
  if not meta or (exp ~= '' and tonumber(exp) <= NOW) then
    redis.call('HDEL', P..'kv', key)
    redis.call('HDEL', P..'kvm', key)
    redis.call('ZREM', P..'kvk', key)
    n = n + 1
  end
end
return n
`;

const DURABLE_SCRIPTS = { SUBMIT, CLAIM, HEARTBEAT, COMPLETE, COMPLETE_MANY, FAIL, CANCEL, RETRY_DEAD, RECLAIM, COUNTS, OLDEST, LIST, PURGE, APPEND_LOG, READ_LOG, PURGE_HISTORY, RECORD_HISTORY, ACQUIRE_LEASE, RELEASE_LEASE, READ_LEASE, PUT_STATE, DELETE_STATE, LIST_STATE, PURGE_STATE };
export type ScriptName = keyof typeof DURABLE_SCRIPTS;

/** Each operation's full script source, prelude included. */
export const SCRIPTS: Record<ScriptName, string> = Object.fromEntries(
  Object.entries(DURABLE_SCRIPTS).map(([name, body]) => [name, LUA_PRELUDE + body]),
) as Record<ScriptName, string>;
