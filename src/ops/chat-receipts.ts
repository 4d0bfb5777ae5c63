// Receipts and typing, whatever the front end: `chat.read` (read up to a seq),
// acks of chat messages (delivered up to a seq), `chat.typing`. Each change of a
// receipt goes to the other side as `chat.receipt`; typing is relayed, never stored.
import { chatReceiptFrameText, chatTypingFrameText } from '../protocol/chat-frames.js';
import type { Publisher } from '../push/publisher.js';
import { NotParticipantError } from '../errors.js';
import { offlineNoticeId } from '../chat/offline-notice.js';
import type { ChatStores } from './chat-moves.js';

export interface ReceiptDeps {
  stores: ChatStores;
  publisher: Pick<Publisher, 'chat'>;
  /** Marks a visitor's notifications read by id (ops/read.ts): the chat notice of what they just read. */
  readNotices: (uid: string, ids: string[]) => Promise<unknown>;
}

/** A chat message's id, `<conversation>-<seq>`: what a device acks. */
const CHAT_MESSAGE_ID = /^([A-Za-z0-9_-]{22})-([1-9][0-9]{0,9})$/;

export async function moveReceipt(deps: ReceiptDeps, uid: string, conversation: string, kind: 'delivered' | 'read', seq: number): Promise<void> {
  const r = await deps.stores.conversations.receipt(conversation, uid, kind, seq);
  if (!r.moved) return;
  // Read in the chat: the notification that pointed there is read too.
  if (uid === r.visitor && r.read > r.readBefore) await deps.readNotices(uid, [offlineNoticeId(conversation, r.readBefore)]);
  const frame = chatReceiptFrameText({ conversation, by: uid, delivered_seq: r.delivered, read_seq: r.read });
  // The other side; and the participant's own other devices, which show what they read.
  const to = [r.visitor, r.agent].filter((u): u is string => u !== null);
  await deps.publisher.chat(to.map((u) => ({ uid: u, frames: [frame] })));
}

/**
 * Acks of chat messages, among any ids a device acks: each conversation's
 * delivered receipt moves to its highest seq acked. Ids of no chat message, or
 * of a conversation the user takes no part in, are not chat acks: left alone.
 */
export async function ackChatMessages(deps: ReceiptDeps, uid: string, ids: readonly string[]): Promise<void> {
  const highest = new Map<string, number>();
  for (const id of ids) {
    const m = CHAT_MESSAGE_ID.exec(id);
    if (m) highest.set(m[1]!, Math.max(highest.get(m[1]!) ?? 0, Number(m[2])));
  }
  for (const [conversation, seq] of highest) {
    await moveReceipt(deps, uid, conversation, 'delivered', seq).catch((err: unknown) => {
      if (!(err instanceof NotParticipantError) && (err as { code?: string }).code !== 'no_conversation') throw err;
    });
  }
}

/** `uid` types (or stops) in a conversation they take part in: the other side hears it. */
export async function relayTyping(deps: ReceiptDeps, uid: string, conversation: string, on: boolean): Promise<void> {
  const c = await deps.stores.conversations.get(conversation);
  if (c === null || (c.visitor !== uid && c.agent !== uid)) throw new NotParticipantError();
  const other = uid === c.visitor ? c.agent : c.visitor;
  if (other === null) return;
  await deps.publisher.chat([{ uid: other, frames: [chatTypingFrameText({ conversation, by: uid, on })] }]);
}
