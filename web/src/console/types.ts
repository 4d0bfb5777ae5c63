// The chat's records as the console holds them: the client library's frames
// without their `type` (the pages take the client and the protocol only).
import type { ChatConversationFrame, ChatMessageFrame } from '../../../src/client/pmq-client.js';

export type Conversation = Omit<ChatConversationFrame, 'type'>;
export type ChatMessage = Omit<ChatMessageFrame, 'type'>;
