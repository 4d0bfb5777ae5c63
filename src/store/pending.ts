// Delivery acknowledgements: an acked message leaves the pending set.
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';
import { addStats } from './stats.js';

export async function ackMessages(
  redis: Redis,
  keys: Keys,
  uid: string,
  ids: string[],
): Promise<{ fast: number; delayed: number }> {
  const [fast, delayed] = await scripts.ack(redis, keys.user(uid), ids);
  if (fast + delayed > 0) await addStats(redis, keys, { fast: -fast, delayed: -delayed });
  return { fast, delayed };
}
