-- The KEYS and ARGV every chat-*-8.lua script opens with (see chat-routing.lua).
local K_AGENTS, K_CAPACITY, K_STATUS, K_HELD, K_QUEUE, K_PREFER, K_GRACE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
-- Counted once per step, refused or not: what orders the moves of one conversation.
local version = redis.call('INCR', KEYS[8])
local HELD_BY = ARGV[1]
local seed = tonumber(ARGV[2])
local drainLimit = tonumber(ARGV[3])
local assigned, requeued = {}, {}
