// A chat participant's socket signed in: what its `hello` carries (an agent's
// status, capacity and conversations; a visitor's open conversation), and the
// messages they have not received (after their delivered receipt), sent after
// the hello: what was written while they were away.
import type { ChatMessage, Conversation } from '../chat/conversation.js';
import { isAgentId } from '../chat/participants.js';
import type { AgentHello } from '../protocol/chat-frames.js';
import type { ChatStores } from './chat-moves.js';

/** Missed messages per conversation sent at once; the rest is a history page away. */
export const MISSED_PER_CONVERSATION = 100;

export interface ChatWelcome {
  /** For an agent's hello. */
  agent?: AgentHello;
  /** For a visitor's hello: their open conversation, or null. */
  conversation?: Conversation | null;
  /** Messages they have not received, oldest first per conversation. */
  missed: ChatMessage[];
}

export async function chatWelcome(stores: ChatStores, uid: string): Promise<ChatWelcome> {
  if (isAgentId(uid)) {
    const state = await stores.routing.agent(uid);
    const held = state ? await stores.routing.heldBy(uid) : [];
    const conversations = (await Promise.all(held.map((id) => stores.conversations.get(id)))).filter((c): c is Conversation => c !== null);
    return {
      agent: { status: state?.status ?? 'offline', capacity: state?.capacity ?? 0, conversations },
      missed: await missedIn(stores, uid, conversations),
    };
  }
  const open = await stores.conversations.openOf(uid);
  const conversation = open === null ? null : await stores.conversations.get(open);
  return { conversation, missed: conversation === null ? [] : await missedIn(stores, uid, [conversation]) };
}

async function missedIn(stores: ChatStores, uid: string, conversations: Conversation[]): Promise<ChatMessage[]> {
  const missed: ChatMessage[] = [];
  for (const c of conversations) {
    const { delivered } = await stores.conversations.receiptsOf(c.id, uid);
    missed.push(...(await stores.conversations.messagesAfter(c.id, delivered, MISSED_PER_CONVERSATION)));
  }
  return missed;
}
