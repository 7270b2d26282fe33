// The Lua prelude every Redis store script starts with: argument layout, the time of
// record, and the bookkeeping shared by the operations (ready queues, tenant heads,
// counts, leases). Each operation's script (lua-ops.ts) is this prelude plus its body.
//
// Key layout (P = "{prefix}:", so every key of one store shares one hash slot):
//   P.."seq"               string   insertion sequence (list order, age order)
//   P.."t:"..id            hash     one task (fields: see FIELDS in rows.ts)
//   P.."idem"              hash     tenant \0 idempotency key -> task id
//   P.."all"               zset     seq -> id, every stored task (list order)
//   A lane is a type's tasks of one region: the type itself for tasks without a region,
//   type\0\0region otherwise; the ready structures (rq, hd, hm, tt) are per lane, so a
//   claim limited to some regions visits only their lanes.
//   P.."rq:"..lane\0tenant zset     ready tasks of one lane and tenant: score -priority,
//                                   member = 16-digit seq .. id (ties go to the oldest)
//   P.."hd:"..lane         zset     tenant heads of one lane: score -priority of the
//                                   tenant's best ready task, member = 10-digit running
//                                   count .. 16-digit seq .. tenant. A tenant at its cap
//                                   has no head. The first member is what a claim takes.
//   P.."hm:"..lane         hash     tenant -> its current member in hd:lane
//   P.."tt:"..tenant       set      lanes in which the tenant has ready tasks
//   P.."rg:"..type         set      regions named by tasks of the type (a claim of every region reads it)
//   P.."dl:"..type         zset     runAt -> id, pending tasks not yet due (delayed,
//                                   retrying in backoff): claims never walk them
//   P.."ls"                zset     leaseExpiresAt -> id, running tasks
//   P.."run"               hash     tenant -> running tasks (exact, across processes)
//   P.."cnt"               hash     type \0 status -> tasks
//   P.."rdy"               hash     type -> tasks in its ready queues
//   P.."arr"               hash     type -> tasks ever submitted (monotonic)
//   P.."types"             set      every type seen
//   P.."pend"              string   queued + retrying tasks (the queue depth)
//   P.."fin"               zset     finishedAt -> id, ended tasks (purge order)
//   P.."sev"/"sev:"..pool  zset     scaling events by atMs; "msm"/"msm:"..pool samples
//
// ARGV layout common to every script: [1] P, [2] now (epoch ms; '' = Redis TIME),
// [3] default tenant cap (0 = none), [4] JSON object of per-tenant caps ('' = none),
// [5] node id (publishers skip their own messages), operation arguments from [6].
export const LUA_PRELUDE = String.raw`
local P = ARGV[1]
local NOW
if ARGV[2] ~= '' then NOW = tonumber(ARGV[2]) else
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local CAP = tonumber(ARGV[3])
local CAPS = nil
if ARGV[4] ~= '' then CAPS = cjson.decode(ARGV[4]) end
local NODE = ARGV[5]
local FIELDS = {'id','ty','pl','pr','ra','at','ma','to','tn','ik','st','rs','er','ca','ua','sa','fa','wk','le','rg'}

local function I(n) return string.format('%d', n) end
local function capOf(tn)
  if CAPS then local c = CAPS[tn]; if c ~= nil then return c end end
  return CAP
end
local function runningOf(tn) return tonumber(redis.call('HGET', P..'run', tn) or '0') end
local function taskFields(id) return redis.call('HMGET', P..'t:'..id, unpack(FIELDS)) end
local function count(ty, st, d) redis.call('HINCRBY', P..'cnt', ty..'\0'..st, d) end
local function seqMember(seq, id) return string.format('%016d', seq)..id end
-- The lane of a type's tasks of region rg (nil/false/'' = none).
local function laneOf(ty, rg) if not rg or rg == '' then return ty end return ty..'\0\0'..rg end

-- The tenant's head in hd:lane from its ready queue, its running count and its cap.
local function refreshHead(ty, tn, running) -- ty: a lane
  local hm = P..'hm:'..ty
  local old = redis.call('HGET', hm, tn)
  local top = redis.call('ZRANGE', P..'rq:'..ty..'\0'..tn, 0, 0, 'WITHSCORES')
  local cap = capOf(tn)
  if top[1] and (cap <= 0 or running < cap) then
    local member = string.format('%010d', running)..string.sub(top[1], 1, 16)..tn
    if old ~= member then
      if old then redis.call('ZREM', P..'hd:'..ty, old) end
      redis.call('ZADD', P..'hd:'..ty, top[2], member)
      redis.call('HSET', hm, tn, member)
    end
  elseif old then
    redis.call('ZREM', P..'hd:'..ty, old)
    redis.call('HDEL', hm, tn)
  end
  -- A tenant with a head is in tt already; a capped one (no head) may not be.
  if not top[1] then redis.call('SREM', P..'tt:'..tn, ty) elseif not old then redis.call('SADD', P..'tt:'..tn, ty) end
end

-- After the tenant's running count changed: its heads in every type it has ready tasks in.
local function refreshTenant(tn)
  local running = runningOf(tn)
  for _, ty in ipairs(redis.call('SMEMBERS', P..'tt:'..tn)) do refreshHead(ty, tn, running) end
end

-- Puts a pending task where claims find it: its lane's ready queue when due, else dl:type.
-- Returns true when it went to the ready queue (the caller refreshes the head).
local function place(id, ty, tn, pr, seq, ra, rg)
  if ra <= NOW then
    redis.call('ZADD', P..'rq:'..laneOf(ty, rg)..'\0'..tn, I(-pr), seqMember(seq, id))
    redis.call('HINCRBY', P..'rdy', ty, 1)
    return true
  end
  redis.call('ZADD', P..'dl:'..ty, I(ra), id)
  return false
end

-- Takes a pending task out of its ready queue or dl:type. Returns true when it was ready.
local function unplace(id, ty, tn, seq, rg)
  if redis.call('ZREM', P..'dl:'..ty, id) == 1 then return false end
  if redis.call('ZREM', P..'rq:'..laneOf(ty, rg)..'\0'..tn, seqMember(seq, id)) == 1 then
    redis.call('HINCRBY', P..'rdy', ty, -1)
    return true
  end
  return false
end

-- Moves the due tasks of one type from dl:type to their ready queues (at most 500 a call).
local function promote(ty)
  local due = redis.call('ZRANGEBYSCORE', P..'dl:'..ty, '-inf', I(NOW), 'LIMIT', 0, 500)
  if #due == 0 then return end
  local touched = {}
  for _, id in ipairs(due) do
    redis.call('ZREM', P..'dl:'..ty, id)
    local f = redis.call('HMGET', P..'t:'..id, 'pr', 'sq', 'tn', 'rg')
    local lane = laneOf(ty, f[4])
    redis.call('ZADD', P..'rq:'..lane..'\0'..f[3], I(-tonumber(f[1])), seqMember(tonumber(f[2]), id))
    touched[lane..'\0\0\0'..f[3]] = {lane, f[3]}
  end
  redis.call('HINCRBY', P..'rdy', ty, #due)
  for _, lt in pairs(touched) do refreshHead(lt[1], lt[2], runningOf(lt[2])) end
end

local EVENTS_SUBMITTED = {}
local EVENTS_FINISHED = {}
local function noteSubmitted(ty) EVENTS_SUBMITTED[ty] = true end
-- A finished event's snapshot (toFinished in rows.ts): who and when, no payload or result.
-- known: {id, ty, tn, st, at, ca, ra, sa, fa} when the caller has them, else read back.
local function noteFinished(id, known)
  EVENTS_FINISHED[#EVENTS_FINISHED + 1] = known or redis.call('HMGET', P..'t:'..id, 'id', 'ty', 'tn', 'st', 'at', 'ca', 'ra', 'sa', 'fa')
end
local function publishEvents()
  local types = {}
  for ty in pairs(EVENTS_SUBMITTED) do types[#types + 1] = ty end
  if #types > 0 or #EVENTS_FINISHED > 0 then
    -- "<node id> <json>": a subscriber skips its own node's messages without parsing them.
    redis.call('PUBLISH', P..'events', NODE..' '..cjson.encode({s = types, f = EVENTS_FINISHED}))
  end
  return types
end

-- A running task ends (succeeded, dead or cancelled): lease, counts, running, fin.
-- snap: {at, ca, ra, sa} of the task when the caller read them (for the finished event).
-- deferred: a set the tenant goes into instead of refreshing its heads now (the caller
-- refreshes each tenant once, after a group).
local function endRunning(id, ty, tn, st, snap, deferred)
  redis.call('ZREM', P..'ls', id)
  count(ty, 'running', -1)
  count(ty, st, 1)
  redis.call('HINCRBY', P..'run', tn, -1)
  redis.call('ZADD', P..'fin', I(NOW), id)
  redis.call('HSET', P..'t:'..id, 'st', st, 'fa', I(NOW), 'ua', I(NOW))
  redis.call('HDEL', P..'t:'..id, 'le', 'tk')
  if snap then noteFinished(id, {id, ty, tn, st, snap[1], snap[2], snap[3], snap[4], I(NOW)}) else noteFinished(id) end
  if deferred then deferred[tn] = true else refreshTenant(tn) end
end

-- Expired leases back to retrying (now due), or dead on the last attempt (the rules of
-- transitions.ts onLeaseExpired, message included). At most 100 a call; maintain() only.
local function reclaim()
  local expired = redis.call('ZRANGEBYSCORE', P..'ls', '-inf', I(NOW), 'LIMIT', 0, 100)
  for _, id in ipairs(expired) do
    local f = redis.call('HMGET', P..'t:'..id, 'ty', 'tn', 'at', 'ma', 'wk', 'le', 'pr', 'sq', 'rg')
    local ty, tn, at, ma = f[1], f[2], tonumber(f[3]), tonumber(f[4])
    local err = cjson.encode({code = 'LeaseExpired',
      message = 'lease of worker '..tostring(f[5])..' expired at '..tostring(f[6])..' during attempt '..I(at)})
    if at >= ma then
      redis.call('HSET', P..'t:'..id, 'er', err)
      endRunning(id, ty, tn, 'dead')
    else
      redis.call('ZREM', P..'ls', id)
      count(ty, 'running', -1)
      count(ty, 'retrying', 1)
      redis.call('INCRBY', P..'pend', 1)
      redis.call('HINCRBY', P..'run', tn, -1)
      redis.call('HSET', P..'t:'..id, 'st', 'retrying', 'ra', I(NOW), 'ua', I(NOW), 'er', err)
      redis.call('HDEL', P..'t:'..id, 'le', 'tk', 'wk')
      place(id, ty, tn, tonumber(f[7]), tonumber(f[8]), NOW, f[9])
      redis.call('SADD', P..'tt:'..tn, laneOf(ty, f[9]))
      refreshTenant(tn)
      noteSubmitted(ty)
    end
  end
  return #expired
end

-- Claims up to limit tasks of the given types in fair order; returns their fields (with
-- the lease token appended). Never reclaims expired leases (maintain() does). Sources are the lanes' tenant heads, or with a tenant list
-- (a claim limited to some tenants) each (lane, tenant) ready queue. The lanes of a type: every
-- region's (regions nil), or the one without a region and those of the listed regions.
local function claim(types, limit, leaseMs, workerId, tokenBase, tenants, workerIds, regions)
  for i = 1, #types do promote(types[i]) end
  local sources = {}
  for _, ty in ipairs(types) do
    local lanes = {ty}
    for _, rg in ipairs(regions or redis.call('SMEMBERS', P..'rg:'..ty)) do lanes[#lanes + 1] = laneOf(ty, rg) end
    for _, lane in ipairs(lanes) do
      if tenants then
        for _, tn in ipairs(tenants) do sources[#sources + 1] = {lane, tn, ty} end
      else sources[#sources + 1] = {lane, false, ty} end
    end
  end
  -- heads[i] = {score, running, seq, tenant} of source i's best task, or false.
  local heads = {}
  local function peek(i)
    local ty, tn = sources[i][1], sources[i][2]
    if tn then
      local running = runningOf(tn)
      local cap = capOf(tn)
      local r = redis.call('ZRANGE', P..'rq:'..ty..'\0'..tn, 0, 0, 'WITHSCORES')
      if r[1] and (cap <= 0 or running < cap) then
        heads[i] = {tonumber(r[2]), running, tonumber(string.sub(r[1], 1, 16)), tn}
      else heads[i] = false end
    else
      local r = redis.call('ZRANGE', P..'hd:'..ty, 0, 0, 'WITHSCORES')
      if r[1] then
        heads[i] = {tonumber(r[2]), tonumber(string.sub(r[1], 1, 10)), tonumber(string.sub(r[1], 11, 26)), string.sub(r[1], 27)}
      else heads[i] = false end
    end
  end
  for i = 1, #sources do peek(i) end
  local out = {}
  local leaseExp = I(NOW + leaseMs)
  for n = 1, limit do
    local bi, b = nil, nil
    for i = 1, #sources do
      local h = heads[i]
      if h and (not b or h[1] < b[1] or (h[1] == b[1] and (h[2] < b[2] or (h[2] == b[2] and h[3] < b[3])))) then bi, b = i, h end
    end
    if not b then break end
    local lane, tn, ty = sources[bi][1], b[4], sources[bi][3]
    local popped = redis.call('ZPOPMIN', P..'rq:'..lane..'\0'..tn)
    local id = string.sub(popped[1], 17)
    redis.call('HINCRBY', P..'rdy', ty, -1)
    local key = P..'t:'..id
    local cur = redis.call('HMGET', key, 'st', 'at')
    local from = cur[1]
    local token = tokenBase..'.'..I(n)
    redis.call('HSET', key, 'st', 'running', 'at', I(tonumber(cur[2]) + 1), 'sa', I(NOW), 'ua', I(NOW), 'wk', workerIds[n] or workerId, 'le', leaseExp, 'tk', token)
    redis.call('ZADD', P..'ls', leaseExp, id)
    count(ty, from, -1)
    count(ty, 'running', 1)
    redis.call('INCRBY', P..'pend', -1)
    redis.call('HINCRBY', P..'run', tn, 1)
    refreshTenant(tn)
    -- Only this tenant's heads changed (its running count went up), so only they are re-read.
    for i = 1, #sources do
      local h = heads[i]
      if i == bi or (h and h[4] == tn) then peek(i) end
    end
    local f = taskFields(id)
    f[#FIELDS + 1] = token
    out[#out + 1] = f
  end
  return out
end

-- A list argument at ARGV[j]: its count (-1: none given, nil), then its items. Returns the
-- list and the index of the argument after it.
local function argList(j)
  local n = tonumber(ARGV[j])
  if n < 0 then return nil, j + 1 end
  local out = {}
  for k = 1, n do out[k] = ARGV[j + k] end
  return out, j + 1 + n
end

-- A claim request packed at ARGV[i]: limit, leaseMs, workerId, token base, type count,
-- types, tenant count (-1 = every tenant), tenants, worker id count, worker ids (the i-th
-- task claimed goes to the i-th, the rest to workerId), region count (-1 = every region), regions.
local function claimAt(i)
  local limit = tonumber(ARGV[i])
  if limit == nil or limit <= 0 then return {} end
  local types, j = argList(i + 4)
  local tenants, workerIds, regions
  tenants, j = argList(j)
  workerIds, j = argList(j)
  regions = argList(j)
  return claim(types, limit, tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3], tenants, workerIds, regions)
end
`;
