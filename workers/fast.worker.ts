// The `fast` processor: a user's pushed fast-tier messages that are still not
// acked after the ack timeout are pushed again, with backoff (the timeout
// doubled at each attempt), up to PMQ_REDELIVER_MAX attempts. What is still
// pending then waits for the next login or pull.
import type { Job } from 'bullmq';
import type { Context } from '../src/context.js';
import { dedupId, scheduleRedelivery, type FastJob } from '../src/queues.js';
import { pendingPage } from '../src/store/pending.js';

export function fastProcessor(ctx: Context) {
  return async (job: Job<FastJob>): Promise<{ redelivered: number }> => {
    const { uid, attempt } = job.data;
    const { config, queues } = ctx;
    const pending = await pendingPage(ctx.redis, ctx.keys, uid, 'fast', 0, config.pageSize);
    if (pending.length === 0 || attempt > config.redeliverMax) return { redelivered: 0 };
    const online = await ctx.publisher.deliver([{ uid, messages: pending, withUnread: false }]);
    if (online.size === 0) return { redelivered: 0 };
    ctx.metrics.redeliveries.inc(pending.length);
    if (attempt < config.redeliverMax) {
      // This job holds the user's deduplication id until it completes: release it
      // so that the next attempt can be scheduled.
      await queues.fast.removeDeduplicationKey(dedupId.fast(uid));
      await scheduleRedelivery(queues.fast, [uid], config.ackTimeoutMs * 2 ** attempt, attempt + 1);
    }
    return { redelivered: pending.length };
  };
}
