// Ageing, in bounded batches: pending messages move from the fast tier to the
// delayed tier after PMQ_FAST_TIER_SECONDS, and every message leaves at the end of
// retention. The global indexes (uid -> oldest time) find the users that are due
// without scanning the keyspace; each round takes at most `users` of them and at
// most `perUser` messages of each, so no single command holds Redis for long.
import type { RedisClient } from '../redis/client.js';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';
import { execBatchesSettled, execEach, type KeyedCommand } from '../redis/slot-groups.js';
import { addStats } from './stats.js';

export interface Bounds {
  /** Users per round. */
  users: number;
  /** Messages per user per round. */
  perUser: number;
  /** Rounds per call; what is left waits for the next call. */
  rounds: number;
}

/**
 * Called for a user whose step failed (a key of the wrong type, a script error):
 * the round skips them and goes on; they are tried again at the next call.
 */
export type OnUserFailure = (uid: string, err: Error) => void;

export interface MoveResult {
  moved: number;
  users: number;
  /** Users skipped because their step failed (see OnUserFailure). */
  failed: number;
  /** True when the bounds stopped the work before everything due was done. */
  more: boolean;
}

export interface PurgeResult {
  purged: number;
  pending: number;
  unread: number;
  users: number;
  failed: number;
  more: boolean;
}

/** Moves fast-tier messages accepted before `cutoff` into the delayed tier. */
export async function moveDueToDelayed(
  redis: RedisClient,
  keys: Keys,
  cutoff: number,
  bounds: Bounds,
  onFailure: OnUserFailure,
): Promise<MoveResult> {
  const result: MoveResult = { moved: 0, users: 0, failed: 0, more: false };
  for await (const [index, uids] of dueRounds(redis, keys, 'fastIndex', cutoff, bounds)) {
    const replies = await execBatchesSettled(
      redis,
      uids,
      (uid) => keys.userBase(uid),
      (p, uid) => scripts.moveTier.queue(p, keys.user(uid), cutoff, bounds.perUser),
    );
    let moved = 0;
    for (const [i, uid] of uids.entries()) {
      const [err, reply] = replies[i]![0]!;
      if (err) {
        await skipUser(redis, keys, 'fastIndex', index, uid, cutoff, err, onFailure);
        result.failed++;
        continue;
      }
      const step = scripts.moveTier.decode(reply);
      moved += step.moved;
      await reindex(redis, keys, 'fastIndex', index, keys.user(uid).fast, uid, step.oldestLeft);
    }
    await addStats(redis, keys, { fast: -moved, delayed: moved });
    result.moved += moved;
    result.users += uids.length;
  }
  result.more = await anyDue(redis, keys, 'fastIndex', cutoff);
  return result;
}

/** Removes every message accepted before `cutoff`: feed, pending, unread, seen-mark. */
export async function purgeExpired(
  redis: RedisClient,
  keys: Keys,
  cutoff: number,
  bounds: Bounds,
  onFailure: OnUserFailure,
): Promise<PurgeResult> {
  const result: PurgeResult = { purged: 0, pending: 0, unread: 0, users: 0, failed: 0, more: false };
  for await (const [index, uids] of dueRounds(redis, keys, 'feedIndex', cutoff, bounds)) {
    const replies = await execBatchesSettled(
      redis,
      uids,
      (uid) => keys.userBase(uid),
      (p, uid) => scripts.purge.queue(p, keys.user(uid), cutoff, bounds.perUser),
    );
    let purged = 0;
    let fast = 0;
    let delayed = 0;
    let unread = 0;
    for (const [i, uid] of uids.entries()) {
      const [err, reply] = replies[i]![0]!;
      if (err) {
        await skipUser(redis, keys, 'feedIndex', index, uid, cutoff, err, onFailure);
        result.failed++;
        continue;
      }
      const step = scripts.purge.decode(reply);
      purged += step.purged;
      fast += step.fast;
      delayed += step.delayed;
      unread += step.unread;
      await reindex(redis, keys, 'feedIndex', index, keys.user(uid).feed, uid, step.oldestLeft);
    }
    const pending = fast + delayed;
    await addStats(redis, keys, { fast: -fast, delayed: -delayed, purged, purged_pending: pending, purged_unread: unread });
    result.purged += purged;
    result.pending += pending;
    result.unread += unread;
    result.users += uids.length;
  }
  result.more = await anyDue(redis, keys, 'feedIndex', cutoff);
  return result;
}

