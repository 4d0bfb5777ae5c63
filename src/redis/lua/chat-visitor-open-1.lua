--[[
  The conversation a visitor's message goes to: their open one; else their last
  one, open again (same id and history); else a new one, with the id given.

  Input:
    KEYS[1] the visitor's chat hash ({u:<visitor>}:chat): open, last
    ARGV[1] the id of a new conversation, used only when the visitor has none

  Output:
    { id, "open" | "last" | "new" }
]]
local open = redis.call('HGET', KEYS[1], 'open')
if open then return { open, 'open' } end
local last = redis.call('HGET', KEYS[1], 'last')
if last then
  redis.call('HSET', KEYS[1], 'open', last)
  return { last, 'last' }
end
redis.call('HSET', KEYS[1], 'open', ARGV[1], 'last', ARGV[1])
return { ARGV[1], 'new' }
