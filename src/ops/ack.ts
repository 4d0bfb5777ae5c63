// Delivery acks, whatever the front end: over HTTP one user's at once; from the
// gateway many users' together (gateway/ack-batcher.ts gathers them); at a
// reconnect, everything up to the client's `since`. Whatever the way, what an
// ack does besides Redis (the tallies, the metric) is done by `counted`, here.
import type { RedisClient } from '../redis/client.js';
import type { Metrics } from '../metrics.js';
import type { Keys } from '../redis/keys.js';
import type { StatsBuffer } from '../store/stats.js';
import { ackMessages, ackMessagesOfUsers } from '../store/pending.js';

/** What acking uses: the store, and where acks are tallied. */
export interface AckDeps {
  redis: RedisClient;
  keys: Keys;
  stats: StatsBuffer;
  metrics: Pick<Metrics, 'acks'>;
}

export interface Acked {
  fast: number;
  delayed: number;
}

/** One user's acks; returns how many messages left the pending set. */
export async function ack(deps: AckDeps, uid: string, ids: string[]): Promise<number> {
  return counted(deps, await ackMessages(deps.redis, deps.keys, uid, ids));
}

/** Many users' acks in one round trip; returns how many messages left the pending set. */
export async function ackOfUsers(deps: AckDeps, acks: Map<string, Set<string>>): Promise<number> {
  return counted(deps, await ackMessagesOfUsers(deps.redis, deps.keys, acks));
}

/** The tallies and the metric of messages acked in Redis (by any of the above, or by `since`). */
export function counted(deps: Pick<AckDeps, 'stats' | 'metrics'>, acked: Acked): number {
  const n = acked.fast + acked.delayed;
  if (n === 0) return 0;
  deps.stats.add({ fast: -acked.fast, delayed: -acked.delayed });
  deps.metrics.acks.inc(n);
  return n;
}
