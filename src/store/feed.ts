// One page of a user's feed, newest first, each message with its state and tier.
import type { RedisClient } from '../redis/client.js';
import type { MessageState, MessageView } from '../events/stored-message.js';
import { toView } from '../events/stored-message.js';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';

export interface FeedPage {
  uid: string;
  messages: MessageView[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  next_before: number | null;
}

export async function listFeed(
  redis: RedisClient,
  keys: Keys,
  uid: string,
  before: number | undefined,
  limit: number,
): Promise<FeedPage> {
  const { entries, nextBefore } = await scripts.listFeed(redis, keys.user(uid), before ?? '+inf', limit);
  const messages = entries.map(({ stored, seq, tier, unread }) => {
    const state: MessageState = !unread ? 'read' : tier === null ? 'delivered' : 'pending';
    return toView(stored, seq, state, tier);
  });
  return { uid, messages, next_before: nextBefore };
}
