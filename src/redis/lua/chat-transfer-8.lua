--[[
  Hands an assigned conversation to a named agent (online, connected, under
  capacity), or back to the queue at its first waiting_since; the slot it frees
  drains the queue.

  Input:
    KEYS[1..8] the routing keys of slot {cs}, in the order of Keys.chatRouting:
               agents, capacity, status, held, queue, prefer, grace, version
    ARGV[1] the prefix of an agent's held-conversations key (Keys.chatRouting.heldByPrefix)
    ARGV[2] a random whole number below 2^31: ties between agents are broken with it
    ARGV[3] how many queued conversations this call may assign at most
    ARGV[4] the conversation id
    ARGV[5] the agent to hand it to, or "" for the queue

  Output:
    { result, assigned, requeued, more, version }:
      assigned: conversation, agent, ... as the queue was drained (oldest first)
      requeued: conversations given back to the queue
      more: 1 when the drain stopped at its limit with an agent still free
      version: the routing state's version after this step (each step counts one):
        a conversation's record takes a move only from a newer version
      result: {"transferred", from, to} | {"queued", from} | {"same", agent}
  Errors: "PMQ not_assigned" when no agent holds it; "PMQ unknown_agent" for an
  agent not registered; "PMQ agent_unavailable" for one offline, away,
  disconnected or full.
]]
--- @include "chat-routing-args"
--- @include "chat-routing"
local conversation, to = ARGV[4], ARGV[5]

local from = redis.call('HGET', K_HELD, conversation)
if not from then return redis.error_reply('PMQ not_assigned') end
if to ~= '' then
  if to == from then return { { 'same', from }, assigned, requeued, 0, version } end
  if redis.call('HEXISTS', K_AGENTS, to) == 0 then return redis.error_reply('PMQ unknown_agent') end
  if not available(to) then return redis.error_reply('PMQ agent_unavailable') end
end
local _, since = unassign(conversation)
local result
if to ~= '' then
  assign(conversation, to, since)
  result = { 'transferred', from, to }
else
  requeue(conversation, since, requeued)
  result = { 'queued', from }
end
local more = drain(drainLimit, assigned)
return { result, assigned, requeued, more and 1 or 0, version }
