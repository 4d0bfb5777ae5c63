--[[
  Registers an agent, or changes their name and capacity. A capacity raised
  drains the queue to them (when online); one lowered below what they hold gives
  the newest of their conversations back to the queue, so that no agent is ever
  over capacity.

  Input:
    KEYS[1..8] the routing keys of slot {cs}, in the order of Keys.chatRouting:
               agents, capacity, status, held, queue, prefer, grace, version
    ARGV[1] the prefix of an agent's held-conversations key (Keys.chatRouting.heldByPrefix)
    ARGV[2] a random whole number below 2^31: ties between agents are broken with it
    ARGV[3] how many queued conversations this call may assign at most
    ARGV[4] the agent id (agent:<id>)
    ARGV[5] the agent's record, JSON {name, capacity}, as the API shows it
    ARGV[6] the capacity
    ARGV[7] the most agents that may be registered (PMQ_CHAT_MAX_AGENTS)

  Output:
    { result, assigned, requeued, more, version }:
      assigned: conversation, agent, ... as the queue was drained (oldest first)
      requeued: conversations given back to the queue
      more: 1 when the drain stopped at its limit with an agent still free
      version: the routing state's version after this step (each step counts one):
        a conversation's record takes a move only from a newer version
      result: {1 when the agent is new, else 0}
  Errors: "PMQ too_many_agents" when a new agent would pass ARGV[7].
]]
--- @include "chat-routing-args"
--- @include "chat-routing"
local agent, record, capacity, maxAgents = ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])

local created = redis.call('HEXISTS', K_AGENTS, agent) == 0
if created and redis.call('HLEN', K_AGENTS) >= maxAgents then
  return redis.error_reply('PMQ too_many_agents')
end
redis.call('HSET', K_AGENTS, agent, record)
redis.call('HSET', K_CAPACITY, agent, capacity)
local excess = loadOf(agent) - capacity
if excess > 0 then
  local newest = redis.call('ZRANGE', heldBy(agent), -excess, -1, 'WITHSCORES')
  for i = 1, #newest, 2 do
    redis.call('HDEL', K_HELD, newest[i])
    redis.call('ZREM', heldBy(agent), newest[i])
    requeue(newest[i], newest[i + 1], requeued)
  end
end
local more = drain(drainLimit, assigned)
return { { created and 1 or 0 }, assigned, requeued, more and 1 or 0, version }
