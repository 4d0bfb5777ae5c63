// What a client may send on /ws: JSON frames {"type": ...}, validated by these
// schemas (the gateway parses with them; the client library takes the types).
// docs/protocol.md lists them all.
import { z } from 'zod';
import { categories, messageIds as ids } from '../events/read-schema.js';
import { chatClientFrames } from './chat-frames.js';
import { MAX_TOKEN_CHARS } from './limits.js';

export const since = z
  .number({ error: 'must be a seq number' })
  .int({ error: 'must be a seq number' })
  .nonnegative({ error: 'must be a seq number' });

/** Also what `/ws?token=&since=` is checked against: the same limits either way. */
export const authFrame = z.strictObject({
  type: z.literal('auth'),
  token: z.string({ error: 'must be a string' }).min(1).max(MAX_TOKEN_CHARS),
  since: since.optional(),
});

const frames = [
  authFrame,
  z.strictObject({ type: z.literal('ack'), ids }),
  // read: all (neither field), by category, or by ids
  z
    .strictObject({
      type: z.literal('read'),
      ids: ids.optional(),
      category: categories.optional(),
    })
    .refine((f) => f.ids === undefined || f.category === undefined, {
      error: 'send ids or category, not both',
      path: ['category'],
    }),
  z.strictObject({ type: z.literal('pull') }),
  z.strictObject({ type: z.literal('ping') }),
  ...chatClientFrames,
] as const;

/** Every client frame's `type`, read off the schemas. */
export const CLIENT_FRAME_TYPES: ReadonlySet<string> = new Set(frames.map((f) => f.shape.type.value));
const typeList = [...CLIENT_FRAME_TYPES].join(', ');

export const clientFrame = z.discriminatedUnion('type', [...frames], { error: `type: must be one of ${typeList}` });

export type ClientFrame = z.infer<typeof clientFrame>;

/** The error message for a frame whose `type` is none of CLIENT_FRAME_TYPES. */
export function unknownTypeMessage(type: unknown): string {
  return `unknown frame type ${JSON.stringify(type)}: ${typeList}`;
}
