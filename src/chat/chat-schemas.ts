/// <reference lib="es2024.string" />
// What clients may send to the chat, checked once for HTTP and WS alike. Text
// is made well-formed (a lone surrogate becomes U+FFFD), as an event's is: it
// is stored as JSON and read back by every client.
import { z } from 'zod';
import { CLIENT_ID, CONVERSATION_ID, MAX_TEXT_LENGTH } from './conversation.js';
import { AGENT_ID_PART } from './participants.js';

/** An upload's id (store/chat-uploads.ts): 16 random bytes, base64url. */
export const UPLOAD_ID = /^[A-Za-z0-9_-]{22}$/;

/** The longest name an agent may be given. */
export const MAX_AGENT_NAME = 100;

export const conversationId = z.string({ error: 'must be a conversation id' }).regex(CONVERSATION_ID, { error: 'must be a conversation id' });

export const agentUid = z
  .string({ error: 'must be an agent id such as "agent:7"' })
  .refine((s) => s.startsWith('agent:') && AGENT_ID_PART.test(s.slice('agent:'.length)), { error: 'must be an agent id such as "agent:7"' });

const clientId = z
  .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
  .regex(CLIENT_ID, { error: 'must match ^[A-Za-z0-9_.:-]{1,64}$' });

const messageText = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(MAX_TEXT_LENGTH, { error: `must be at most ${MAX_TEXT_LENGTH} characters` })
  .transform((s) => s.toWellFormed());

const imageId = z.string({ error: 'must be an upload id' }).regex(UPLOAD_ID, { error: 'must be an upload id (from POST /v1/chat/uploads)' });

/** A message's content: a text or an image, exactly one. */
export const messageContent = {
  client_id: clientId,
  text: messageText.optional(),
  image: imageId.optional(),
};

/** The refinement every message body takes: one of text and image. */
export function oneOfTextOrImage(m: { text?: string; image?: string }, ctx: z.RefinementCtx): void {
  if ((m.text === undefined) === (m.image === undefined)) {
    ctx.addIssue({ code: 'custom', path: [m.text === undefined ? 'text' : 'image'], message: 'send a text or an image, one of them' });
  }
}

/** POST /v1/chat/conversations/:id/messages. */
export const sendBody = z.strictObject(messageContent).superRefine(oneOfTextOrImage);

/** POST /v1/chat/conversations/:id/transfer: to an agent, or (none, null) back to the queue. */
export const transferBody = z.strictObject({ to: agentUid.nullable().optional() });

/** PUT /v1/admin/agents/:id. */
export function agentBody(maxCapacity: number) {
  return z.strictObject({
    name: z
      .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
      .min(1, { error: 'must not be empty' })
      .max(MAX_AGENT_NAME, { error: `must be at most ${MAX_AGENT_NAME} characters` })
      .transform((s) => s.toWellFormed()),
    capacity: z
      .number({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a whole number') })
      .int({ error: 'must be a whole number' })
      .min(0, { error: 'must be at least 0' })
      .max(maxCapacity, { error: `must be at most ${maxCapacity} (PMQ_CHAT_MAX_CAPACITY)` }),
  });
}
