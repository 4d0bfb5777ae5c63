--[[
  Claims the users whose redelivery check is due, at most ARGV[2] of them, and
  schedules each one's next check at once (the wait doubling with each attempt),
  so that several workers sweeping at the same time never take the same user.
  A user past the last attempt leaves the schedule.

  Input:
    KEYS[1] due       zset uid -> time (ms) of the next check
    KEYS[2] attempts  hash uid -> checks done so far
    ARGV[1] now (ms)
    ARGV[2] the most users to claim
    ARGV[3] the ack timeout (ms): the first wait; each next one is doubled
    ARGV[4] the most attempts

  Output:
    three entries per claimed user: uid, attempt (1-based), the time of the next
    check as scheduled now (-1 when this was the last attempt)
]]
local now = tonumber(ARGV[1])
local wait = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #due do
  local uid = due[i]
  local attempt = redis.call('HINCRBY', KEYS[2], uid, 1)
  local nextAt = -1
  if attempt >= max then
    redis.call('ZREM', KEYS[1], uid)
    redis.call('HDEL', KEYS[2], uid)
  else
    nextAt = now + wait * 2 ^ attempt
    redis.call('ZADD', KEYS[1], nextAt, uid)
  end
  out[#out + 1] = uid
  out[#out + 1] = attempt
  out[#out + 1] = nextAt
end
return out
