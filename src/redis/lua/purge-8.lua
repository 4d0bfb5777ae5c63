--[[
  Removes ONE user's messages that are past retention, at most ARGV[2] of them,
  lowest sequence number first: from the feed, the stored messages, the seen-marks,
  whichever pending tier holds them, and the unread count where still unread.
  When the feed is left empty, the readmarks and read ids go too.

  The walk stops at the first message younger than the cutoff. Sequence order is
  acceptance order but for retried jobs, so a late-applied old message may wait
  until the one before it is due; it is never kept forever.

  Input:
    KEYS[1] seen      zset eventId -> accepted_at
    KEYS[2] feed      zset msgId -> seq
    KEYS[3] msg       hash msgId -> stored message JSON
    KEYS[4] fast      zset msgId -> seq
    KEYS[5] delayed   zset msgId -> seq
    KEYS[6] unread    hash category -> count
    KEYS[7] readmark  hash category -> seq
    KEYS[8] readids   set of msgIds read one by one
    ARGV[1] cutoff: messages accepted strictly before this time (ms) go
    ARGV[2] the most messages to remove in this call

  Output:
    { purged, of which pending in the fast tier, of which pending in the delayed
      tier, of which still unread, accepted_at of the oldest message left or -1
      when the feed is empty }
]]
--- @include "stored-message"
--- @include "is-unread"
--- @include "unread-count"

local cutoff = tonumber(ARGV[1])
local entries = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')
local purged, fast, delayed, unread = 0, 0, 0, 0
local oldest = -1

for i = 1, #entries, 2 do
  local id = entries[i]
  local seq = tonumber(entries[i + 1])
  local stored = redis.call('HGET', KEYS[3], id)
  local category, counted, acceptedAt = nil, false, 0
  if stored then category, counted, acceptedAt = storedMessage(stored) end
  if acceptedAt >= cutoff then
    oldest = acceptedAt
    break
  end
  -- Asked before its read id goes below.
  if isUnread(KEYS[7], KEYS[8], id, seq, category, counted) then
    decrementUnread(KEYS[6], category)
    unread = unread + 1
  end
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[1], id)
  fast = fast + redis.call('ZREM', KEYS[4], id)
  delayed = delayed + redis.call('ZREM', KEYS[5], id)
  redis.call('SREM', KEYS[8], id)
  purged = purged + 1
end

if oldest == -1 then
  local next = redis.call('ZRANGE', KEYS[2], 0, 0)
  if next[1] then
    local stored = redis.call('HGET', KEYS[3], next[1])
    if stored then
      local _, _, acceptedAt = storedMessage(stored)
      oldest = acceptedAt
    else
      oldest = 0
    end
  else
    -- Nothing left to apply a readmark or a read id to: every later message
    -- takes a higher seq. Dropping them keeps a user's state to what they have.
    redis.call('DEL', KEYS[7], KEYS[8])
  end
end
return { purged, fast, delayed, unread, oldest }
