// An agent's presence, whatever sets it: their `agent.status` frame (online,
// away), their sockets (the first one opens: connected; the last one on every
// node closes: disconnected, with PMQ_CHAT_AGENT_GRACE_SECONDS of grace), and
// the sweep of ended graces (offline: their conversations go back to the queue).
import type { RedisClient } from '../redis/client.js';
import type { Keys } from '../redis/keys.js';
import type { AgentPresence } from '../redis/scripts.js';
import { hasSockets } from '../store/registry.js';
import { recordMoves, type ChatStores } from './chat-moves.js';

export async function setPresence(stores: ChatStores, agent: string, presence: AgentPresence, now: Date, graceMs = 0) {
  const moves = await stores.routing.presence(agent, presence, now.getTime() + graceMs);
  const changes = await recordMoves(stores, moves, now);
  await stores.notifier.changed(changes);
  return moves.result;
}

/** An agent's own `agent.status`: set, then told to every socket of theirs (`chat.agent`), the asking one included. */
export async function agentStatus(stores: ChatStores, agent: string, status: 'online' | 'away', now: Date): Promise<void> {
  await setPresence(stores, agent, status, now);
  const state = await stores.routing.agent(agent);
  if (state !== null) await stores.notifier.agent(state);
}

/**
 * An agent's socket went away (closed on a node, or its node died and was
 * swept): when they hold none on any node, their grace period begins.
 */
export async function agentMayHaveLeft(
  deps: { stores: ChatStores; redis: RedisClient; keys: Keys },
  agent: string,
  now: Date,
  graceMs: number,
): Promise<void> {
  if (await hasSockets(deps.redis, deps.keys, agent)) return;
  await setPresence(deps.stores, agent, 'disconnected', now, graceMs);
}

/** Agents whose grace ended go offline, `perCall` at a time; returns how many. Bounded by `maxCalls`. */
export async function sweepGraces(stores: ChatStores, now: Date, perCall = 100, maxCalls = 100): Promise<number> {
  let offline = 0;
  for (let i = 0; i < maxCalls; i++) {
    const moves = await stores.routing.sweepGrace(now.getTime(), perCall);
    offline += moves.result.offline;
    await stores.notifier.changed(await recordMoves(stores, moves, now));
    if (!moves.result.moreDue) break;
  }
  return offline;
}
