--[[
  Makes a conversation open for its visitor's message: creates its record, or
  reopens a resolved one (status queued, waiting from now, its history kept and
  no longer set to expire, a system message "reopened"); an open one is left as
  it is. Idempotent: the visitor's step (chat-visitor-open-1.lua) named it.

  Input:
    KEYS[1] its record, KEYS[2] its messages, KEYS[3] its client ids, KEYS[4] its receipts
    ARGV[1] the conversation id
    ARGV[2] the visitor
    ARGV[3] now, ms
    ARGV[4] now, ISO 8601 (the system message's created_at)

  Output:
    { "created" | "reopened" | "open", the agent who last held it ("" for none),
      the system message's JSON ("" for none), the record as HGETALL lists it }
  Errors: "PMQ not_participant" when the record names another visitor.
]]
--- @include "chat-conversation"
local id, visitor, now, nowIso = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  redis.call('HSET', KEYS[1], 'id', id, 'visitor', visitor, 'status', 'queued', 'agent', '', 'created_at', now,
    'waiting_since', now, 'assigned_at', '', 'resolved_at', '', 'last_seq', 0, 'version', 0, 'first_response_at', '')
  return { 'created', '', '', redis.call('HGETALL', KEYS[1]) }
end
if redis.call('HGET', KEYS[1], 'visitor') ~= visitor then return redis.error_reply('PMQ not_participant') end
if status ~= 'resolved' then
  return { 'open', redis.call('HGET', KEYS[1], 'agent'), '', redis.call('HGETALL', KEYS[1]) }
end
local lastAgent = redis.call('HGET', KEYS[1], 'agent')
redis.call('HSET', KEYS[1], 'status', 'queued', 'agent', '', 'waiting_since', now, 'assigned_at', '', 'resolved_at', '')
for i = 1, 4 do redis.call('PERSIST', KEYS[i]) end
local _, json = appendMessage(KEYS[1], KEYS[2], id, visitor, 'system', 'reopened', '', '', nowIso)
return { 'reopened', lastAgent, json, redis.call('HGETALL', KEYS[1]) }
