// What the main site may POST to /v1/events, and what it is turned into.
// No I/O here: the route validates with these schemas and enqueues the result.
import { z } from 'zod';
import { MAX_DATA_DEPTH, nestingDepth, wellFormedJson } from './well-formed.js';

export const USER_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
export const EVENT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** An event's `type` is its unread category. */
export const CATEGORY = /^[a-z][a-z0-9_.-]{0,31}$/;

/** A string field whose error says "is required" when it is missing. */
const str = () => z.string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') });

/** Free text, made well-formed (a lone surrogate becomes U+FFFD: see well-formed.ts). */
const text = (max = Infinity) =>
  z
    .string({ error: 'must be a string' })
    .max(max, { error: `must be at most ${max} characters` })
    .transform((s) => s.toWellFormed());

export const userId = str().regex(USER_ID, {
  error: 'must match ^[A-Za-z0-9_.:-]{1,64}$',
});

const createdAt = z.union(
  [
    z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }),
    z.number().int().nonnegative().max(8.64e15),
  ],
  { error: 'must be an ISO 8601 date-time or epoch milliseconds' },
);

export const eventSchema = z.strictObject(
  {
    id: str().regex(EVENT_ID, { error: 'must match ^[A-Za-z0-9_.:-]{1,128}$' }),
    type: str().regex(CATEGORY, { error: 'must match ^[a-z][a-z0-9_.-]{0,31}$ (comment, notice, ...)' }),
    to: userId,
    from: userId.optional(),
    title: text(512).optional(),
    body: text().optional(),
    data: z
      .record(z.string(), z.unknown(), { error: 'must be an object' })
      .refine((d) => nestingDepth(d) <= MAX_DATA_DEPTH, { error: `must nest at most ${MAX_DATA_DEPTH} levels deep` })
      .transform((d) => wellFormedJson(d) as Record<string, unknown>)
      .optional(),
    created_at: createdAt.optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? undefined : 'must be an object') },
);

export type EventInput = z.infer<typeof eventSchema>;

/**
 * An event as it travels in a job: validated, normalised, stamped with the time
 * PMQ accepted it. Tiers and purges age from `accepted_at`, not from the main
 * site's `created_at`, so that a late or back-dated event still gets its full day
 * in the fast tier and its full retention.
 */
export interface AcceptedEvent {
  id: string;
  category: string;
  to: string;
  from?: string;
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
  created_at: string;
  accepted_at: number;
}

export function acceptEvent(input: EventInput, now: number): AcceptedEvent {
  const createdAt =
    input.created_at === undefined
      ? new Date(now).toISOString()
      : new Date(input.created_at).toISOString();
  return {
    id: input.id,
    category: input.type,
    to: input.to,
    ...(input.from !== undefined && { from: input.from }),
    ...(input.title !== undefined && { title: input.title }),
    ...(input.body !== undefined && { body: input.body }),
    ...(input.data !== undefined && { data: input.data }),
    created_at: createdAt,
    accepted_at: now,
  };
}

/** A message counts as unread and waits for delivery unless the user caused it. */
export function isCounted(e: Pick<AcceptedEvent, 'from' | 'to'>): boolean {
  return e.from !== e.to;
}
