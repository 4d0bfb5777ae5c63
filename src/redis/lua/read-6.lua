--[[
  Marks messages of ONE user read and returns the unread counts that follow.

  Three modes:
    all       every category with unread messages: its readmark moves to the
              current seq, its count goes
    category  the named categories, the same way; a category with nothing unread
              changes nothing and gets no readmark (a readmark below which all is
              read already says nothing new), so that a user naming categories they
              never had leaves no state behind
    ids       each named message, where it is counted, still unread, and the user's;
              ids that are unknown, not counted or already read change nothing
  A count never goes below zero: a category's field is removed when it reaches zero.
  All or nothing: the ids are all looked at before anything is written.

  Input:
    KEYS[1] feed      zset msgId -> seq
    KEYS[2] msg       hash msgId -> stored message JSON
    KEYS[3] unread    hash category -> count
    KEYS[4] readmark  hash category -> seq
    KEYS[5] readids   set of msgIds read one by one
    KEYS[6] seq       string, last sequence number

    ARGV[1]   mode: "all" | "category" | "ids"
    ARGV[2..] the categories or the message ids (none for "all")

  Output:
    { changed, category1, count1, category2, count2, ... }
    changed: how many messages or categories went from unread to read
]]
--- @include "stored-message"
--- @include "is-unread"
--- @include "unread-count"

local mode = ARGV[1]
local changed = 0

local function readCategory(category, seq)
  if redis.call('HDEL', KEYS[3], category) == 1 then
    redis.call('HSET', KEYS[4], category, seq)
    changed = changed + 1
  end
end

if mode == 'all' then
  local seq = redis.call('GET', KEYS[6]) or '0'
  local categories = redis.call('HKEYS', KEYS[3])
  for i = 1, #categories do
    readCategory(categories[i], seq)
  end
elseif mode == 'category' then
  local seq = redis.call('GET', KEYS[6]) or '0'
  for i = 2, #ARGV do
    readCategory(ARGV[i], seq)
  end
elseif mode == 'ids' then
  -- First which of them are unread, and of which category; then the writes.
  local toRead = {}
  for i = 2, #ARGV do
    local id = ARGV[i]
    local stored = redis.call('HGET', KEYS[2], id)
    if stored then
      local category, counted = storedMessage(stored)
      local seq = tonumber(redis.call('ZSCORE', KEYS[1], id))
      if seq and isUnread(KEYS[4], KEYS[5], id, seq, category, counted) then
        toRead[#toRead + 1] = { id, category }
      end
    end
  end
  for i = 1, #toRead do
    local id, category = toRead[i][1], toRead[i][2]
    -- SADD drops an id named twice in one call.
    if redis.call('SADD', KEYS[5], id) == 1 then
      decrementUnread(KEYS[3], category)
      changed = changed + 1
    end
  end
else
  return redis.error_reply('ERR unknown read mode ' .. tostring(mode))
end

local out = { changed }
local counts = redis.call('HGETALL', KEYS[3])
for i = 1, #counts do
  out[#out + 1] = counts[i]
end
return out
