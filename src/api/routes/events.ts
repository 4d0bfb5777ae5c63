// POST /v1/events: one event or {"events": [...]}, validated whole, then enqueued.
// A 202 is sent only once the jobs are in Redis; one bad event rejects the batch.
import { Router, type RequestHandler } from 'express';
import type { Context } from '../../context.js';
import { acceptEvent, eventSchema, type EventInput } from '../../events/event-schema.js';
import { enqueueEvents } from '../../queues.js';
import type { Authenticator } from '../../auth/authenticator.js';
import { requireApiKey } from '../auth.js';
import { PayloadTooLargeError, ValidationError, fromZod } from '../../errors.js';
import type { RateLimiter } from '../rate-limiter.js';

/** What ingestion uses. */
export type EventsRouteDeps = Pick<Context, 'config' | 'clock' | 'metrics' | 'queues'>;

export function eventsRouter(ctx: EventsRouteDeps, auth: Authenticator, limiter: RateLimiter, body: RequestHandler): Router {
  const router = Router();
  router.post('/v1/events', requireApiKey(auth), limiter.middleware(), body, async (req, res) => {
    const inputs = parseEvents(req.body, ctx.config.maxBatch, ctx.config.maxEventBytes);
    const now = ctx.clock.now();
    const accepted = inputs.map((e) => acceptEvent(e, now));
    await enqueueEvents(ctx.queues.events, accepted, ctx.config.ingestChunk, {
      connection: ctx.queues.connection,
      replicas: ctx.config.redisWait,
    });
    ctx.metrics.eventsAccepted.inc(accepted.length);
    res.status(202).json({ accepted: accepted.length });
  });
  return router;
}

function parseEvents(body: unknown, maxBatch: number, maxEventBytes: number): EventInput[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('the body must be a JSON object (Content-Type: application/json): an event or {"events": [...]}');
  }
  if (!('events' in body)) return [parseOne(body, '', maxEventBytes)];

  const { events, ...rest } = body as { events: unknown };
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new ValidationError(`${extra}: unknown field next to "events"`, extra);
  if (!Array.isArray(events)) throw new ValidationError('events: must be an array of events', 'events');
  if (events.length === 0) throw new ValidationError('events: must hold at least one event', 'events');
  if (events.length > maxBatch) {
    throw new PayloadTooLargeError(`events: at most ${maxBatch} events per request, got ${events.length}`, 'events');
  }
  return events.map((e, i) => parseOne(e, `events[${i}]`, maxEventBytes));
}

function parseOne(raw: unknown, path: string, maxEventBytes: number): EventInput {
  const parsed = eventSchema.safeParse(raw);
  if (!parsed.success) throw fromZod(parsed.error, path);
  const size = Buffer.byteLength(JSON.stringify(raw));
  if (size > maxEventBytes) {
    const where = path === '' ? 'the event' : path;
    throw new PayloadTooLargeError(`${where}: ${size} bytes, at most ${maxEventBytes} per event`, path || undefined);
  }
  return parsed.data;
}
