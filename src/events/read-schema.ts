// What a read or an ack names, the same over HTTP and over /ws: message ids
// (1 to 1000) and categories (one, or a list of up to 100).
import { z } from 'zod';
import { MAX_IDS } from '../protocol/limits.js';
import { CATEGORY, EVENT_ID } from './event-schema.js';


export const messageIds = z
  .array(z.string({ error: 'must be a string' }).regex(EVENT_ID, { error: 'must be a message id' }), {
    error: 'must be an array of message ids',
  })
  .min(1, { error: 'must hold at least one id' })
  .max(MAX_IDS, { error: `must hold at most ${MAX_IDS} ids` });

const category = z.string({ error: 'must be a string' }).regex(CATEGORY, { error: 'must be a category' });

export const categories = z.union([category, z.array(category).min(1).max(100)], {
  error: 'must be a category or an array of categories',
});

/** `"comment"` or `["comment", "notice"]` as a list. */
export function categoryList(c: z.infer<typeof categories>): string[] {
  return Array.isArray(c) ? c : [c];
}
