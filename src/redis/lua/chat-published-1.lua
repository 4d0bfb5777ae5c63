--[[
  A conversation's messages are published to sockets in seq order: a publisher
  waits until the messages before its own are out (published_seq), publishes,
  then moves the mark to its seq here. Never backwards.

  Input:
    KEYS[1] the conversation's record
    ARGV[1] the seq just published

  Output:
    the mark after the call (0 for a conversation gone)
]]
if redis.call('HEXISTS', KEYS[1], 'id') == 0 then return 0 end
local seq = tonumber(ARGV[1])
local mark = tonumber(redis.call('HGET', KEYS[1], 'published_seq') or '0')
if seq > mark then
  redis.call('HSET', KEYS[1], 'published_seq', seq)
  return seq
end
return mark
