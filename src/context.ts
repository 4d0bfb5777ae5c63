// What the roles of one process share: configuration, the Redis command client,
// key names, queues, metrics, the clock and the logger. Built once by service.ts.
import type { Config } from './config.js';
import type { Clock } from './events/clock.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { ChatStores } from './ops/chat-moves.js';
import type { Publisher } from './push/publisher.js';
import type { Queues } from './queues.js';
import type { RedisClient } from './redis/client.js';
import type { RedisTarget } from './redis/connection.js';
import type { Keys } from './redis/keys.js';
import type { StatsBuffer } from './store/stats.js';

export interface Context {
  config: Config;
  /** Fails commands fast while Redis is away (HTTP answers 503); not for BullMQ workers. */
  redis: RedisClient;
  /** Where Redis is, for the connections a role opens of its own (BullMQ workers, the node channel). */
  redisTarget: RedisTarget;
  keys: Keys;
  queues: Queues;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  /** Sends messages and counts to the gateway nodes that hold their users. */
  publisher: Publisher;
  /** The tallies of the hot paths (events, acks), flushed once a second. */
  stats: StatsBuffer;
  /** The chat's routing state, conversations and images. */
  chat: ChatStores;
}
