--[[
  Applies events to one or more users, each event in full or not at all.

  For each event not seen before by its user: mark it seen, give it the user's
  next sequence number, store it in the feed, and, when it is counted (from ~= to),
  put it in the fast tier of the pending messages and add one to its category's
  unread count. An event already seen changes nothing: a retried job or a
  re-posted event is exact.

  It also answers what the push that follows needs, in the same round trip: the
  gateway nodes holding each user and, when there are any and something was new,
  the user's unread counts.

  Several users in one call: only where all their keys share a slot. On a
  standalone Redis any users; under Cluster the caller groups them by hash slot.

  Input:
    KEYS, seven per user:
      1 seen     zset eventId -> accepted_at
      2 seq      string, last sequence number
      3 feed     zset msgId -> seq
      4 msg      hash msgId -> stored message JSON
      5 fast     zset msgId -> seq (pending, fast tier)
      6 unread   hash category -> count
      7 nodes    hash nodeId -> 1 (read only)

    ARGV, per user in the order of KEYS: the number of its events, then five per event:
      id, category, counted ("1" or "0"), accepted_at (ms), stored message JSON

  Output, per user in order:
    { { per event, in order: its sequence number, or 0 where it was a duplicate },
      { the node ids holding the user },
      { category, count, ... } (empty when no node holds the user or nothing was new) }
]]
local replies = {}
local a = 1
for base = 0, #KEYS - 1, 7 do
  local n = tonumber(ARGV[a])
  a = a + 1
  local out = {}
  local fresh = 0
  for _ = 1, n do
    local id = ARGV[a]
    local acceptedAt = ARGV[a + 3]
    if redis.call('ZADD', KEYS[base + 1], 'NX', acceptedAt, id) == 0 then
      out[#out + 1] = 0
    else
      local seq = redis.call('INCR', KEYS[base + 2])
      redis.call('ZADD', KEYS[base + 3], seq, id)
      redis.call('HSET', KEYS[base + 4], id, ARGV[a + 4])
      if ARGV[a + 2] == '1' then
        redis.call('ZADD', KEYS[base + 5], seq, id)
        redis.call('HINCRBY', KEYS[base + 6], ARGV[a + 1], 1)
      end
      out[#out + 1] = seq
      fresh = fresh + 1
    end
    a = a + 5
  end
  local nodes = redis.call('HKEYS', KEYS[base + 7])
  local unread = {}
  if #nodes > 0 and fresh > 0 then
    unread = redis.call('HGETALL', KEYS[base + 6])
  end
  replies[#replies + 1] = { out, nodes, unread }
end
return replies
