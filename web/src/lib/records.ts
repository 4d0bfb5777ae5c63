// The chat's records as the pages hold them: the client library's frames
// without their `type`, which is also what the HTTP routes give (the pages take
// the client and the protocol only, so the types come from there, once).
import type { ChatConversationFrame, ChatMessageFrame } from '../../../src/client/pmq-client.js';

export type Conversation = Omit<ChatConversationFrame, 'type'>;
export type ChatMessage = Omit<ChatMessageFrame, 'type'>;
