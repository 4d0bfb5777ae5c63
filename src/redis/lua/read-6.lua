--[[
  Marks messages of ONE user read and returns the unread counts that follow.

  Three modes:
    all       every category: its readmark moves to the current seq, its count goes
    category  the named categories, the same way
    ids       each named message, where it is counted, still unread, and the user's;
              ids that are unknown, not counted or already read change nothing
  A count never goes below zero: a category's field is removed when it reaches zero.

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
local mode = ARGV[1]
local changed = 0

local function readCategory(category, seq)
  if redis.call('HDEL', KEYS[3], category) == 1 then
    changed = changed + 1
  end
  redis.call('HSET', KEYS[4], category, seq)
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
  for i = 2, #ARGV do
    local id = ARGV[i]
    local stored = redis.call('HGET', KEYS[2], id)
    if stored then
      local m = cjson.decode(stored)
      if m.counted then
        local seq = tonumber(redis.call('ZSCORE', KEYS[1], id))
        local mark = tonumber(redis.call('HGET', KEYS[4], m.category) or '0')
        if seq and seq > mark and redis.call('SADD', KEYS[5], id) == 1 then
          if redis.call('HINCRBY', KEYS[3], m.category, -1) <= 0 then
            redis.call('HDEL', KEYS[3], m.category)
          end
          changed = changed + 1
        end
      end
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
