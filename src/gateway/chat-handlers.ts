// What each chat frame does, once its socket is signed in: a thin call into
// ops/chat-*.ts each, as frame-handlers.ts does for the notification frames.
// A refused chat.send names its client_id (`ref`), so that the client knows
// which send failed.
import { chatCallerOf } from '../ops/chat-caller.js';
import { resolveConversation, transferConversation } from '../ops/chat-manage.js';
import type { ChatStores } from '../ops/chat-moves.js';
import { agentStatus } from '../ops/chat-presence.js';
import { moveReceipt, relayTyping, type ReceiptDeps } from '../ops/chat-receipts.js';
import { sendMessage } from '../ops/chat-send.js';
import { ValidationError } from '../errors.js';
import type { Clock } from '../events/clock.js';
import { isAgentId } from '../chat/participants.js';
import { chatMessageFrameText } from '../protocol/chat-frames.js';
import type { Connection } from './connection.js';
import type { FrameHandlers, NotificationFrameType } from './frame-handlers.js';

export interface ChatHandlerDeps extends ReceiptDeps {
  stores: ChatStores;
  clock: Clock;
  /** Answers a frame that failed with its error frame (gateway.ts), `ref` echoing a send's client_id. */
  refuse: (conn: Connection, err: Error, ref?: string) => void;
}

/** Typing frames a socket may send a second; more are dropped. */
const TYPING_PER_SECOND = 2;

export function chatHandlers(deps: ChatHandlerDeps): Omit<FrameHandlers, NotificationFrameType> {
  const { stores } = deps;
  const now = () => new Date(deps.clock.now());
  const typingAt = new WeakMap<Connection, number[]>();
  const agentOnly = (uid: string) => {
    if (!isAgentId(uid)) throw new ValidationError('this frame is for agents');
  };
  return {
    // The sender's sockets get a new message as everyone does (chat.message). A
    // resend of one already there is told to this socket alone: its echo may be
    // what the dropped link lost.
    'chat.send': async (conn, uid, f) => {
      try {
        const sent = await sendMessage(
          stores,
          chatCallerOf(uid),
          { conversation: f.conversation ?? null, clientId: f.client_id, text: f.text ?? null, image: f.image ?? null },
          now(),
        );
        if (sent.duplicate) conn.send([chatMessageFrameText(sent.message)]);
      } catch (err) {
        deps.refuse(conn, err as Error, f.client_id);
      }
    },
    'chat.read': (_conn, uid, f) => moveReceipt(deps, uid, f.conversation, 'read', f.seq),
    'chat.typing': async (conn, uid, f) => {
      const t = deps.clock.now();
      const recent = (typingAt.get(conn) ?? []).filter((at) => t - at < 1000);
      if (recent.length >= TYPING_PER_SECOND) return;
      typingAt.set(conn, [...recent, t]);
      await relayTyping(deps, uid, f.conversation, f.on);
    },
    'chat.resolve': async (_conn, uid, f) => {
      agentOnly(uid);
      await resolveConversation(stores, chatCallerOf(uid), f.conversation, now());
    },
    'chat.transfer': async (_conn, uid, f) => {
      agentOnly(uid);
      await transferConversation(stores, chatCallerOf(uid), f.conversation, f.to ?? null, now());
    },
    'agent.status': async (_conn, uid, f) => {
      agentOnly(uid);
      await agentStatus(stores, uid, f.status, now());
    },
  };
}
