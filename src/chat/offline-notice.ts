// The notification a visitor gets when an agent writes while they are away: one
// event of category `chat` per conversation until they read it, never one per
// message. Its id names the conversation and the visitor's read receipt, so that
// every reply before they read is the same event (applied once: the seen-mark),
// and the first after a read is a new one. No I/O.
import type { ChatMessage } from './conversation.js';

/** The notification's category, as the main site's own categories are. */
export const CHAT_CATEGORY = 'chat';
/** Characters of the message a notification shows. */
const PREVIEW = 200;

export function offlineNoticeId(conversation: string, visitorReadSeq: number): string {
  return `chat-${conversation}-${visitorReadSeq}`;
}

/** The event (as POST /v1/events takes it) for `message`, to `visitor` who has read up to `readSeq`. */
export function offlineNotice(message: ChatMessage, visitor: string, readSeq: number) {
  return {
    id: offlineNoticeId(message.conversation, readSeq),
    type: CHAT_CATEGORY,
    to: visitor,
    from: message.from,
    title: 'New message',
    body: message.kind === 'image' ? '[image]' : (message.text ?? '').slice(0, PREVIEW),
    data: { conversation: message.conversation, seq: message.seq },
  };
}
