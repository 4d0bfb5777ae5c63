// Unread counts: read them, and mark messages read (by category, all, or by id).
// Counts only ever change inside the Lua scripts; every answer carries the
// absolute counts, never a delta, so a client cannot drift.
import type { RedisClient } from '../redis/client.js';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';

export interface UnreadCounts {
  uid: string;
  total: number;
  /** Categories with at least one unread message; a missing category has none. */
  counts: Record<string, number>;
}

export type ReadTarget = { all: true } | { categories: string[] } | { ids: string[] };

export function toCounts(uid: string, flat: (string | number)[]): UnreadCounts {
  const counts: Record<string, number> = {};
  let total = 0;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const n = Number(flat[i + 1]);
    if (n > 0) {
      counts[String(flat[i])] = n;
      total += n;
    }
  }
  return { uid, total, counts };
}

export async function getUnread(redis: RedisClient, keys: Keys, uid: string): Promise<UnreadCounts> {
  const flat = await redis.hgetall(keys.user(uid).unread);
  return toCounts(uid, Object.entries(flat).flat());
}

export async function markRead(
  redis: RedisClient,
  keys: Keys,
  uid: string,
  target: ReadTarget,
): Promise<UnreadCounts & { changed: number }> {
  const k = keys.user(uid);
  const reply =
    'all' in target
      ? await scripts.read(redis, k, 'all', [])
      : 'categories' in target
        ? await scripts.read(redis, k, 'category', target.categories)
        : await scripts.read(redis, k, 'ids', target.ids);
  return { ...toCounts(uid, reply.counts), changed: reply.changed };
}
