// The `events` processor: apply a chunk of accepted events (Lua, one round trip
// that also says where each user is online), then push the pending messages to the
// users who are, with their counts, and schedule a redelivery check for them.
import type { Job } from 'bullmq';
import type { Context } from '../src/context.js';
import type { LocatedDelivery } from '../src/push/publisher.js';
import type { EventsJob } from '../src/queues.js';
import { scheduleRedelivery } from '../src/push/redelivery.js';
import { applyEvents } from '../src/store/apply-events.js';

/** What applying and pushing a chunk uses. */
export type EventsDeps = Pick<Context, 'redis' | 'keys' | 'stats' | 'metrics' | 'publisher' | 'clock' | 'config'>;

export function eventsProcessor(ctx: EventsDeps) {
  return async (job: Job<EventsJob>): Promise<{ applied: number; duplicates: number; stillPending: number; pushed: number }> => {
    // How long the job waited for a worker: with accepted_to_publish, where a
    // push's latency goes (the queue and the event loop, or the apply and publish).
    ctx.metrics.pushLatency.observe({ stage: 'queued' }, Math.max(0, Date.now() - job.timestamp) / 1000);
    const result = await applyEvents(ctx.redis, ctx.keys, job.data.events, ctx.config.redisWait);
    ctx.stats.add({ applied: result.applied, fast: result.pending });
    ctx.metrics.eventsApplied.inc(result.applied);
    ctx.metrics.eventsDuplicate.inc(result.duplicates);

    // New pending messages are pushed, and so are duplicates still in the fast
    // tier: this may be the retry of an attempt that applied them and then failed
    // or died before its push (or its redelivery schedule). Pushed twice, the
    // client drops the second by id; acked, a duplicate is not pending and is not
    // pushed; a self-comment is nobody's news.
    const deliveries: LocatedDelivery[] = [];
    for (const [uid, u] of result.byUser) {
      if (u.nodes.length > 0 && u.pending.length > 0) {
        deliveries.push({ uid, messages: u.pending, nodes: u.nodes, ...(u.unread && { unread: u.unread }) });
      }
    }
    const online = await ctx.publisher.send(deliveries);
    if (online.size > 0) {
      // Events of one POST share accepted_at; the oldest of the job is the worst case.
      const acceptedAt = Math.min(...job.data.events.map((e) => e.accepted_at));
      ctx.metrics.pushLatency.observe({ stage: 'accepted_to_publish' }, Math.max(0, ctx.clock.now() - acceptedAt) / 1000);
      if (ctx.config.redeliverMax > 0) await scheduleRedelivery(ctx.redis, ctx.keys, online, ctx.config.ackTimeoutMs);
    }
    ctx.metrics.deliveries.inc(online.size);
    return { applied: result.applied, duplicates: result.duplicates, stillPending: result.stillPending, pushed: online.size };
  };
}
