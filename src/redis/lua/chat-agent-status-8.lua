--[[
  An agent's presence changes:
    online        taking conversations: the queue drains to them
    away          keeps their conversations, takes no new ones
    connected     a socket of theirs opened: back from a grace period with the
                  status they had, or online when they were offline
    disconnected  their last socket closed: they keep their conversations and
                  status until ARGV[5], and take no new ones meanwhile
    offline       gone (their grace ended, or they said so): their conversations
                  go back to the queue at their first waiting_since

  Input:
    KEYS[1..8] the routing keys of slot {cs}, in the order of Keys.chatRouting:
               agents, capacity, status, held, queue, prefer, grace, version
    ARGV[1] the prefix of an agent's held-conversations key (Keys.chatRouting.heldByPrefix)
    ARGV[2] a random whole number below 2^31: ties between agents are broken with it
    ARGV[3] how many queued conversations this call may assign at most
    ARGV[4] the agent id
    ARGV[5] the status: online, away, connected, disconnected or offline
    ARGV[6] with disconnected: when their grace ends, ms

  Output:
    { result, assigned, requeued, more, version }:
      assigned: conversation, agent, ... as the queue was drained (oldest first)
      requeued: conversations given back to the queue
      more: 1 when the drain stopped at its limit with an agent still free
      version: the routing state's version after this step (each step counts one):
        a conversation's record takes a move only from a newer version
      result: {the status before: "online", "away" or "offline", 1 when in grace else 0}
  Errors: "PMQ unknown_agent" for an agent that is not registered.
]]
--- @include "chat-routing-args"
--- @include "chat-routing"
local agent, status = ARGV[4], ARGV[5]

if redis.call('HEXISTS', K_AGENTS, agent) == 0 then return redis.error_reply('PMQ unknown_agent') end
local before = redis.call('HGET', K_STATUS, agent) or 'offline'
local inGrace = redis.call('ZSCORE', K_GRACE, agent) and 1 or 0
local more = false
if status == 'online' or status == 'away' or status == 'connected' then
  if status ~= 'connected' then
    redis.call('HSET', K_STATUS, agent, status)
  elseif before == 'offline' then
    redis.call('HSET', K_STATUS, agent, 'online')
  end
  redis.call('ZREM', K_GRACE, agent)
  more = drain(drainLimit, assigned)
elseif status == 'disconnected' then
  -- An agent who was offline has nothing to keep: nothing to wait for.
  if before ~= 'offline' then redis.call('ZADD', K_GRACE, ARGV[6], agent) end
else
  redis.call('HDEL', K_STATUS, agent)
  redis.call('ZREM', K_GRACE, agent)
  requeueAllOf(agent, loadOf(agent), requeued)
  more = drain(drainLimit, assigned)
end
return { { before, inGrace }, assigned, requeued, more and 1 or 0, version }
