--[[
  Acknowledges delivery of messages to one or more users: they leave the pending
  set, whichever tier holds them. Ids that are not pending (unknown, another
  user's, already acked) change nothing.

  A gateway gathers the acks of all its sockets for a moment and applies them in
  one call: one call per user cost more than the acks themselves. Several users
  in one call: only where all their keys share a slot (any users on a standalone
  Redis; under Cluster the caller groups them by hash slot).

  Input:
    KEYS, one per user: its base key (keys.ts, userBase); the user's keys are
      the base followed by a suffix of ARGV[1..2], in the user's slot:
      fast     zset msgId -> seq
      delayed  zset msgId -> seq
    ARGV[1..2] the suffixes of fast and delayed
    then, per user in the order of KEYS: the number of its ids, then the ids

  Output:
    { removed from fast, removed from delayed }, over all users
]]
local fast, delayed = 0, 0
local a = 3
for u = 1, #KEYS do
  local fastKey, delayedKey = KEYS[u] .. ARGV[1], KEYS[u] .. ARGV[2]
  local n = tonumber(ARGV[a])
  for i = a + 1, a + n do
    -- A message is in one tier at a time (move-tier-3 moves it atomically): most
    -- acks find it in the fast tier and spare the delayed one a command.
    if redis.call('ZREM', fastKey, ARGV[i]) == 1 then
      fast = fast + 1
    else
      delayed = delayed + redis.call('ZREM', delayedKey, ARGV[i])
    end
  end
  a = a + n + 1
end
return { fast, delayed }
