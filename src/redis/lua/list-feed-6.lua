--[[
  Reads one page of ONE user's feed, newest first, with what the caller needs to
  give each message its state (pending, delivered, read) and its tier.

  Input:
    KEYS[1] feed      zset msgId -> seq
    KEYS[2] msg       hash msgId -> stored message JSON
    KEYS[3] fast      zset msgId -> seq
    KEYS[4] delayed   zset msgId -> seq
    KEYS[5] readmark  hash category -> seq
    KEYS[6] readids   set of msgIds read one by one
    ARGV[1] only messages with a seq strictly below this one ("+inf" for the newest)
    ARGV[2] the most messages to return

  Output:
    { readmark as a flat list {category, seq, ...},
      the seq to pass as ARGV[1] for the next page, or "" when this is the last,
      then five entries per message: id, seq, stored JSON, tier ("fast",
      "delayed" or "" when not pending), 1 when read one by one else 0 }
]]
local before = ARGV[1] == '+inf' and '+inf' or ('(' .. ARGV[1])
local limit = tonumber(ARGV[2])
-- One more than the page: whether it exists says whether this page is the last.
local page = redis.call('ZREVRANGEBYSCORE', KEYS[1], before, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1)
local more = #page > 2 * limit
if more then
  page[#page] = nil
  page[#page] = nil
end
local out = { redis.call('HGETALL', KEYS[5]), more and page[#page] or '' }
for i = 1, #page, 2 do
  local id = page[i]
  local tier = ''
  if redis.call('ZSCORE', KEYS[3], id) then
    tier = 'fast'
  elseif redis.call('ZSCORE', KEYS[4], id) then
    tier = 'delayed'
  end
  out[#out + 1] = id
  out[#out + 1] = page[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
  out[#out + 1] = tier
  out[#out + 1] = redis.call('SISMEMBER', KEYS[6], id)
end
return out
