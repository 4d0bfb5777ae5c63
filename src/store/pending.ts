// Pending messages: read them by tier in seq order, and acknowledge delivery
// (an acked message leaves the pending set).
import type { RedisClient } from '../redis/client.js';
import type { MessageView } from '../events/stored-message.js';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';
import { pipelineResults } from '../redis/pipeline.js';

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
 * Acks of many users in one round trip (ack-n.lua takes several users per call,
 * cut at ACK_IDS_PER_CALL ids); returns how many left each tier, in all.
 */
export async function ackMessagesOfUsers(
  redis: RedisClient,
  keys: Keys,
  acks: Map<string, Set<string>>,
): Promise<{ fast: number; delayed: number }> {
  const pipeline = redis.pipeline();
  let call: { base: string; ids: Set<string> }[] = [];
  let inCall = 0;
  for (const [uid, ids] of acks) {
    if (inCall > 0 && inCall + ids.size > ACK_IDS_PER_CALL) {
      scripts.ack.queue(pipeline, call);
      call = [];
      inCall = 0;
    }
    call.push({ base: keys.userBase(uid), ids });
    inCall += ids.size;
  }
  if (call.length > 0) scripts.ack.queue(pipeline, call);
  const acked = { fast: 0, delayed: 0 };
  for (const reply of await pipelineResults(pipeline)) {
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
  const pipeline = redis.pipeline();
  for (let i = 0; i < uids.length; i += USERS_PER_CALL) {
    scripts.pendingPage.queue(pipeline, tier, uids.slice(i, i + USERS_PER_CALL).map((uid) => keys.userBase(uid)), afterSeq, limit);
  }
  return (await pipelineResults(pipeline)).flatMap((reply) => scripts.pendingPage.decode(reply, tier));
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
