// Whether an `agent:<id>` is registered: a field of the chat's agents hash, which
// the admin API writes (HSET agents agent:<id> <json>). Read here by whoever must
// refuse an agent no admin has made (POST /v1/tokens).
import type { RedisClient } from '../redis/client.js';
import type { Keys } from '../redis/keys.js';

/** `uid` is the full user id, `agent:7`: the hash's fields are user ids. */
export async function isRegisteredAgent(redis: RedisClient, keys: Keys, uid: string): Promise<boolean> {
  return (await redis.hexists(keys.chatRouting.agents, uid)) === 1;
}
