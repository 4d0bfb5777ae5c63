--[[
  Takes users off the redelivery schedule once nothing of theirs is pending (or
  they went offline), each unless a new push rescheduled them since the claim.
  The sweep releases what it claimed in one call, not one per user.

  Input:
    KEYS[1] due       zset uid -> time (ms) of the next check
    KEYS[2] attempts  hash uid -> checks done so far
    ARGV    pairs: a uid, then the next check's time as the claim scheduled it

  Output:
    how many users were taken off (the others' schedule had changed)
]]
local released = 0
for i = 1, #ARGV, 2 do
  local uid = ARGV[i]
  local score = redis.call('ZSCORE', KEYS[1], uid)
  if not score or tonumber(score) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], uid)
    redis.call('HDEL', KEYS[2], uid)
    released = released + 1
  end
end
return released
