--[[
  Acknowledges delivery of messages to one or more users: they leave the pending
  set, whichever tier holds them. Ids that are not pending (unknown, another
  user's, already acked) change nothing.

  A gateway gathers the acks of all its sockets for a moment and applies them in
  one call: one call per user cost more than the acks themselves. Several users
  in one call: only where all their keys share a slot (any users on a standalone
  Redis; under Cluster the caller groups them by hash slot).

  Input:
    KEYS, two per user:
      1 fast     zset msgId -> seq
      2 delayed  zset msgId -> seq
    ARGV, per user in the order of KEYS: the number of its ids, then the ids

  Output:
    { removed from fast, removed from delayed }, over all users
]]
local fast, delayed = 0, 0
local a = 1
for k = 1, #KEYS, 2 do
  local n = tonumber(ARGV[a])
  for i = a + 1, a + n do
    fast = fast + redis.call('ZREM', KEYS[k], ARGV[i])
    delayed = delayed + redis.call('ZREM', KEYS[k + 1], ARGV[i])
  end
  a = a + n + 1
end
return { fast, delayed }
