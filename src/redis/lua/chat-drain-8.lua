--[[
  Drains the queue to the available agents, at most ARGV[3] conversations: what
  a step that stopped at its limit (more = 1) left to do.

  Input:
    KEYS[1..8] the routing keys of slot {cs}, in the order of Keys.chatRouting:
               agents, capacity, status, held, queue, prefer, grace, version
    ARGV[1] the prefix of an agent's held-conversations key (Keys.chatRouting.heldByPrefix)
    ARGV[2] a random whole number below 2^31: ties between agents are broken with it
    ARGV[3] how many queued conversations this call may assign at most

  Output:
    { result, assigned, requeued, more, version }:
      assigned: conversation, agent, ... as the queue was drained (oldest first)
      requeued: conversations given back to the queue
      more: 1 when the drain stopped at its limit with an agent still free
      version: the routing state's version after this step (each step counts one):
        a conversation's record takes a move only from a newer version
      result: {}
]]
--- @include "chat-routing-args"
--- @include "chat-routing"
local more = drain(drainLimit, assigned)
return { {}, assigned, requeued, more and 1 or 0, version }
