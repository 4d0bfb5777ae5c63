// One page of a user's feed, newest first, each message with its state and tier.
import type { Redis } from 'ioredis';
import type { MessageState, MessageView, StoredMessage, Tier } from '../events/stored-message.js';
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
  redis: Redis,
  keys: Keys,
  uid: string,
  before: number | undefined,
  limit: number,
): Promise<FeedPage> {
  const reply = await scripts.listFeed(redis, keys.user(uid), before ?? '+inf', limit);
  const readmark = new Map<string, number>();
  const marks = reply[0] as string[];
  for (let i = 0; i + 1 < marks.length; i += 2) readmark.set(marks[i]!, Number(marks[i + 1]));

  const next = reply[1] as string;
  const messages: MessageView[] = [];
  for (let i = 2; i + 4 < reply.length; i += 5) {
    const seq = Number(reply[i + 1]);
    const raw = reply[i + 2] as string;
    if (raw === '') continue; // a feed entry without its message: mid-purge, skip it
    const stored = JSON.parse(raw) as StoredMessage;
    const tier = (reply[i + 3] as string) === '' ? null : (reply[i + 3] as Tier);
    const readOneByOne = Number(reply[i + 4]) === 1;
    const unread = stored.counted && seq > (readmark.get(stored.category) ?? 0) && !readOneByOne;
    const state: MessageState = !unread ? 'read' : tier === null ? 'delivered' : 'pending';
    messages.push(toView(stored, seq, state, tier));
  }
  return { uid, messages, next_before: next === '' ? null : Number(next) };
}
