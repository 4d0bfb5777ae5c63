// The `events` processor: apply a chunk of accepted events (Lua, one round trip),
// then tally. The push to online users plugs in here with the gateway role.
import type { Job } from 'bullmq';
import type { Context } from '../src/context.js';
import type { EventsJob } from '../src/queues.js';
import { applyEvents } from '../src/store/apply-events.js';
import { addStats } from '../src/store/stats.js';

export function eventsProcessor(ctx: Context) {
  return async (job: Job<EventsJob>): Promise<{ applied: number; duplicates: number }> => {
    const result = await applyEvents(ctx.redis, ctx.keys, job.data.events);
    if (result.pending > 0) await addStats(ctx.redis, ctx.keys, { fast: result.pending });
    ctx.metrics.eventsApplied.inc(result.applied);
    ctx.metrics.eventsDuplicate.inc(result.duplicates);
    // Where the gateway joins: result.byUser lists each user's new messages.
    return { applied: result.applied, duplicates: result.duplicates };
  };
}
