--[[
  The unread rule, written once for every script that needs it: a message is
  unread when it is counted, its seq is above its category's readmark (everything
  up to the readmark was read at once) and it is not among the ids read one by one.

  isUnread(readmarkKey, readidsKey, id, seq, category, counted): readmarkKey is the
  hash category -> seq, readidsKey the set of msgIds read one by one; category is
  nil for a message whose JSON cannot be read (storedMessage), which is not counted.
]]
local function isUnread(readmarkKey, readidsKey, id, seq, category, counted)
  if not (category and counted) then return false end
  if seq <= tonumber(redis.call('HGET', readmarkKey, category) or '0') then return false end
  return redis.call('SISMEMBER', readidsKey, id) == 0
end
