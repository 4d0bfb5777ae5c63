-- A conversation's record and history, shared by the chat-conversation-*.lua
-- and chat-message-*.lua scripts. The record is a hash: id, visitor, status
-- (queued, assigned, resolved), agent ("" for none), created_at, waiting_since,
-- assigned_at, resolved_at (ms, "" for not yet), last_seq, version (the newest
-- routing step it took, see chat-routing.lua), first_response_at.
--
-- A message is stored as the JSON clients get, made here with cjson.encode: its
-- strings come well-formed from the API (events/well-formed.ts), and nothing
-- ever decodes it in Lua.

-- Appends a message and returns its seq and JSON. `text`, `image`, `clientId`:
-- "" for none.
local function appendMessage(kRecord, kMessages, id, from, kind, text, image, clientId, createdAt)
  local seq = redis.call('HINCRBY', kRecord, 'last_seq', 1)
  local json = cjson.encode({
    id = id .. '-' .. seq,
    conversation = id,
    seq = seq,
    from = from,
    kind = kind,
    text = text ~= '' and text or cjson.null,
    image = image ~= '' and image or cjson.null,
    client_id = clientId ~= '' and clientId or cjson.null,
    created_at = createdAt,
  })
  redis.call('HSET', kMessages, seq, json)
  return seq, json
end
