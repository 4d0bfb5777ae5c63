// Service-wide tallies kept in one Redis hash: messages per tier and purges.
//
// They are bumped after each user's atomic step, not inside it (the hash lives
// on another slot under Cluster), so a process killed between the two can leave a
// tally off by that step. They feed gauges and admin views; the per-user state is
// what counts and deliveries rest on.
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.js';

export type StatName = 'fast' | 'delayed' | 'purged' | 'purged_pending' | 'purged_unread';

export async function addStats(redis: Redis, keys: Keys, delta: Partial<Record<StatName, number>>): Promise<void> {
  const pipeline = redis.pipeline();
  for (const [name, n] of Object.entries(delta)) {
    if (n !== 0) pipeline.hincrby(keys.stats, name, n);
  }
  if (pipeline.length > 0) await pipeline.exec();
}

export async function readStats(redis: Redis, keys: Keys): Promise<Record<StatName, number>> {
  const raw = await redis.hgetall(keys.stats);
  const n = (k: StatName) => Number(raw[k] ?? 0);
  return {
    fast: n('fast'),
    delayed: n('delayed'),
    purged: n('purged'),
    purged_pending: n('purged_pending'),
    purged_unread: n('purged_unread'),
  };
}
