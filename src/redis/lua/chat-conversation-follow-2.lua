--[[
  A conversation's record takes what a routing step did to it (chat-*-8.lua):
  assigned to an agent, or back in the queue. Only a step newer than the last
  one it took counts, so that moves applied late or twice change nothing; a
  resolved conversation takes none. A change of agent writes a system message:
  "assigned" when it had none, else "transferred".

  Input:
    KEYS[1] its record, KEYS[2] its messages
    ARGV[1] the routing step's version
    ARGV[2] the status it gave: assigned or queued
    ARGV[3] the agent ("" when queued)
    ARGV[4] now, ms
    ARGV[5] now, ISO 8601

  Output:
    { "changed" | "same" | "stale" | "none", the system message's JSON ("" for none),
      the record as HGETALL lists it (empty for none), the status and agent it had before }
]]
--- @include "chat-conversation"
local version, status, agent, now, nowIso = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local r = redis.call('HMGET', KEYS[1], 'id', 'status', 'agent', 'version')
local id, was, before = r[1], r[2], r[3]
if not id or was == 'resolved' then return { 'none', '', {}, was or '', before or '' } end
if version <= tonumber(r[4]) then return { 'stale', '', redis.call('HGETALL', KEYS[1]), was, before } end
redis.call('HSET', KEYS[1], 'version', version)
if was == status and before == agent then return { 'same', '', redis.call('HGETALL', KEYS[1]), was, before } end

redis.call('HSET', KEYS[1], 'status', status, 'agent', agent)
local json = ''
if agent ~= '' then
  redis.call('HSET', KEYS[1], 'assigned_at', now)
  local event = before == '' and 'assigned' or 'transferred'
  local _
  _, json = appendMessage(KEYS[1], KEYS[2], id, agent, 'system', event, '', '', nowIso)
elseif before ~= '' then
  local _
  _, json = appendMessage(KEYS[1], KEYS[2], id, before, 'system', 'transferred', '', '', nowIso)
end
return { 'changed', json, redis.call('HGETALL', KEYS[1]), was, before }
