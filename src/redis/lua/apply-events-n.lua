--[[
  Applies events to one or more users, each event in full or not at all.

  For each event not seen before by its user: mark it seen, give it the user's
  next sequence number, store it in the feed, and, when it is counted (from ~= to),
  put it in the fast tier of the pending messages and add one to its category's
  unread count. An event already seen changes nothing: a retried job or a
  re-posted event is exact.

  It also answers what the push that follows needs, in the same round trip: the
  gateway nodes holding each user and, for a user they hold, the duplicates still
  pending in the fast tier (an earlier attempt of the job applied them and may
  have failed or died before its push: they are pushed again) and, when anything
  is new or still pending, the user's unread counts. Only a duplicate of an
  online user costs a lookup; a new event costs nothing more.

  Several users in one call: only where all their keys share a slot. On a
  standalone Redis any users; under Cluster the caller groups them by hash slot.

  Input:
    KEYS, one per user: its base key (keys.ts, userBase); the user's keys are
      the base followed by a suffix of ARGV[1..7], in the user's slot:
      seen     zset eventId -> accepted_at
      seq      string, last sequence number
      feed     zset msgId -> seq
      msg      hash msgId -> stored message JSON
      fast     zset msgId -> seq (pending, fast tier)
      unread   hash category -> count
      nodes    hash nodeId -> 1 (read only)

    ARGV[1..7] the suffixes of seen, seq, feed, msg, fast, unread, nodes
    then, per user in the order of KEYS: the number of its events, then five per event:
      id, category, counted ("1" or "0"), accepted_at (ms), stored message JSON

  Output, per user in order:
    { { per event, in order: its sequence number, or 0 where it was a duplicate },
      { the node ids holding the user },
      { category, count, ... } (empty when no node holds the user or nothing is
        new or still pending),
      { id, seq, stored message JSON, ... } of the duplicates still pending in the
        fast tier (empty when no node holds the user) }
]]
local replies = {}
local a = 8
for u = 1, #KEYS do
  local base = KEYS[u]
  local seenKey, seqKey, feedKey, msgKey = base .. ARGV[1], base .. ARGV[2], base .. ARGV[3], base .. ARGV[4]
  local fastKey, unreadKey, nodesKey = base .. ARGV[5], base .. ARGV[6], base .. ARGV[7]
  local n = tonumber(ARGV[a])
  a = a + 1
  local nodes = redis.call('HKEYS', nodesKey)
  local out = {}
  local fresh = 0
  local stillPending = {}
  for _ = 1, n do
    local id = ARGV[a]
    local acceptedAt = ARGV[a + 3]
    if redis.call('ZADD', seenKey, 'NX', acceptedAt, id) == 0 then
      out[#out + 1] = 0
      if #nodes > 0 then
        local seq = redis.call('ZSCORE', fastKey, id)
        local stored = seq and redis.call('HGET', msgKey, id)
        if stored then
          stillPending[#stillPending + 1] = id
          stillPending[#stillPending + 1] = seq
          stillPending[#stillPending + 1] = stored
        end
      end
    else
      local seq = redis.call('INCR', seqKey)
      redis.call('ZADD', feedKey, seq, id)
      redis.call('HSET', msgKey, id, ARGV[a + 4])
      if ARGV[a + 2] == '1' then
        redis.call('ZADD', fastKey, seq, id)
        redis.call('HINCRBY', unreadKey, ARGV[a + 1], 1)
      end
      out[#out + 1] = seq
      fresh = fresh + 1
    end
    a = a + 5
  end
  local unread = {}
  if #nodes > 0 and (fresh > 0 or #stillPending > 0) then
    unread = redis.call('HGETALL', unreadKey)
  end
  replies[#replies + 1] = { out, nodes, unread, stillPending }
end
return replies
