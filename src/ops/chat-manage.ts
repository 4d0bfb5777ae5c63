// What agents and admins do to a conversation, whatever the front end (WS
// `chat.resolve` / `chat.transfer`, HTTP POST .../resolve, .../transfer), and
// who may see one. An agent acts on the conversations they hold, an admin on any.
import type { ChatMessage, Conversation, ConversationChange } from '../chat/conversation.js';
import { NoConversationError, NotParticipantError } from '../errors.js';
import { actorOf, type ChatCaller } from './chat-caller.js';
import { recordMoves, type ChatStores } from './chat-moves.js';

/** The conversation, when the caller may see it: its visitor, its agent, any agent while it waits, an admin. */
export async function viewConversation(stores: ChatStores, caller: ChatCaller, id: string): Promise<Conversation> {
  const conversation = await stores.conversations.get(id);
  if (conversation === null) throw new NoConversationError();
  if (!maySee(caller, conversation)) throw new NotParticipantError();
  return conversation;
}

/** A participant's receipt, as `chat.receipt` carries it. */
export interface Receipt {
  by: string;
  delivered_seq: number;
  read_seq: number;
}

/**
 * The receipts of a conversation's visitor and agent now: what a page that opens
 * it shows before any `chat.receipt` comes (its own read mark, the other side's).
 */
export async function conversationReceipts(stores: ChatStores, conversation: Conversation): Promise<Receipt[]> {
  const who = conversation.agent === null ? [conversation.visitor] : [conversation.visitor, conversation.agent];
  return Promise.all(
    who.map(async (by) => {
      const r = await stores.conversations.receiptsOf(conversation.id, by);
      return { by, delivered_seq: r.delivered, read_seq: r.read };
    }),
  );
}

export function maySee(caller: ChatCaller, c: Conversation): boolean {
  if (caller.kind === 'admin') return true;
  if (caller.kind === 'visitor') return c.visitor === caller.uid;
  return c.agent === caller.uid || c.status === 'queued';
}

/** Its history, newest first, before seq `before`: to whoever may see it. */
export async function conversationMessages(
  stores: ChatStores,
  caller: ChatCaller,
  id: string,
  before: number | null,
  limit: number,
): Promise<ChatMessage[]> {
  await viewConversation(stores, caller, id);
  return stores.conversations.messages(id, before, limit);
}

/** The one an agent or admin may act on: an agent only on what they hold. */
async function actOn(stores: ChatStores, caller: ChatCaller, id: string): Promise<Conversation> {
  const conversation = await stores.conversations.get(id);
  if (conversation === null) throw new NoConversationError();
  if (caller.kind === 'visitor' || (caller.kind === 'agent' && conversation.agent !== caller.uid)) {
    throw new NotParticipantError('only the agent who holds this conversation, or an admin, may do this');
  }
  return conversation;
}

/**
 * Resolves it: the record first (what people see), then its routing slot, which
 * drains the queue. A crash between leaves a resolved conversation held, which
 * the next resolve (or the repair sweep) releases: each step is idempotent.
 */
export async function resolveConversation(stores: ChatStores, caller: ChatCaller, id: string, now: Date) {
  const before = await actOn(stores, caller, id);
  const resolved = await stores.conversations.resolve(id, actorOf(caller), now);
  if (resolved.changed && before.assigned_at !== null) await stores.notifier.handled(now.getTime() - Date.parse(before.assigned_at));
  // Also when it was resolved already: a resolve retried after a failure here
  // still gets its webhook, once (the job id names the resolution), and its place in the lists.
  await stores.conversations.indexResolved(resolved.conversation);
  await stores.resolved?.(resolved.conversation);
  const released = await stores.routing.release(id);
  const changes: ConversationChange[] = resolved.changed
    ? [{ conversation: resolved.conversation, before: { status: before.status, agent: before.agent }, message: resolved.message }]
    : [];
  changes.push(...(await recordMoves(stores, released, now)));
  await stores.notifier.changed(changes);
  return { conversation: resolved.conversation, changes };
}

/** To a named agent (online and under capacity, else 409 agent_unavailable), or back to the queue (`to` null). */
export async function transferConversation(stores: ChatStores, caller: ChatCaller, id: string, to: string | null, now: Date) {
  await actOn(stores, caller, id);
  const moved = await stores.routing.transfer(id, to);
  const r = moved.result;
  const agent = r.outcome === 'transferred' ? r.to : r.outcome === 'same' ? r.agent : null;
  const changes = await recordMoves(stores, moved, now, { conversation: id, agent });
  await stores.notifier.changed(changes);
  return { conversation: (await stores.conversations.get(id))!, changes };
}

/** Conversations a list shows at most. */
export const MAX_LIST = 200;

/**
 * The conversations the caller may see: open ones (queued, assigned; no status:
 * both) oldest waiting first, an agent's own and the queue, an admin's all; or
 * resolved ones newest first, an agent's own, an admin's all. `before` (ms):
 * those that began to wait (open) or were resolved before it, for the next page.
 */
export async function listConversations(
  stores: ChatStores,
  caller: ChatCaller,
  filter: { status?: 'queued' | 'assigned' | 'resolved'; agent?: string; before?: number; limit: number },
): Promise<Conversation[]> {
  if (caller.kind === 'visitor') throw new NotParticipantError('visitors see their own conversation, by its id');
  const limit = Math.min(filter.limit, MAX_LIST);
  if (filter.status === 'resolved') {
    if (caller.kind === 'agent' && filter.agent !== undefined && filter.agent !== caller.uid) return [];
    const agent = caller.kind === 'agent' ? caller.uid : (filter.agent ?? null);
    return stores.conversations.resolved(agent, filter.before ?? null, limit);
  }
  const ids: string[] = [];
  if (filter.status !== 'queued') {
    const agents = caller.kind === 'agent' ? [caller.uid] : filter.agent ? [filter.agent] : (await stores.routing.agents()).map((a) => a.agent);
    for (const agent of agents) {
      if (caller.kind === 'agent' && filter.agent && filter.agent !== caller.uid) break;
      ids.push(...(await stores.routing.heldBy(agent)));
      if (ids.length >= limit) break;
    }
  }
  if (filter.status !== 'assigned' && filter.agent === undefined && ids.length < limit) {
    ids.push(...(await stores.routing.queue(limit - ids.length)).waiting.map((w) => w.conversation));
  }
  const records = await Promise.all(ids.slice(0, limit).map((id) => stores.conversations.get(id)));
  const before = filter.before;
  return records
    .filter((c): c is Conversation => c !== null && maySee(caller, c) && (before === undefined || Date.parse(c.waiting_since) < before))
    .sort((a, b) => a.waiting_since.localeCompare(b.waiting_since) || a.id.localeCompare(b.id));
}