type IndexKind = 'fastIndex' | 'feedIndex';

/**
 * The rounds of one call: up to `bounds.rounds` lists of due users, each of one
 * index shard (and the index key they came from), shard after shard, starting at
 * a random one so that a backlog larger than the bounds is worked off evenly.
 */
async function* dueRounds(
  redis: RedisClient,
  keys: Keys,
  kind: IndexKind,
  cutoff: number,
  bounds: Bounds,
): AsyncGenerator<[index: string, uids: string[]]> {
  const shards = keys.allShards;
  const start = Math.floor(Math.random() * shards.length);
  let rounds = bounds.rounds;
  for (let i = 0; i < shards.length && rounds > 0; i++) {
    const index = shards[(start + i) % shards.length]![kind];
    while (rounds > 0) {
      const uids = await dueUsers(redis, index, cutoff, bounds.users);
      if (uids.length === 0) break;
      rounds--;
      yield [index, uids];
    }
  }
}

/** Whether any shard still has a user due: one round trip per node. */
async function anyDue(redis: RedisClient, keys: Keys, kind: IndexKind, cutoff: number): Promise<boolean> {
  const firsts = (await execEach(
    redis,
    keys.allShards.map((shard): KeyedCommand => [shard[kind], (p) => p.zrangebyscore(shard[kind], '-inf', `(${cutoff}`, 'LIMIT', 0, 1)]),
  )) as string[][];
  return firsts.some((f) => f.length > 0);
}

/**
 * A user's entry belongs in their own shard; one found elsewhere (in the keys of
 * before the shards, or of another PMQ_REDIS_SHARDS) moves there when touched.
 */
async function setIndex(redis: RedisClient, keys: Keys, kind: IndexKind, sweptIndex: string, uid: string, score: number, lt = false) {
  const own = keys.shardOf(uid)[kind];
  if (lt) await redis.zadd(own, 'LT', score, uid);
  else await redis.zadd(own, score, uid);
  if (own !== sweptIndex) await redis.zrem(sweptIndex, uid);
}

/**
 * A user whose step failed goes to the cutoff in the index: no longer due in
 * this call (the rounds go on with the users after them), due again at the next.
 */
async function skipUser(
  redis: RedisClient,
  keys: Keys,
  kind: IndexKind,
  index: string,
  uid: string,
  cutoff: number,
  err: Error,
  onFailure: OnUserFailure,
) {
  onFailure(uid, err);
  await setIndex(redis, keys, kind, index, uid, cutoff);
}

function dueUsers(redis: RedisClient, index: string, cutoff: number, limit: number): Promise<string[]> {
  return redis.zrangebyscore(index, '-inf', `(${cutoff}`, 'LIMIT', 0, limit);
}

/**
 * Puts a user back in an index at the time of their oldest remaining entry, or
 * takes them out when none is left. The events worker may add a message between
 * the script and ZREM; the check after ZREM puts the user back in that case.
 */
async function reindex(
  redis: RedisClient,
  keys: Keys,
  kind: IndexKind,
  index: string,
  userZset: string,
  uid: string,
  oldest: number,
): Promise<void> {
  if (oldest >= 0) {
    await setIndex(redis, keys, kind, index, uid, oldest);
    return;
  }
  const own = keys.shardOf(uid)[kind];
  await redis.zrem(index, uid);
  if (own !== index) await redis.zrem(own, uid);
  const left = await redis.zrange(userZset, 0, 0);
  if (left.length > 0) await redis.zadd(own, 'LT', 0, uid);
}
