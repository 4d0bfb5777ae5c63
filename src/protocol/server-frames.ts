// What the server sends on /ws: JSON frames {"type": ...}, built here once per
// message (a user's sockets on every node share the text). Types only for the
// client library: nothing here does I/O. docs/protocol.md lists them all.
import type { Conversation } from '../chat/conversation.js';
import type { MessageView } from '../events/stored-message.js';
import type { AgentHello } from './chat-frames.js';

/** A message as pushed: the feed's view without its state and tier. */
export type MessageFrame = { type: 'message' } & Omit<MessageView, 'state' | 'tier'> & {
  /**
   * The user's counts after this message, on a push that changed them (the last
   * message of the push carries them): one frame does the work of a `message`
   * and an `unread`. Absent on redeliveries and drains, which change no count.
   */
  unread?: Unread;
};

export function messageFrame(m: MessageView): MessageFrame {
  return {
    type: 'message',
    id: m.id,
    seq: m.seq,
    category: m.category,
    from: m.from,
    title: m.title,
    body: m.body,
    data: m.data,
    created_at: m.created_at,
  };
}

/** The message frame as sent: built once per message, whatever the number of its sockets. */
export function messageFrameText(m: MessageView, unread?: Unread): string {
  const frame = messageFrame(m);
  if (unread) frame.unread = { total: unread.total, counts: unread.counts };
  return JSON.stringify(frame);
}

export interface Unread {
  total: number;
  counts: Record<string, number>;
}

export interface HelloFrame {
  type: 'hello';
  uid: string;
  node: string;
  heartbeat_ms: number;
  unread: Unread;
  /** false: messages after the client's `since` were purged; it should reload. */
  recovered: boolean;
  /** An agent's: their status, capacity and the conversations they hold. */
  agent?: AgentHello;
  /** Anyone else's (a chat visitor): their open conversation, or null. */
  conversation?: Conversation | null;
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  field?: string;
  /** The client_id of the chat.send it refuses. */
  ref?: string;
}

export function helloFrame(h: Omit<HelloFrame, 'type'>): string {
  const frame: HelloFrame = { type: 'hello', ...h };
  return JSON.stringify(frame);
}

export function unreadFrame(u: Unread): string {
  return JSON.stringify({ type: 'unread', total: u.total, counts: u.counts });
}

export function errorFrame(code: string, message: string, field?: string, ref?: string): string {
  const frame: ErrorFrame = { type: 'error', code, message, ...(field !== undefined && { field }), ...(ref !== undefined && { ref }) };
  return JSON.stringify(frame);
}
