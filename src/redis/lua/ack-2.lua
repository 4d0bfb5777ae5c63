--[[
  Acknowledges delivery of messages to ONE user: they leave the pending set,
  whichever tier holds them. Ids that are not pending (unknown, another user's,
  already acked) change nothing.

  Input:
    KEYS[1] fast     zset msgId -> seq
    KEYS[2] delayed  zset msgId -> seq
    ARGV    the message ids

  Output:
    { removed from fast, removed from delayed }
]]
local fast, delayed = 0, 0
for i = 1, #ARGV do
  fast = fast + redis.call('ZREM', KEYS[1], ARGV[i])
  delayed = delayed + redis.call('ZREM', KEYS[2], ARGV[i])
end
return { fast, delayed }
