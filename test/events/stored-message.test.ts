// The stored message's JSON layout is a contract with the Lua scripts, which read
// a few of its fields without decoding it (lua/includes/stored-message.lua). For
// any event the schema accepts, the include, run on a real Redis, reads back the
// fields that toStoredMessage wrote.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { acceptEvent, eventSchema } from '../../src/events/event-schema.js';
import { toStoredMessage } from '../../src/events/stored-message.js';
import { anyJson, anyText } from '../helpers/arbitraries.js';

const include = readFileSync(new URL('../../src/redis/lua/includes/stored-message.lua', import.meta.url), 'utf8');
const lua = `${include}\nlocal c, counted, at = storedMessage(ARGV[1])\nreturn { c or false, counted and 1 or 0, at }`;

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.quit());

const anyText40 = anyText(40);
const json = anyJson(40);

const input = fc.record(
  {
    id: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/),
    type: fc.stringMatching(/^[a-z][a-z0-9_.-]{0,31}$/),
    to: fc.constantFrom('u1', 'u2'),
    from: fc.constantFrom('u1', 'u2'),
    title: anyText40,
    body: anyText40,
    data: fc.dictionary(anyText40, json, { maxKeys: 4 }),
  },
  { requiredKeys: ['id', 'type', 'to'] },
);

describe('the stored message as the Lua scripts read it', () => {
  it('reads category, counted and accepted_at of any accepted event', async () => {
    await fc.assert(
      fc.asyncProperty(input, fc.integer({ min: 0, max: 8.64e15 }), async (raw, now) => {
        const parsed = eventSchema.safeParse(raw);
        expect(parsed.success).toBe(true);
        const stored = toStoredMessage(acceptEvent(parsed.data!, now));
        const [category, counted, acceptedAt] = (await redis.eval(lua, 0, JSON.stringify(stored))) as [string, number, number];
        expect({ category, counted: counted === 1, acceptedAt }).toEqual({
          category: stored.category,
          counted: stored.counted,
          acceptedAt: stored.accepted_at,
        });
      }),
      { numRuns: 300 },
    );
  });
});
