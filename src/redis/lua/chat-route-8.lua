--[[
  Routes a conversation that is open and not yet placed: to its visitor's last
  agent when that agent is online, connected and under capacity; else to the
  available agent with the fewest conversations (ties at random); else to the
  end of the queue (ordered by waiting_since). A conversation already held or
  queued stays where it is (the step is retried after a crash: idempotent).

  Input:
    KEYS[1..8] the routing keys of slot {cs}, in the order of Keys.chatRouting:
               agents, capacity, status, held, queue, prefer, grace, version
    ARGV[1] the prefix of an agent's held-conversations key (Keys.chatRouting.heldByPrefix)
    ARGV[2] a random whole number below 2^31: ties between agents are broken with it
    ARGV[3] how many queued conversations this call may assign at most
    ARGV[4] the conversation id
    ARGV[5] its waiting_since, ms
    ARGV[6] the agent who last served its visitor, or ""

  Output:
    { result, assigned, requeued, more, version }:
      assigned: conversation, agent, ... as the queue was drained (oldest first)
      requeued: conversations given back to the queue
      more: 1 when the drain stopped at its limit with an agent still free
      version: the routing state's version after this step (each step counts one):
        a conversation's record takes a move only from a newer version
      result: {"assigned", agent} | {"queued", position (1-based)} | {"held", agent}
]]
--- @include "chat-routing-args"
--- @include "chat-routing"
local conversation, since, preferred = ARGV[4], ARGV[5], ARGV[6]

local holder = redis.call('HGET', K_HELD, conversation)
if holder then return { { 'held', holder }, assigned, requeued, 0, version } end
local rank = redis.call('ZRANK', K_QUEUE, conversation)
if rank then return { { 'queued', rank + 1 }, assigned, requeued, 0, version } end

-- The queue is empty whenever an agent is available (every freed slot drains
-- it), so a conversation that finds an agent jumps nobody.
local agent = pick(preferred)
if agent then
  assign(conversation, agent, since)
  return { { 'assigned', agent }, assigned, requeued, 0, version }
end
redis.call('ZADD', K_QUEUE, since, conversation)
if preferred ~= '' then redis.call('HSET', K_PREFER, conversation, preferred) end
return { { 'queued', redis.call('ZRANK', K_QUEUE, conversation) + 1 }, assigned, requeued, 0, version }
