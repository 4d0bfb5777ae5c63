// The `events` processor: apply a chunk of accepted events (Lua, one round trip),
// then push the new messages to their users who are online, with their counts,
// and schedule a redelivery check for them.
import type { Job } from 'bullmq';
import type { Context } from '../src/context.js';
import { isCounted, type AcceptedEvent } from '../src/events/event-schema.js';
import { toStoredMessage, toView } from '../src/events/stored-message.js';
import type { Delivery } from '../src/push/publisher.js';
import { scheduleRedelivery, type EventsJob } from '../src/queues.js';
import { applyEvents } from '../src/store/apply-events.js';

export function eventsProcessor(ctx: Context) {
  return async (job: Job<EventsJob>): Promise<{ applied: number; duplicates: number; pushed: number }> => {
    const events = job.data.events;
    const result = await applyEvents(ctx.redis, ctx.keys, events);
    ctx.stats.add({ fast: result.pending });
    ctx.metrics.eventsApplied.inc(result.applied);
    ctx.metrics.eventsDuplicate.inc(result.duplicates);

    // Only what is new and pending is pushed: a duplicate was pushed the first
    // time (or waits in the pending set), a self-comment is nobody's news.
    const byId = new Map<string, AcceptedEvent>();
    for (const e of events) byId.set(`${e.to}\u0000${e.id}`, e);
    const deliveries: Delivery[] = [];
    for (const [uid, fresh] of result.byUser) {
      const messages = fresh
        .map(({ id, seq }) => ({ e: byId.get(`${uid}\u0000${id}`)!, seq }))
        .filter(({ e }) => isCounted(e))
        .map(({ e, seq }) => toView(toStoredMessage(e), seq, 'pending', 'fast'));
      if (messages.length > 0) deliveries.push({ uid, messages, withUnread: true });
    }
    const online = await ctx.publisher.deliver(deliveries);
    if (online.size > 0) await scheduleRedelivery(ctx.queues.fast, online, ctx.config.ackTimeoutMs);
    ctx.metrics.deliveries.inc(online.size);
    return { applied: result.applied, duplicates: result.duplicates, pushed: online.size };
  };
}
