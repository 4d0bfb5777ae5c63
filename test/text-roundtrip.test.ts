// Any text the main site sends, lone surrogates and control characters included,
// goes through every step and comes back the same (made well-formed once, at the
// edge): POST -> push -> feed -> read -> tier move -> drain on login -> purge.
// fast-check draws the text; each run is a fresh user on one real service.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyJson, anyText } from './helpers/arbitraries.js';
import { runMaintenance } from './helpers/maintenance.js';
import { ManualClock } from './helpers/manual-clock.js';
import { startTestService, waitFor, type TestService } from './helpers/service.js';
import { connectUser } from './helpers/ws-client.js';

const DAY = 24 * 3600_000;

let t: TestService;
const clock = new ManualClock();
beforeAll(async () => {
  t = await startTestService({ clock, roles: ['api', 'gateway', 'worker'] });
});
afterAll(async () => {
  await t.stop();
});

const text = anyText(30);
const json = anyJson(30);

/** What PMQ promises to keep of a JSON value: every string well-formed, as JSON carries it. */
function expected(v: unknown): unknown {
  const wf = (x: unknown): unknown =>
    typeof x === 'string'
      ? x.toWellFormed()
      : Array.isArray(x)
        ? x.map(wf)
        : typeof x === 'object' && x !== null
          ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k.toWellFormed(), wf(y)]))
          : x;
  return JSON.parse(JSON.stringify(wf(v)));
}

let run = 0;

describe('text through every step', () => {
  it('round-trips random strings', async () => {
    await fc.assert(
      fc.asyncProperty(text, text, fc.dictionary(text, json, { maxKeys: 4 }), async (title, body, data) => {
        const uid = `rt${++run}`;
        const id = `m${run}`;
        const want = expected({ title, body, data }) as { title: string; body: string; data: object };
        const content = (m: { title: unknown; body: unknown; data: unknown }) => ({ title: m.title, body: m.body, data: m.data });

        // push
        const first = await connectUser(t, uid, { autoAck: false });
        expect((await t.http('POST', '/v1/events', { body: { id, type: 'comment', to: uid, from: 'x', title, body, data } })).status).toBe(202);
        const [pushed] = await first.waitForMessages(1);
        expect(content(pushed!)).toEqual(want);
        first.close();

        // feed, then read by id
        const feed = async () => (await t.http('GET', `/v1/users/${uid}/messages`)).body.messages;
        expect(content((await feed())[0])).toEqual(want);
        expect(await t.http('POST', `/v1/users/${uid}/read`, { body: { ids: [id] } })).toMatchObject({ status: 200, body: { total: 0 } });

        // tier move, then the delayed tier drained on the next login
        clock.advance(2 * DAY);
        expect(await runMaintenance(t, 'tier-move')).toMatchObject({ failed: 0 });
        expect((await feed())[0]).toMatchObject({ tier: 'delayed', state: 'read' });
        const second = await connectUser(t, uid, { autoAck: true });
        const [drained] = await second.waitForMessages(1);
        expect(content(drained!)).toEqual(want);
        await waitFor(async () => (await feed())[0].state === 'read' && (await feed())[0].tier === null, 10_000, 'the drained message acked');
        second.close();

        // purge
        clock.advance(16 * DAY);
        expect(await runMaintenance(t, 'purge')).toMatchObject({ failed: 0 });
        expect(await feed()).toEqual([]);
      }),
      { numRuns: 20 },
    );
  });
});
