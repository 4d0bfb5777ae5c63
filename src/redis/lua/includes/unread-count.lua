--[[
  Takes one off a category's unread count (hash category -> count): the field
  goes at zero, so a count never shows zero or below and HGETALL lists only
  categories with something unread.
]]
local function decrementUnread(unreadKey, category)
  if redis.call('HINCRBY', unreadKey, category, -1) <= 0 then
    redis.call('HDEL', unreadKey, category)
  end
end
