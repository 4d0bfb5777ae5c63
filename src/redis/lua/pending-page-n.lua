--[[
  Reads one page of pending messages in one tier, for one or more users, each
  user's in seq order.

  Several users in one call: the redelivery sweep checks hundreds of users at a
  time, most of whom have acked everything; a call per user cost more than the
  reads. Only where all the keys share a slot (any users on a standalone Redis;
  under Cluster the caller groups them by hash slot).

  Input:
    KEYS, two per user:
      1 tier  zset msgId -> seq (the fast or the delayed tier)
      2 msg   hash msgId -> stored message JSON
    ARGV[1] only messages with a seq strictly above this one
    ARGV[2] the most messages to return per user

  Output:
    per user in the order of KEYS, a list of three entries per message:
    id, seq, stored JSON
]]
local out = {}
for k = 1, #KEYS, 2 do
  local page = redis.call('ZRANGEBYSCORE', KEYS[k], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
  local list = {}
  for i = 1, #page, 2 do
    local stored = redis.call('HGET', KEYS[k + 1], page[i])
    if stored then
      list[#list + 1] = page[i]
      list[#list + 1] = page[i + 1]
      list[#list + 1] = stored
    end
  end
  out[#out + 1] = list
end
return out
