// The redelivery schedule: a push puts its users here (uid -> when to check
// whether they acked), each in their shard; workers/fast.worker.ts sweeps it.
import type { RedisClient } from '../redis/client.js';
import type { Keys, ShardKeys } from '../redis/keys.js';
import { execBatches } from '../redis/slot-groups.js';

/**
 * After a push to these users: their next check is due `ackTimeoutMs` from now
 * (sooner than one already scheduled, never later), and their attempts start over.
 */
export async function scheduleRedelivery(redis: RedisClient, keys: Keys, uids: Iterable<string>, ackTimeoutMs: number): Promise<void> {
  const byShard = new Map<ShardKeys, string[]>();
  for (const uid of uids) {
    const shard = keys.shardOf(uid);
    const list = byShard.get(shard);
    if (list) list.push(uid);
    else byShard.set(shard, [uid]);
  }
  if (byShard.size === 0) return;
  const due = Date.now() + ackTimeoutMs;
  await execBatches(
    redis,
    [...byShard],
    ([shard]) => shard.redeliverDue,
    (p, [shard, list]) =>
      p.zadd(shard.redeliverDue, 'LT', ...list.flatMap((uid) => [due, uid])).hdel(shard.redeliverAttempts, ...list),
  );
}
