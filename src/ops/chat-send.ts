// Sending a chat message, whatever the front end (WS `chat.send`, HTTP POST
// .../messages). A visitor's message finds its conversation, opening it (new, or
// the last one again) and routing it when needed; an agent writes only in a
// conversation they hold. Once per client_id: a resend returns the first message.
import type { ChatMessage, Conversation, ConversationChange } from '../chat/conversation.js';
import { ChatConflictError, NotParticipantError, ValidationError } from '../errors.js';
import { recordMoves, type ChatStores } from './chat-moves.js';
import { checkImageOf } from './chat-uploads.js';
import type { ChatCaller } from './chat-caller.js';

export interface SendInput {
  /** A visitor may leave it out: their open conversation, or a new one. */
  conversation: string | null;
  clientId: string;
  text: string | null;
  image: string | null;
}

export interface SendResult {
  message: ChatMessage;
  duplicate: boolean;
  /** Conversations whose record changed on the way (opened, assigned, reopened). */
  changes: ConversationChange[];
  /** Where the visitor's conversation waits, when it does (1-based). */
  queuePosition: number | null;
  /** The agent's first reply in this conversation (for the first-response time). */
  firstReply: boolean;
}

export async function sendMessage(stores: ChatStores, caller: ChatCaller, input: SendInput, now: Date): Promise<SendResult> {
  if (caller.kind === 'admin') throw new NotParticipantError('admins do not write in conversations: an agent does');
  const message = {
    sender: caller.uid,
    kind: input.image !== null ? ('image' as const) : ('text' as const),
    text: input.text,
    image: input.image,
    clientId: input.clientId,
  };
  if (caller.kind === 'agent') {
    if (input.conversation === null) throw new ValidationError('conversation: an agent names the conversation', 'conversation');
    await imageBelongs(stores, input.conversation, input.image);
    const added = await stores.conversations.addMessage(input.conversation, message, now);
    await announce(stores, added, message.kind);
    if (added.firstReply) await stores.metrics?.firstReply(input.conversation, now);
    return { message: added.message, duplicate: added.duplicate, changes: [], queuePosition: null, firstReply: added.firstReply };
  }

  // A visitor: straight into the conversation when it is open...
  const named = input.conversation ?? (await stores.conversations.openOf(caller.uid));
  // Before anything is opened: an image was uploaded to a conversation of theirs, so it must be that one.
  await imageBelongs(stores, named ?? '', input.image);
  if (named !== null) {
    const added = await stores.conversations.addMessage(named, message, now).catch((err: unknown) => {
      if (err instanceof ChatConflictError && err.code === 'conversation_resolved') return null;
      throw err;
    });
    if (added !== null) {
      await announce(stores, added, message.kind);
      // No agent yet: it waits, or its routing was cut short by a crash; routing is idempotent.
      const routed = added.agent === null ? await routeIfQueued(stores, named, null, now) : { changes: [], position: null, waiting: null };
      await stores.notifier.changed(routed.changes);
      return { message: added.message, duplicate: added.duplicate, changes: routed.changes, queuePosition: routed.position, firstReply: false };
    }
  }
  // ...else open one (theirs again, or new), route it, then write.
  const opened = await stores.conversations.openForVisitor(caller.uid, now);
  if (input.conversation !== null && opened.conversation.id !== input.conversation) {
    throw new ChatConflictError('conversation_resolved', 'this conversation is resolved, and a newer one is yours: send there', 'conversation');
  }
  if (opened.outcome === 'reopened') await stores.conversations.unindexResolved(opened.conversation.id, opened.lastAgent);
  // A reopen's record changed here (its system message); a new one's is told by its routing.
  const changes: ConversationChange[] = opened.message
    ? [{ conversation: opened.conversation, before: { status: 'resolved', agent: opened.lastAgent }, message: opened.message }]
    : [];
  const routed = await routeIfQueued(stores, opened.conversation.id, opened.lastAgent, now);
  // A new conversation that waits enters the queue with no change of its record
  // (it was made queued): the consoles, which show the queue, are told all the same.
  if (opened.outcome === 'created' && routed.waiting !== null) {
    routed.changes.push({ conversation: routed.waiting, before: { status: null, agent: null }, message: null });
  }
  await stores.notifier.changed([...changes, ...routed.changes]);
  const added = await stores.conversations.addMessage(opened.conversation.id, message, now);
  await announce(stores, added, message.kind);
  return {
    message: added.message,
    duplicate: added.duplicate,
    changes: [...changes, ...routed.changes],
    queuePosition: routed.position,
    firstReply: false,
  };
}

/** A new message (not a resend) goes to the sockets of both sides, and is counted. */
async function announce(
  stores: ChatStores,
  added: Awaited<ReturnType<ChatStores['conversations']['addMessage']>>,
  kind: 'text' | 'image',
): Promise<void> {
  if (added.duplicate) return;
  await stores.notifier.message(added.message, added.visitor, added.agent);
  stores.metrics?.message(kind);
}

/** An image message carries an upload of its own conversation (400 on `image` otherwise). */
async function imageBelongs(stores: ChatStores, conversation: string, image: string | null): Promise<void> {
  if (image !== null) await checkImageOf(stores, conversation, image);
}

/**
 * Routes a conversation whose record says it waits (a no-op for one the routing
 * has placed already), and records the moves. `lastAgent`: who routing prefers.
 */
async function routeIfQueued(
  stores: ChatStores,
  id: string,
  lastAgent: string | null,
  now: Date,
): Promise<{ changes: ConversationChange[]; position: number | null; waiting: Conversation | null }> {
  const record = await stores.conversations.get(id);
  if (record === null || record.status !== 'queued') return { changes: [], position: null, waiting: null };
  const routed = await stores.routing.route(id, Date.parse(record.waiting_since), lastAgent);
  const agent = routed.result.outcome === 'queued' ? null : routed.result.agent;
  const changes = await recordMoves(stores, routed, now, { conversation: id, agent });
  if (agent === null) stores.notifier.queueChanged();
  const place = await stores.routing.placeOf(id);
  // Left in the queue, the record is as it was read.
  return { changes, position: place !== null && 'position' in place ? place.position : null, waiting: agent === null ? record : null };
}
