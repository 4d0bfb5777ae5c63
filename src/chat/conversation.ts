// A conversation and its messages, as clients see them (DESIGN.md, "Conversations
// and routing", "Messages"). No I/O: store/chat-conversations.ts keeps them.

export type ConversationStatus = 'queued' | 'assigned' | 'resolved';

export interface Conversation {
  id: string;
  visitor: string;
  status: ConversationStatus;
  /** The agent who holds it; null while queued (and once resolved, the last one). */
  agent: string | null;
  created_at: string;
  /** When it last began to wait for an agent (opened, reopened). */
  waiting_since: string;
  assigned_at: string | null;
  resolved_at: string | null;
  /** The seq of its newest message; 0 before the first. */
  last_seq: number;
}

export type MessageKind = 'text' | 'image' | 'system';

/** What PMQ itself writes into a conversation, as `kind: "system"` messages. */
export type SystemEvent = 'assigned' | 'transferred' | 'resolved' | 'reopened';

export interface ChatMessage {
  /** `<conversation>-<seq>`: unique, and what a device acks. */
  id: string;
  conversation: string;
  seq: number;
  /** The sender's uid; for a system message, the person it is about (the agent assigned, the visitor who reopened). */
  from: string;
  kind: MessageKind;
  /** The text; for a system message, its event (SystemEvent). */
  text: string | null;
  /** An image's upload id. */
  image: string | null;
  client_id: string | null;
  created_at: string;
}

/** Characters of a text message at most. */
export const MAX_TEXT_LENGTH = 4000;
/** A client_id: what the sender picks to make a resend one message. */
export const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Conversation ids are PMQ's own: 16 random bytes, base64url. */
export const CONVERSATION_ID = /^[A-Za-z0-9_-]{22}$/;

export function messageId(conversation: string, seq: number): string {
  return `${conversation}-${seq}`;
}

/** A conversation whose record changed, what it was before, and the system message that says so. */
export interface ConversationChange {
  conversation: Conversation;
  before: { status: ConversationStatus | null; agent: string | null };
  message: ChatMessage | null;
}
