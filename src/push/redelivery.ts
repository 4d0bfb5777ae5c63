// The redelivery schedule: a push puts its users here (uid -> when to check
// whether they acked); workers/fast.worker.ts sweeps it.
import type { RedisClient } from '../redis/client.js';
import type { Keys } from '../redis/keys.js';
import { pipelineResults } from '../redis/pipeline.js';

/**
 * After a push to these users: their next check is due `ackTimeoutMs` from now
 * (sooner than one already scheduled, never later), and their attempts start over.
 */
export async function scheduleRedelivery(redis: RedisClient, keys: Keys, uids: Iterable<string>, ackTimeoutMs: number): Promise<void> {
  const list = [...uids];
  if (list.length === 0) return;
  const due = Date.now() + ackTimeoutMs;
  await pipelineResults(
    redis
      .pipeline()
      .zadd(keys.redeliverDue, 'LT', ...list.flatMap((uid) => [due, uid]))
      .hdel(keys.redeliverAttempts, ...list),
  );
}
