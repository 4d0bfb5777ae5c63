// The `delayed` processor: on login, drains what the gateway did not send at
// once: the rest of the fast tier (past its first page), then the delayed tier,
// each in seq order and in pages, while the user stays online.
import type { Job } from 'bullmq';
import type { Context } from '../src/context.js';
import { dedupId, type DelayedJob } from '../src/queues.js';
import { pendingPage, type PendingTier } from '../src/store/pending.js';

/** What a drain uses. */
export type DrainDeps = Pick<Context, 'redis' | 'keys' | 'queues' | 'publisher' | 'metrics' | 'config'>;

export function delayedProcessor(ctx: DrainDeps) {
  return async (job: Job<DelayedJob>): Promise<{ drained: number }> => {
    const { uid, fastAfter } = job.data;
    // A login from now on needs a drain of its own: this one may already have sent
    // pages before that socket registered. Until now, this drain covers it.
    await ctx.queues.delayed.removeDeduplicationKey(dedupId.delayed(uid));
    let drained = 0;
    const tiers: [PendingTier, number][] = fastAfter >= 0 ? [['fast', fastAfter], ['delayed', 0]] : [['delayed', 0]];
    for (const [tier, start] of tiers) {
      let after = start;
      for (;;) {
        const page = await pendingPage(ctx.redis, ctx.keys, uid, tier, after, ctx.config.pageSize);
        if (page.length === 0) break;
        const online = await ctx.publisher.deliver([{ uid, messages: page }]);
        if (online.size === 0) return { drained };
        drained += page.length;
        after = page.at(-1)!.seq;
        if (page.length < ctx.config.pageSize) break;
      }
    }
    ctx.metrics.drained.inc(drained);
    return { drained };
  };
}
