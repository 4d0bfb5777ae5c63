// Service-wide tallies: events applied, messages per tier and purges. Each write goes to one
// shard's hash, picked at random, so that no one slot takes every process'
// writes under Cluster; a reading sums the shards (and the single hash of before
// the shards, left as it was).
//
// They are bumped after each user's atomic step, not inside it (the hash lives
// on another slot under Cluster), and on the hot paths (events, acks) through a
// buffer that a process flushes once a second: a process killed between the two
// leaves a tally off by what it had not flushed. They feed gauges and admin
// views; the per-user state is what counts and deliveries rest on.
import type { RedisClient } from '../redis/client.js';
import type { Logger } from '../logger.js';
import type { Keys } from '../redis/keys.js';
import { execEach, type KeyedCommand } from '../redis/slot-groups.js';

export type StatName = 'applied' | 'fast' | 'delayed' | 'purged' | 'purged_pending' | 'purged_unread';
export type StatDelta = Partial<Record<StatName, number>>;

export async function addStats(redis: RedisClient, keys: Keys, delta: StatDelta): Promise<void> {
  const entries = Object.entries(delta).filter(([, n]) => n !== 0);
  if (entries.length === 0) return;
  const shards = keys.allShards;
  const key = shards[Math.floor(Math.random() * keys.shards)]!.stats;
  const multi = redis.multi();
  for (const [name, n] of entries) multi.hincrby(key, name, n);
  await multi.exec();
}

export async function readStats(redis: RedisClient, keys: Keys): Promise<Record<StatName, number>> {
  const hashes = (await execEach(
    redis,
    keys.allShards.map((shard): KeyedCommand => [shard.stats, (p) => p.hgetall(shard.stats)]),
  )) as Record<string, string>[];
  const n = (k: StatName) => hashes.reduce((sum, raw) => sum + Number(raw[k] ?? 0), 0);
  return {
    applied: n('applied'),
    fast: n('fast'),
    delayed: n('delayed'),
    purged: n('purged'),
    purged_pending: n('purged_pending'),
    purged_unread: n('purged_unread'),
  };
}

/** Sums deltas in this process and writes them in one step every `everyMs`. */
export class StatsBuffer {
  private pending: StatDelta = {};
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly logger: Logger,
    everyMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), everyMs);
    this.timer.unref();
  }

  add(delta: StatDelta): void {
    for (const [name, n] of Object.entries(delta) as [StatName, number][]) {
      this.pending[name] = (this.pending[name] ?? 0) + n;
    }
  }

  async flush(): Promise<void> {
    const delta = this.pending;
    this.pending = {};
    try {
      await addStats(this.redis, this.keys, delta);
    } catch (err) {
      // Kept for the next flush rather than lost.
      this.add(delta);
      this.logger.debug({ err: (err as Error).message }, 'stats flush failed');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
