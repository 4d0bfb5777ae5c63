--[[
  Resolves a conversation: a system message "resolved", and its keys set to
  expire after the retention (PMQ_CHAT_RETENTION_SECONDS); a reopen keeps them.
  Its agent stays in the record: the one a reopen prefers.

  Input:
    KEYS[1] its record, KEYS[2] its messages, KEYS[3] its client ids, KEYS[4] its receipts
    ARGV[1] who resolves it (the agent, or an admin's uid)
    ARGV[2] now, ms
    ARGV[3] now, ISO 8601
    ARGV[4] the retention, ms

  Output:
    { "resolved" | "same", the system message's JSON ("" for none), the record as HGETALL lists it }
  Errors: "PMQ no_conversation".
]]
--- @include "chat-conversation"
local by, now, nowIso, retention = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local id = redis.call('HGET', KEYS[1], 'id')
if not id then return redis.error_reply('PMQ no_conversation') end
if redis.call('HGET', KEYS[1], 'status') == 'resolved' then return { 'same', '', redis.call('HGETALL', KEYS[1]) } end
redis.call('HSET', KEYS[1], 'status', 'resolved', 'resolved_at', now)
local _, json = appendMessage(KEYS[1], KEYS[2], id, by, 'system', 'resolved', '', '', nowIso)
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], retention) end
return { 'resolved', json, redis.call('HGETALL', KEYS[1]) }
