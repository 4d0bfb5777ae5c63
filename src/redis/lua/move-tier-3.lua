--[[
  Moves ONE user's pending messages that have outgrown the fast tier into the
  delayed tier, at most ARGV[2] of them, lowest sequence number first.

  The walk stops at the first message not yet due: sequence order is acceptance
  order but for retried jobs, so a late-applied old message may wait for the one
  before it (a retry's delay at most).

  Input:
    KEYS[1] fast     zset msgId -> seq
    KEYS[2] delayed  zset msgId -> seq
    KEYS[3] msg      hash msgId -> stored message JSON (for accepted_at)
    ARGV[1] cutoff: messages accepted strictly before this time (ms) move
    ARGV[2] the most messages to move in this call

  Output:
    { moved, accepted_at of the first message left in the fast tier or -1 when none }
]]
--- @include "stored-message"

local function acceptedAtOf(id)
  local stored = redis.call('HGET', KEYS[3], id)
  if not stored then return 0 end
  local _, _, acceptedAt = storedMessage(stored)
  return acceptedAt
end

local cutoff = tonumber(ARGV[1])
local entries = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')
local moved = 0
for i = 1, #entries, 2 do
  local id = entries[i]
  local acceptedAt = acceptedAtOf(id)
  if acceptedAt >= cutoff then
    return { moved, acceptedAt }
  end
  redis.call('ZADD', KEYS[2], entries[i + 1], id)
  redis.call('ZREM', KEYS[1], id)
  moved = moved + 1
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0)
if next[1] then
  return { moved, acceptedAtOf(next[1]) }
end
return { moved, -1 }
