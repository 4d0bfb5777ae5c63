// The node-to-node messages: each gateway node listens on its own Redis pub/sub
// channel; workers and the API publish there, one message per node and batch.
// One discriminated union, as in Socket.IO's cluster adapter.
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { UnreadCounts } from '../store/unread.js';
import type { MessageFrame } from './frames.js';

export interface UserDelivery {
  uid: string;
  messages: MessageFrame[];
  /** Absolute counts after these messages; absent when they did not change. */
  unread?: Pick<UnreadCounts, 'total' | 'counts'>;
}

export type NodeMessage =
  /**
   * Messages for users on this node (new, redelivered, or drained from a tier);
   * `sent_at`: when it was published (ms), for the push latency metric.
   */
  | { type: 'deliver'; users: UserDelivery[]; sent_at: number }
  /** Counts changed (a read on another device or over HTTP). */
  | { type: 'unread'; users: { uid: string; unread: Pick<UnreadCounts, 'total' | 'counts'> }[] };

/**
 * Subscribes this node to its channel and hands each message to `onMessage`.
 * A subscriber needs a connection of its own (Redis' rule for SUBSCRIBE).
 */
export async function listenOnNodeChannel(
  subscriber: Redis,
  channel: string,
  logger: Logger,
  onMessage: (m: NodeMessage) => void,
): Promise<void> {
  subscriber.on('message', (ch: string, payload: string) => {
    if (ch !== channel) return;
    let m: NodeMessage;
    try {
      m = JSON.parse(payload) as NodeMessage;
    } catch {
      logger.warn({ channel }, 'unreadable node message');
      return;
    }
    onMessage(m);
  });
  await subscriber.subscribe(channel);
}
