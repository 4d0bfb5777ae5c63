// The chat's frames on /ws, beside the notification frames (DESIGN.md, "Frames"):
// what clients may send (schemas, merged into client-frames.ts' union) and what
// the server sends (built here once per change, whatever the number of sockets).
// No I/O. docs/protocol.md lists them all.
import { z } from 'zod';
import { agentUid, conversationId, messageContent, oneOfTextOrImage } from '../chat/chat-schemas.js';
import type { ChatMessage, Conversation } from '../chat/conversation.js';

const seq = z.number({ error: 'must be a seq number' }).int({ error: 'must be a seq number' }).nonnegative({ error: 'must be a seq number' });

export const chatClientFrames = [
  z
    .strictObject({ type: z.literal('chat.send'), conversation: conversationId.optional(), ...messageContent })
    .superRefine(oneOfTextOrImage),
  z.strictObject({ type: z.literal('chat.read'), conversation: conversationId, seq }),
  z.strictObject({ type: z.literal('chat.typing'), conversation: conversationId, on: z.boolean({ error: 'must be true or false' }) }),
  z.strictObject({ type: z.literal('chat.resolve'), conversation: conversationId }),
  z.strictObject({ type: z.literal('chat.transfer'), conversation: conversationId, to: agentUid.nullable().optional() }),
  z.strictObject({
    type: z.literal('agent.status'),
    status: z.enum(['online', 'away'], { error: 'must be online or away' }),
  }),
] as const;

export type ChatMessageFrame = { type: 'chat.message' } & ChatMessage;
export type ChatConversationFrame = { type: 'chat.conversation' } & Conversation;

export interface ChatQueueFrame {
  type: 'chat.queue';
  conversation: string;
  position: number;
  eta_seconds: number | null;
}

export interface ChatReceiptFrame {
  type: 'chat.receipt';
  conversation: string;
  by: string;
  delivered_seq: number;
  read_seq: number;
}

export interface ChatTypingFrame {
  type: 'chat.typing';
  conversation: string;
  by: string;
  on: boolean;
}

/** To an agent's sockets when their status or capacity changed (their `agent.status`, an admin's PUT). */
export interface ChatAgentFrame {
  type: 'chat.agent';
  agent: string;
  name: string;
  status: 'online' | 'away' | 'offline';
  capacity: number;
  load: number;
}

/** What an agent's `hello` carries besides the notification fields. */
export interface AgentHello {
  status: 'online' | 'away' | 'offline';
  capacity: number;
  conversations: Conversation[];
}

export function chatMessageFrameText(m: ChatMessage): string {
  const frame: ChatMessageFrame = { type: 'chat.message', ...m };
  return JSON.stringify(frame);
}

export function chatConversationFrameText(c: Conversation): string {
  const frame: ChatConversationFrame = { type: 'chat.conversation', ...c };
  return JSON.stringify(frame);
}

export function chatQueueFrameText(f: Omit<ChatQueueFrame, 'type'>): string {
  return JSON.stringify({ type: 'chat.queue', ...f } satisfies ChatQueueFrame);
}

export function chatReceiptFrameText(f: Omit<ChatReceiptFrame, 'type'>): string {
  return JSON.stringify({ type: 'chat.receipt', ...f } satisfies ChatReceiptFrame);
}

export function chatTypingFrameText(f: Omit<ChatTypingFrame, 'type'>): string {
  return JSON.stringify({ type: 'chat.typing', ...f } satisfies ChatTypingFrame);
}

export function chatAgentFrameText(f: Omit<ChatAgentFrame, 'type'>): string {
  return JSON.stringify({ type: 'chat.agent', ...f } satisfies ChatAgentFrame);
}
