// Chat images, whatever the front end (HTTP POST/GET /v1/chat/uploads; a
// message's `image` from WS `chat.send` or HTTP alike): who may upload into a
// conversation, who may see what was uploaded, and whether a message may name
// an image. The bytes themselves are store/chat-uploads.ts' business.
import type { Readable } from 'node:stream';
import type { Conversation } from '../chat/conversation.js';
import { ChatConflictError, HttpError, NoConversationError, NoImageError, NotParticipantError, ValidationError } from '../errors.js';
import type { UploadedImage, UploadMeta } from '../store/chat-uploads.js';
import type { ChatCaller } from './chat-caller.js';
import { maySee } from './chat-manage.js';
import type { ChatStores } from './chat-moves.js';

/**
 * Keeps one image for an open conversation, uploaded by one of its two
 * participants: its visitor, or the agent who holds it. Everything that needs
 * no byte of the body is settled first, so that a refused caller costs no
 * upload; then the body streams to the store, refused as soon as it shows what
 * is wrong (see ChatUploads.receive: a refused Readable is left paused, for the
 * caller to answer and close).
 */
export async function uploadImage(
  stores: ChatStores,
  caller: ChatCaller,
  conversationId: string,
  body: AsyncIterable<Buffer | Uint8Array> | Readable,
  contentType: string | undefined,
  now: Date,
): Promise<UploadedImage> {
  // Admins read every conversation but write in none (as with messages).
  if (caller.kind === 'admin') throw new NotParticipantError('admins do not write in conversations: its visitor or its agent uploads');
  const conversation = await stores.conversations.get(conversationId);
  if (conversation === null) throw new NoConversationError();
  if (!isParticipant(caller.uid, conversation)) throw new NotParticipantError();
  // Asked after who: a stranger learns nothing of a conversation's state.
  if (conversation.status === 'resolved') {
    throw new ChatConflictError('conversation_resolved', 'this conversation is resolved: an image goes into an open one', 'conversation');
  }
  return stores.uploads.receive(body, contentType, { conversation: conversation.id, uploader: caller.uid, now }).catch((err: unknown) => {
    throw refusedUpload(stores, err);
  });
}

/** Counts an upload refused for what it is (by its error code: image_too_large, not_an_image, ...); returns the error, to throw. */
export function refusedUpload<E>(stores: Pick<ChatStores, 'metrics'>, err: E): E {
  if (err instanceof HttpError && err.status < 500) stores.metrics?.uploadRefused(err.code);
  return err;
}

/**
 * An image, to whoever may see its conversation (chat-manage.ts maySee: its
 * visitor, its agent, any agent while it waits, an admin). The caller reads
 * the stream to its end or destroys it.
 */
export async function imageFor(stores: ChatStores, caller: ChatCaller, id: string): Promise<{ meta: UploadMeta; stream: Readable }> {
  const image = await stores.uploads.open(id);
  if (image === null) throw new NoImageError();
  try {
    const conversation = await stores.conversations.get(image.meta.conversation);
    // Past its conversation's retention an image is on its way out too: gone for everyone.
    if (conversation === null) throw new NoImageError();
    if (!maySee(caller, conversation)) throw new NotParticipantError('this image belongs to a conversation you take no part in');
    return image;
  } catch (err) {
    image.stream.destroy();
    throw err;
  }
}

/**
 * What a message that names an image checks before it is written: the image
 * was kept, for this conversation. One uploaded elsewhere is refused like an
 * unknown one, so that a message cannot show another conversation's image.
 */
export async function checkImageOf(stores: ChatStores, conversationId: string, imageId: string): Promise<UploadMeta> {
  const found = await stores.uploads.get(imageId);
  if (found === null || found.meta.conversation !== conversationId) {
    throw new ValidationError('no such image in this conversation: upload it first (POST /v1/chat/uploads?conversation=<id>)', 'image');
  }
  return found.meta;
}

/**
 * Who writes into it: its visitor, or its agent (none while it waits; once
 * resolved, the last one, told 409 rather than 403: they did take part).
 */
function isParticipant(uid: string, c: Conversation): boolean {
  return c.visitor === uid || (c.agent !== null && c.agent === uid);
}
