// What each client frame does, once its socket is signed in: one handler per
// frame type, each a thin call into ops/. The map's type makes it exhaustive:
// a frame type added to protocol/client-frames.ts without a handler does not
// compile. The chat's frames are handled the same way, in chat-handlers.ts.
import { categoryList } from '../events/read-schema.js';
import { pull, type PullDeps } from '../ops/pull.js';
import { read, type ReadDeps } from '../ops/read.js';
import type { ClientFrame } from '../protocol/client-frames.js';
import { messageFrameText, unreadFrame } from '../protocol/server-frames.js';
import type { AckBatcher } from './ack-batcher.js';
import type { Connection } from './connection.js';

/** The frames a signed-in socket may send (`auth` is the sign-in's). */
export type SessionFrame = Exclude<ClientFrame, { type: 'auth' }>;

export type FrameHandler<F> = (conn: Connection, uid: string, frame: F) => void | Promise<void>;

export type FrameHandlers = { [T in SessionFrame['type']]: FrameHandler<Extract<SessionFrame, { type: T }>> };

const PONG = '{"type":"pong"}';

/** The notification frames' types: the rest are the chat's. */
export type NotificationFrameType = 'ping' | 'ack' | 'read' | 'pull';

export function notificationHandlers(
  ctx: ReadDeps & PullDeps,
  acks: AckBatcher,
  chatAcks: (uid: string, ids: string[]) => void,
): Pick<FrameHandlers, NotificationFrameType> {
  return {
    ping: (conn) => void conn.send([PONG]),
    // One ack frame serves both: notification ids to the ack batcher, chat message ids to their receipts.
    ack: (_conn, uid, frame) => {
      acks.add(uid, frame.ids);
      chatAcks(uid, frame.ids);
    },
    // No answer of its own: a read that changed something reaches this socket
    // as `unread`, with the user's other sockets.
    read: async (_conn, uid, frame) => {
      const target =
        frame.ids !== undefined
          ? { ids: frame.ids }
          : frame.category !== undefined
            ? { categories: categoryList(frame.category) }
            : { all: true as const };
      await read(ctx, uid, target);
    },
    pull: async (conn, uid) => {
      const { messages, unread } = await pull(ctx, uid);
      conn.send([...messages.map((m) => messageFrameText(m)), unreadFrame(unread)]);
    },
  };
}
