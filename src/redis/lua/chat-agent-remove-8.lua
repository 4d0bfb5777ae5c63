--[[
  Unregisters an agent: their conversations go back to the queue at their first
  waiting_since, and the queue is drained to the agents still available.

  Input:
    KEYS[1..8] the routing keys of slot {cs}, in the order of Keys.chatRouting:
               agents, capacity, status, held, queue, prefer, grace, version
    ARGV[1] the prefix of an agent's held-conversations key (Keys.chatRouting.heldByPrefix)
    ARGV[2] a random whole number below 2^31: ties between agents are broken with it
    ARGV[3] how many queued conversations this call may assign at most
    ARGV[4] the agent id

  Output:
    { result, assigned, requeued, more, version }:
      assigned: conversation, agent, ... as the queue was drained (oldest first)
      requeued: conversations given back to the queue
      more: 1 when the drain stopped at its limit with an agent still free
      version: the routing state's version after this step (each step counts one):
        a conversation's record takes a move only from a newer version
      result: {1 when the agent was registered, else 0}
]]
--- @include "chat-routing-args"
--- @include "chat-routing"
local agent = ARGV[4]

if redis.call('HEXISTS', K_AGENTS, agent) == 0 then return { { 0 }, assigned, requeued, 0, version } end
-- Bounded: an agent holds at most their capacity (PMQ_CHAT_MAX_CAPACITY).
requeueAllOf(agent, loadOf(agent), requeued)
redis.call('HDEL', K_AGENTS, agent)
redis.call('HDEL', K_CAPACITY, agent)
redis.call('HDEL', K_STATUS, agent)
redis.call('ZREM', K_GRACE, agent)
local more = drain(drainLimit, assigned)
return { { 1 }, assigned, requeued, more and 1 or 0, version }
