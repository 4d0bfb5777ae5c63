--[[
  Applies a list of events to ONE user, each in full or not at all.

  For each event not seen before: mark it seen, give it the user's next sequence
  number, store it in the feed, and, when it is counted (from ~= to), put it in
  the fast tier of the pending messages and add one to its category's unread count.
  An event already seen changes nothing: a retried job or a re-posted event is exact.

  It also answers what the push that follows needs, in the same round trip: the
  gateway nodes holding the user and, when there are any and something was new,
  the user's unread counts.

  Input:
    KEYS[1] seen     zset eventId -> accepted_at
    KEYS[2] seq      string, last sequence number
    KEYS[3] feed     zset msgId -> seq
    KEYS[4] msg      hash msgId -> stored message JSON
    KEYS[5] fast     zset msgId -> seq (pending, fast tier)
    KEYS[6] unread   hash category -> count
    KEYS[7] nodes    hash nodeId -> 1 (read only)

    ARGV, five per event:
      id, category, counted ("1" or "0"), accepted_at (ms), stored message JSON

  Output:
    { { per event, in order: its sequence number, or 0 where it was a duplicate },
      { the node ids holding the user },
      { category, count, ... } (empty when no node holds the user or nothing was new) }
]]
local out = {}
local fresh = 0
for i = 1, #ARGV, 5 do
  local id = ARGV[i]
  local acceptedAt = ARGV[i + 3]
  if redis.call('ZADD', KEYS[1], 'NX', acceptedAt, id) == 0 then
    out[#out + 1] = 0
  else
    local seq = redis.call('INCR', KEYS[2])
    redis.call('ZADD', KEYS[3], seq, id)
    redis.call('HSET', KEYS[4], id, ARGV[i + 4])
    if ARGV[i + 2] == '1' then
      redis.call('ZADD', KEYS[5], seq, id)
      redis.call('HINCRBY', KEYS[6], ARGV[i + 1], 1)
    end
    out[#out + 1] = seq
    fresh = fresh + 1
  end
end
local nodes = redis.call('HKEYS', KEYS[7])
local unread = {}
if #nodes > 0 and fresh > 0 then
  unread = redis.call('HGETALL', KEYS[6])
end
return { out, nodes, unread }
