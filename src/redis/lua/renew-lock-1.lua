--[[
  Extends a lock only when it is still held by the caller, or releases it.

  Input:
    KEYS[1] the lock key
    ARGV[1] the holder's id
    ARGV[2] new TTL in ms, or 0 to release the lock

  Output:
    1 when the caller held the lock (and it was extended or released), else 0
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[2]) == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
