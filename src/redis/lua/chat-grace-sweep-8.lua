--[[
  Agents whose grace ended go offline: their conversations go back to the queue
  at their first waiting_since, and the queue drains to the agents available.

  Input:
    KEYS[1..8] the routing keys of slot {cs}, in the order of Keys.chatRouting:
               agents, capacity, status, held, queue, prefer, grace, version
    ARGV[1] the prefix of an agent's held-conversations key (Keys.chatRouting.heldByPrefix)
    ARGV[2] a random whole number below 2^31: ties between agents are broken with it
    ARGV[3] how many queued conversations this call may assign at most
    ARGV[4] now, ms
    ARGV[5] the most agents to take in this call

  Output:
    { result, assigned, requeued, more, version }:
      assigned: conversation, agent, ... as the queue was drained (oldest first)
      requeued: conversations given back to the queue
      more: 1 when the drain stopped at its limit with an agent still free
      version: the routing state's version after this step (each step counts one):
        a conversation's record takes a move only from a newer version
      result: {agents gone offline, 1 when more are due}
]]
--- @include "chat-routing-args"
--- @include "chat-routing"
local now, maxAgents = ARGV[4], tonumber(ARGV[5])

local due = redis.call('ZRANGEBYSCORE', K_GRACE, '-inf', now, 'LIMIT', 0, maxAgents)
for _, agent in ipairs(due) do
  redis.call('HDEL', K_STATUS, agent)
  redis.call('ZREM', K_GRACE, agent)
  requeueAllOf(agent, loadOf(agent), requeued)
end
local moreDue = #due == maxAgents and #redis.call('ZRANGEBYSCORE', K_GRACE, '-inf', now, 'LIMIT', 0, 1) > 0
local more = drain(drainLimit, assigned)
return { { #due, moreDue and 1 or 0 }, assigned, requeued, more and 1 or 0, version }
