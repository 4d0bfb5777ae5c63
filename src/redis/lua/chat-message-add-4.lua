--[[
  Adds a visitor's or an agent's message to an open conversation, once per
  client_id: a resend with a client_id already used returns the first message.
  The sender has then received and read everything up to it (their receipts).

  Input:
    KEYS[1] its record, KEYS[2] its messages, KEYS[3] its client ids, KEYS[4] its receipts
    ARGV[1] the sender's uid: the visitor, or the agent who holds it
    ARGV[2] the kind: text or image
    ARGV[3] the text ("" for none)
    ARGV[4] the image's upload id ("" for none)
    ARGV[5] the client_id ("" for none)
    ARGV[6] now, ms
    ARGV[7] now, ISO 8601
    ARGV[8] the most messages a conversation may hold (PMQ_CHAT_MAX_MESSAGES)

  Output:
    { "added" | "duplicate", the message's JSON, its seq, the visitor, the agent ("" for none),
      1 when this is the agent's first reply, else 0 }
  Errors: "PMQ no_conversation", "PMQ not_participant" (not the visitor nor its
  agent), "PMQ conversation_resolved", "PMQ conversation_full".
]]
--- @include "chat-conversation"
local sender, kind, text, image, clientId, now, nowIso, maxMessages =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])

local r = redis.call('HMGET', KEYS[1], 'id', 'visitor', 'agent', 'status', 'last_seq', 'first_response_at')
local id, visitor, agent, status, lastSeq = r[1], r[2], r[3], r[4], tonumber(r[5])
if not id then return redis.error_reply('PMQ no_conversation') end
if sender ~= visitor and (agent == '' or sender ~= agent) then return redis.error_reply('PMQ not_participant') end
if clientId ~= '' then
  local seq = redis.call('HGET', KEYS[3], clientId)
  if seq then return { 'duplicate', redis.call('HGET', KEYS[2], seq), tonumber(seq), visitor, agent, 0 } end
end
if status == 'resolved' then return redis.error_reply('PMQ conversation_resolved') end
if lastSeq >= maxMessages then return redis.error_reply('PMQ conversation_full') end

local seq, json = appendMessage(KEYS[1], KEYS[2], id, sender, kind, text, image, clientId, nowIso)
if clientId ~= '' then redis.call('HSET', KEYS[3], clientId, seq) end
redis.call('HSET', KEYS[4], sender .. ':delivered', seq, sender .. ':read', seq)
local firstReply = 0
if sender == agent and r[6] == '' then
  redis.call('HSET', KEYS[1], 'first_response_at', now)
  firstReply = 1
end
return { 'added', json, seq, visitor, agent, firstReply }
