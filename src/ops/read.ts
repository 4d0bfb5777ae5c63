// Marking messages read, whatever the front end (HTTP's POST .../read, WS' `read`
// frame): the store call, and the user's sockets told of the new counts, here once.
import type { RedisClient } from '../redis/client.js';
import type { Publisher } from '../push/publisher.js';
import type { Keys } from '../redis/keys.js';
import { markRead, type ReadTarget, type UnreadCounts } from '../store/unread.js';

export interface ReadDeps {
  redis: RedisClient;
  keys: Keys;
  publisher: Pick<Publisher, 'unread'>;
}

/** Marks `target` read; returns the counts that follow. */
export async function read(deps: ReadDeps, uid: string, target: ReadTarget): Promise<UnreadCounts> {
  const { changed, ...counts } = await markRead(deps.redis, deps.keys, uid, target);
  // Every socket of the user, on every node, gets the new counts; a read that
  // changed nothing tells nobody (2,000 sockets x 200 such reads were 400,000 frames).
  if (changed > 0) await deps.publisher.unread(uid, counts);
  return counts;
}
