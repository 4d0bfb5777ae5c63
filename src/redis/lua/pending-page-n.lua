--[[
  Reads one page of pending messages in one tier, for one or more users, each
  user's in seq order.

  Several users in one call: the redelivery sweep checks hundreds of users at a
  time, most of whom have acked everything; a call per user cost more than the
  reads. Only where all the keys share a slot (any users on a standalone Redis;
  under Cluster the caller groups them by hash slot).

  Input:
    KEYS, one per user: its base key (keys.ts, userBase); the user's keys are
      the base followed by a suffix of ARGV[3..4], in the user's slot:
      tier  zset msgId -> seq (the fast or the delayed tier)
      msg   hash msgId -> stored message JSON
    ARGV[1] only messages with a seq strictly above this one
    ARGV[2] the most messages to return per user
    ARGV[3] the suffix of the tier's key, ARGV[4] that of msg

  Output:
    per user in the order of KEYS, a list of three entries per message:
    id, seq, stored JSON
]]
local out = {}
for u = 1, #KEYS do
  local msgKey = KEYS[u] .. ARGV[4]
  local page = redis.call('ZRANGEBYSCORE', KEYS[u] .. ARGV[3], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
  local list = {}
  for i = 1, #page, 2 do
    local stored = redis.call('HGET', msgKey, page[i])
    if stored then
      list[#list + 1] = page[i]
      list[#list + 1] = page[i + 1]
      list[#list + 1] = stored
    end
  end
  out[#out + 1] = list
end
return out
