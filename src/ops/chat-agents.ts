// The admin's agents (PUT/GET/DELETE /v1/admin/agents): registered in the
// routing state, with what a change moves (a capacity raised drains the queue,
// one lowered or an agent removed requeues) recorded on the conversations.
import { agentUid } from '../chat/participants.js';
import { UnknownAgentError } from '../errors.js';
import type { AgentState } from '../store/chat-routing.js';
import { recordMoves, type ChatStores } from './chat-moves.js';

export async function putAgent(stores: ChatStores, id: string, record: { name: string; capacity: number }, now: Date) {
  const agent = agentUid(id);
  const moves = await stores.routing.setAgent(agent, record);
  const changes = await recordMoves(stores, moves, now);
  await stores.notifier.changed(changes);
  const state = (await stores.routing.agent(agent))!;
  // Their console shows their capacity: a signed-in agent hears of the change.
  if (!moves.result.created) await stores.notifier.agent(state);
  return { created: moves.result.created, agent: state, changes };
}

export async function deleteAgent(stores: ChatStores, id: string, now: Date) {
  const agent = agentUid(id);
  const moves = await stores.routing.removeAgent(agent);
  if (!moves.result.removed) throw new UnknownAgentError(`no agent ${agent} is registered`);
  const changes = await recordMoves(stores, moves, now);
  await stores.notifier.changed(changes);
  return { changes };
}

export function listAgents(stores: ChatStores): Promise<AgentState[]> {
  return stores.routing.agents();
}

/** One agent's public face, {id, name}: what a visitor's widget shows of who answers. */
export async function agentCard(stores: Pick<ChatStores, 'routing'>, id: string): Promise<{ id: string; name: string }> {
  const a = await stores.routing.agent(agentUid(id));
  if (a === null) throw new UnknownAgentError(`no agent agent:${id} is registered`);
  return { id: a.agent, name: a.name };
}

/** An agent as the admin and the agents' own list show them. */
export function agentView(a: AgentState) {
  return { id: a.agent, name: a.name, capacity: a.capacity, status: a.status, in_grace: a.inGrace, load: a.load };
}
