--[[
  Reads the fields the scripts need out of a stored message's JSON (events/
  stored-message.ts), without decoding the whole of it.

  Why not cjson.decode: it refuses JSON that every other step takes (a lone
  surrogate escape such as "\ud83d" stored by an earlier version, data nested past
  its limit), and a script that fails on one message stalls that user's reads and
  maintenance for good. It is also the costlier way to read three fields.

  This relies on the layout that toStoredMessage writes, pinned by a test: the
  object opens with "id" then "category", both plain (they match PMQ's id and
  category patterns: no quote, no escape), and closes with "accepted_at" (whole
  ms) then "counted". Whatever the main site's text and data hold sits between.

  storedMessage(json) returns category (nil when unreadable), counted (boolean),
  accepted_at (0 when unreadable: such a message is due for every move and purge).
]]
local function storedMessage(json)
  local category = string.match(json, '^{"id":"[^"\\]*","category":"([^"\\]*)"')
  local acceptedAt, counted = string.match(json, '"accepted_at":(%d+),"counted":(%a+)}$')
  return category, counted == 'true', tonumber(acceptedAt) or 0
end
