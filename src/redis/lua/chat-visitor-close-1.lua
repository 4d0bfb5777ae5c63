--[[
  A visitor's conversation was resolved: it is no longer their open one (it stays
  their last, to be reopened by their next message).

  Input:
    KEYS[1] the visitor's chat hash ({u:<visitor>}:chat)
    ARGV[1] the conversation id

  Output:
    1 when it was their open conversation, else 0
]]
if redis.call('HGET', KEYS[1], 'open') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'open')
return 1
