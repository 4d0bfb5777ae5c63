--[[
  A participant's receipt moves forward: `delivered` (a device of theirs got the
  messages up to seq) or `read` (they read up to it, which delivers them too).
  Never backwards, never past the last message.

  Input:
    KEYS[1] the conversation's record, KEYS[2] its receipts
    ARGV[1] the participant's uid: its visitor, or the agent who holds it
    ARGV[2] delivered or read
    ARGV[3] the seq

  Output:
    { 1 when a receipt moved else 0, delivered_seq, read_seq, the visitor, the agent ("" for none),
      the read_seq before }
  Errors: "PMQ no_conversation", "PMQ not_participant".
]]
local uid, kind, seq = ARGV[1], ARGV[2], tonumber(ARGV[3])

local r = redis.call('HMGET', KEYS[1], 'id', 'visitor', 'agent', 'last_seq')
if not r[1] then return redis.error_reply('PMQ no_conversation') end
if uid ~= r[2] and (r[3] == '' or uid ~= r[3]) then return redis.error_reply('PMQ not_participant') end
seq = math.min(seq, tonumber(r[4]))

local got = redis.call('HMGET', KEYS[2], uid .. ':delivered', uid .. ':read')
local delivered, read = tonumber(got[1] or '0'), tonumber(got[2] or '0')
local readBefore = read
local moved = 0
if seq > delivered then delivered = seq; moved = 1 end
if kind == 'read' and seq > read then read = seq; moved = 1 end
if moved == 1 then redis.call('HSET', KEYS[2], uid .. ':delivered', delivered, uid .. ':read', read) end
return { moved, delivered, read, r[2], r[3], readBefore }
