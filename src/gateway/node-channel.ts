// This node's Redis pub/sub channel: what workers and the API publish for the
// users on this node arrives here (the messages: protocol/node-message.ts).
import { isCluster, type RedisClient } from '../redis/client.js';
import type { Logger } from '../logger.js';
import { decodeNodeMessage, type NodeMessage } from '../protocol/node-message.js';

/**
 * Subscribes this node to its channel and hands each message to `onMessage`.
 * A subscriber needs a connection of its own (Redis' rule for SUBSCRIBE). On a
 * cluster the channel is a sharded one (SSUBSCRIBE: it lives on the master of
 * its slot, see push/publisher.ts); the subscriber is made with ioredis'
 * `shardedSubscribers`, which subscribes again wherever that slot moves.
 */
export async function listenOnNodeChannel(
  subscriber: RedisClient,
  channel: string,
  logger: Logger,
  onMessage: (m: NodeMessage<Buffer>) => void,
): Promise<void> {
  const sharded = isCluster(subscriber);
  // The Buffer form only: ioredis then never decodes the payload to a string.
  subscriber.on(sharded ? 'smessageBuffer' : 'messageBuffer', (ch: Buffer, payload: Buffer) => {
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
  if (sharded) await subscriber.ssubscribe(channel);
  else await subscriber.subscribe(channel);
}
