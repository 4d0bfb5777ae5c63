--[[
  Reads one page of ONE user's feed, newest first, with what the caller needs to
  give each message its state (pending, delivered, read) and its tier: whether it
  is unread is answered here, by the rule every script shares (is-unread.lua).

  Input:
    KEYS[1] feed      zset msgId -> seq
    KEYS[2] msg       hash msgId -> stored message JSON
    KEYS[3] fast      zset msgId -> seq
    KEYS[4] delayed   zset msgId -> seq
    KEYS[5] readmark  hash category -> seq
    KEYS[6] readids   set of msgIds read one by one
    ARGV[1] only messages with a seq strictly below this one ("+inf" for the newest)
    ARGV[2] the most messages to return

  Output:
    { the seq to pass as ARGV[1] for the next page, or "" when this is the last,
      then five entries per message: id, seq, stored JSON ("" when missing),
      tier ("fast", "delayed" or "" when not pending), 1 when unread else 0 }
]]
--- @include "stored-message"
--- @include "is-unread"

local before = ARGV[1] == '+inf' and '+inf' or ('(' .. ARGV[1])
local limit = tonumber(ARGV[2])
-- One more than the page: whether it exists says whether this page is the last.
local page = redis.call('ZREVRANGEBYSCORE', KEYS[1], before, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1)
local more = #page > 2 * limit
if more then
  page[#page] = nil
  page[#page] = nil
end
local out = { more and page[#page] or '' }
for i = 1, #page, 2 do
  local id = page[i]
  local seq = page[i + 1]
  local stored = redis.call('HGET', KEYS[2], id)
  local unread = false
  if stored then
    local category, counted = storedMessage(stored)
    unread = isUnread(KEYS[5], KEYS[6], id, tonumber(seq), category, counted)
  end
  local tier = ''
  if redis.call('ZSCORE', KEYS[3], id) then
    tier = 'fast'
  elseif redis.call('ZSCORE', KEYS[4], id) then
    tier = 'delayed'
  end
  out[#out + 1] = id
  out[#out + 1] = seq
  out[#out + 1] = stored or ''
  out[#out + 1] = tier
  out[#out + 1] = unread and 1 or 0
end
return out
