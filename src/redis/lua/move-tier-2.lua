--[[
  Moves ONE user's pending messages that have outgrown the fast tier into the
  delayed tier, at most ARGV[2] of them, oldest first.

  Input:
    KEYS[1] fast     zset msgId -> accepted_at
    KEYS[2] delayed  zset msgId -> accepted_at
    ARGV[1] cutoff: messages accepted strictly before this time (ms) move
    ARGV[2] the most messages to move in this call

  Output:
    { moved, accepted_at of the oldest message left in the fast tier or -1 when none }
]]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[2], due[i + 1], due[i])
  redis.call('ZREM', KEYS[1], due[i])
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { #due / 2, tonumber(oldest[2] or '-1') }
