--[[
  Takes a user off the redelivery schedule once nothing of theirs is pending (or
  they went offline), unless a new push rescheduled them since the claim.

  Input:
    KEYS[1] due       zset uid -> time (ms) of the next check
    KEYS[2] attempts  hash uid -> checks done so far
    ARGV[1] the uid
    ARGV[2] the next check's time as the claim scheduled it

  Output:
    1 when the user was taken off, 0 when the schedule had changed
]]
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
