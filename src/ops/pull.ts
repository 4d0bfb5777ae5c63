// A client asks for its pending messages again (WS' `pull`: it suspects a gap):
// a page of each tier, oldest tier first, and the counts.
import type { RedisClient } from '../redis/client.js';
import type { Config } from '../config.js';
import type { Keys } from '../redis/keys.js';
import type { MessageView } from '../events/stored-message.js';
import { pendingPage } from '../store/pending.js';
import { getUnread, type UnreadCounts } from '../store/unread.js';

export interface Pulled {
  /** The delayed tier's page, then the fast tier's, each in seq order. */
  messages: MessageView[];
  unread: UnreadCounts;
}

export interface PullDeps {
  redis: RedisClient;
  keys: Keys;
  config: Pick<Config, 'pageSize'>;
}

export async function pull({ redis, keys, config }: PullDeps, uid: string): Promise<Pulled> {
  const [unread, fast, delayed] = await Promise.all([
    getUnread(redis, keys, uid),
    pendingPage(redis, keys, uid, 'fast', 0, config.pageSize),
    pendingPage(redis, keys, uid, 'delayed', 0, config.pageSize),
  ]);
  return { messages: [...delayed, ...fast], unread };
}
