--[[
  Reads one page of ONE user's pending messages in one tier, in seq order.

  Input:
    KEYS[1] tier  zset msgId -> seq (the fast or the delayed tier)
    KEYS[2] msg   hash msgId -> stored message JSON
    ARGV[1] only messages with a seq strictly above this one
    ARGV[2] the most messages to return

  Output:
    three entries per message: id, seq, stored JSON
]]
local page = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #page, 2 do
  local stored = redis.call('HGET', KEYS[2], page[i])
  if stored then
    out[#out + 1] = page[i]
    out[#out + 1] = page[i + 1]
    out[#out + 1] = stored
  end
end
return out
