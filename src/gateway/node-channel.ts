// This node's Redis pub/sub channel: what workers and the API publish for the
// users on this node arrives here (the messages: protocol/node-message.ts).
import type { RedisClient } from '../redis/client.js';
import type { Logger } from '../logger.js';
import { decodeNodeMessage, type NodeMessage } from '../protocol/node-message.js';

/**
 * Subscribes this node to its channel and hands each message to `onMessage`.
 * A subscriber needs a connection of its own (Redis' rule for SUBSCRIBE).
 */
export async function listenOnNodeChannel(
  subscriber: RedisClient,
  channel: string,
  logger: Logger,
  onMessage: (m: NodeMessage<Buffer>) => void,
): Promise<void> {
  // The Buffer form only: ioredis then never decodes the payload to a string.
  subscriber.on('messageBuffer', (ch: Buffer, payload: Buffer) => {
    if (ch.toString() !== channel) return;
    let m: NodeMessage<Buffer>;
    try {
      m = decodeNodeMessage(payload);
    } catch (err) {
      logger.warn({ channel, err: (err as Error).message }, 'unreadable node message');
      return;
    }
    onMessage(m);
  });
  await subscriber.subscribe(channel);
}
