--[[
  Applies a list of events to ONE user, each in full or not at all.

  For each event not seen before: mark it seen, give it the user's next sequence
  number, store it in the feed, and, when it is counted (from ~= to), put it in
  the fast tier of the pending messages and add one to its category's unread count.
  An event already seen changes nothing: a retried job or a re-posted event is exact.

  Input:
    KEYS[1] seen     zset eventId -> accepted_at
    KEYS[2] seq      string, last sequence number
    KEYS[3] feed     zset msgId -> seq
    KEYS[4] msg      hash msgId -> stored message JSON
    KEYS[5] fast     zset msgId -> seq (pending, fast tier)
    KEYS[6] unread   hash category -> count

    ARGV, five per event:
      id, category, counted ("1" or "0"), accepted_at (ms), stored message JSON

  Output:
    one integer per event, in order: its sequence number, or 0 where it was a duplicate
]]
local out = {}
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
  end
end
return out
