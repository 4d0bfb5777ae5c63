// Pending messages: read them by tier in seq order, and acknowledge delivery
// (an acked message leaves the pending set).
import type { RedisClient } from '../redis/client.js';
import type { MessageView } from '../events/stored-message.js';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';
import { callsBySlot, execBatches } from '../redis/slot-groups.js';

/** Acks one user's messages; returns how many left each tier (for the tallies). */
export async function ackMessages(
  redis: RedisClient,
  keys: Keys,
  uid: string,
  ids: string[],
): Promise<{ fast: number; delayed: number }> {
  return scripts.ack(redis, [{ base: keys.userBase(uid), ids }]);
}

/** Ids per script call when many users' acks go together: no call holds Redis long. */
const ACK_IDS_PER_CALL = 1000;

/**
 * Acks of many users in one round trip per node (ack-n.lua takes several users
 * of one slot per call, cut at ACK_IDS_PER_CALL ids); returns how many left each
 * tier, in all.
 */
export async function ackMessagesOfUsers(
  redis: RedisClient,
  keys: Keys,
  acks: Map<string, Set<string>>,
): Promise<{ fast: number; delayed: number }> {
  const calls = callsBySlot(redis, acks, ([uid]) => keys.userBase(uid), ([, ids]) => ids.size, ACK_IDS_PER_CALL);
  const replies = await execBatches(
    redis,
    calls,
    (call) => keys.userBase(call[0]![0]),
    (pipeline, call) => scripts.ack.queue(pipeline, call.map(([uid, ids]) => ({ base: keys.userBase(uid), ids }))),
  );
  const acked = { fast: 0, delayed: 0 };
  for (const [reply] of replies) {
    const { fast, delayed } = scripts.ack.decode(reply);
    acked.fast += fast;
    acked.delayed += delayed;
  }
  return acked;
}

export type PendingTier = 'fast' | 'delayed';

/** Users per script call: a call returns at most this many pages. */
const USERS_PER_CALL = 50;

/** One page of a user's pending messages in one tier, in seq order, after `afterSeq`. */
export async function pendingPage(
  redis: RedisClient,
  keys: Keys,
  uid: string,
  tier: PendingTier,
  afterSeq: number,
  limit: number,
): Promise<MessageView[]> {
  const [page] = await pendingPages(redis, keys, [uid], tier, afterSeq, limit);
  return page!;
}

/** The first pages of several users in one round trip. */
export async function pendingPages(
  redis: RedisClient,
  keys: Keys,
  uids: string[],
  tier: PendingTier,
  afterSeq: number,
  limit: number,
): Promise<MessageView[][]> {
  // Grouped by slot, the users' pages come back in another order: put back.
  const calls = callsBySlot(redis, uids.keys(), (i) => keys.userBase(uids[i]!), () => 1, USERS_PER_CALL);
  const replies = await execBatches(
    redis,
    calls,
    (call) => keys.userBase(uids[call[0]!]!),
    (pipeline, call) => scripts.pendingPage.queue(pipeline, tier, call.map((i) => keys.userBase(uids[i]!)), afterSeq, limit),
  );
  const pages: MessageView[][] = new Array(uids.length);
  calls.forEach((call, c) => {
    const decoded = scripts.pendingPage.decode(replies[c]![0], tier);
    call.forEach((i, k) => (pages[i] = decoded[k]!));
  });
  return pages;
}

/**
 * What a reconnecting client holds up to `since` is delivered: acks it, in bounded
 * steps. Returns whether every message after `since` is still there to be sent.
 */
export async function ackThrough(
  redis: RedisClient,
  keys: Keys,
  uid: string,
  since: number,
  step: number,
): Promise<{ fast: number; delayed: number; recovered: boolean }> {
  const k = keys.user(uid);
  const acked = { fast: 0, delayed: 0 };
  for (;;) {
    const { fast, delayed, recovered } = await scripts.ackThrough(redis, k, since, step);
    acked.fast += fast;
    acked.delayed += delayed;
    if (fast < step && delayed < step) return { ...acked, recovered };
  }
}

/** How many messages wait in one of the user's tiers. */
export function pendingCount(redis: RedisClient, keys: Keys, uid: string, tier: PendingTier): Promise<number> {
  return redis.zcard(keys.user(uid)[tier]);
}
