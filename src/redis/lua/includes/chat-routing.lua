-- The chat's routing rules, shared by the chat-*.lua scripts. Each script includes
-- chat-routing-args first, which makes these locals of its KEYS and ARGV:
--   K_AGENTS, K_CAPACITY, K_STATUS, K_HELD, K_QUEUE, K_PREFER, K_GRACE (and the
--     version, counted once per step): the
--     routing keys, in the order of Keys.chatRouting (all of slot {cs});
--   HELD_BY: the prefix of an agent's held-conversations zset (+ agent id);
--   seed: a number from the caller, for ties at random (Lua's own random is
--     the same on every call).

local function heldBy(agent)
  return HELD_BY .. agent
end

local function loadOf(agent)
  return redis.call('ZCARD', heldBy(agent))
end

-- Online, connected (not in their grace period) and under capacity.
local function available(agent)
  if redis.call('HGET', K_STATUS, agent) ~= 'online' then return false end
  if redis.call('ZSCORE', K_GRACE, agent) then return false end
  local capacity = tonumber(redis.call('HGET', K_CAPACITY, agent) or '0')
  return loadOf(agent) < capacity
end

local function nextRandom()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed
end

-- The agent a conversation goes to: its visitor's last agent when available,
-- else the available agent with the fewest conversations (ties at random); nil
-- when none is available. The status hash holds only online and away agents:
-- bounded by PMQ_CHAT_MAX_AGENTS.
local function pick(preferred)
  if preferred and preferred ~= '' and available(preferred) then return preferred end
  local statuses = redis.call('HGETALL', K_STATUS)
  local best, bestLoad, ties = nil, nil, 0
  for i = 1, #statuses, 2 do
    local agent = statuses[i]
    if statuses[i + 1] == 'online' and available(agent) then
      local load = loadOf(agent)
      if bestLoad == nil or load < bestLoad then
        best, bestLoad, ties = agent, load, 1
      elseif load == bestLoad then
        -- Reservoir sampling: each of the tied agents is kept with equal chance.
        ties = ties + 1
        if math.floor(nextRandom() / 65536) % ties == 0 then best = agent end
      end
    end
  end
  return best
end

local function assign(conversation, agent, waitingSince)
  redis.call('HSET', K_HELD, conversation, agent)
  redis.call('ZADD', heldBy(agent), waitingSince, conversation)
  redis.call('ZREM', K_QUEUE, conversation)
  redis.call('HDEL', K_PREFER, conversation)
end

-- Takes a conversation from its agent; returns the agent and its waiting_since, or nil.
local function unassign(conversation)
  local agent = redis.call('HGET', K_HELD, conversation)
  if not agent then return nil end
  local since = redis.call('ZSCORE', heldBy(agent), conversation)
  redis.call('HDEL', K_HELD, conversation)
  redis.call('ZREM', heldBy(agent), conversation)
  return agent, since
end

-- Back in the queue at its first waiting_since: it keeps its place in line.
local function requeue(conversation, since, requeued)
  redis.call('ZADD', K_QUEUE, since, conversation)
  requeued[#requeued + 1] = conversation
end

-- Gives an agent's conversations back to the queue, oldest first, at most
-- `limit`; returns whether some are left.
local function requeueAllOf(agent, limit, requeued)
  local held = redis.call('ZRANGE', heldBy(agent), 0, limit - 1, 'WITHSCORES')
  for i = 1, #held, 2 do
    redis.call('HDEL', K_HELD, held[i])
    redis.call('ZREM', heldBy(agent), held[i])
    requeue(held[i], held[i + 1], requeued)
  end
  return loadOf(agent) > 0
end

-- Assigns the head of the queue while an agent is available, at most `limit`
-- times; returns whether it stopped at the limit with work left.
local function drain(limit, assigned)
  for _ = 1, limit do
    local head = redis.call('ZRANGE', K_QUEUE, 0, 0, 'WITHSCORES')
    if #head == 0 then return false end
    local agent = pick(redis.call('HGET', K_PREFER, head[1]))
    if not agent then return false end
    assign(head[1], agent, head[2])
    assigned[#assigned + 1] = head[1]
    assigned[#assigned + 1] = agent
  end
  if redis.call('ZCARD', K_QUEUE) == 0 then return false end
  return pick(redis.call('HGET', K_PREFER, redis.call('ZRANGE', K_QUEUE, 0, 0)[1])) ~= nil
end
