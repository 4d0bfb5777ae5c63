--[[
  Acknowledges ONE user's pending messages up to a sequence number, at most
  ARGV[2] of them per call: what a reconnecting client says it already holds.
  Also tells whether messages after that number were purged (then the client
  cannot recover from it and must reload).

  Input:
    KEYS[1] fast     zset msgId -> seq
    KEYS[2] delayed  zset msgId -> seq
    KEYS[3] feed     zset msgId -> seq
    KEYS[4] seq      string, last sequence number
    ARGV[1] the client's last seq
    ARGV[2] the most messages to acknowledge in this call

  Output:
    { removed from fast, removed from delayed, 1 when nothing after ARGV[1] was purged else 0 }
]]
local since = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local removed = { 0, 0 }
for k = 1, 2 do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', since, 'LIMIT', 0, max)
  for i = 1, #ids do
    removed[k] = removed[k] + redis.call('ZREM', KEYS[k], ids[i])
  end
end
-- The first message after `since` must still be in the feed, unless there is none.
local last = tonumber(redis.call('GET', KEYS[4]) or '0')
local recovered = 1
if since < last then
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if not first[2] or tonumber(first[2]) > since + 1 then
    recovered = 0
  end
end
return { removed[1], removed[2], recovered }
