// Text that Redis' Lua could not decode, and data nested past any sane depth:
// made well-formed or refused at the edge, so that nothing accepted can stall a
// later step. Seen from the API, the metrics and the maintenance results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMaintenance } from '../helpers/maintenance.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { drained, startTestService, type TestService } from '../helpers/service.js';

const DAY = 24 * 3600_000;
/** An emoji cut in half by the main site: `"Nice post 😀".slice(0, 11)`. */
const CUT = 'Nice post 😀'.slice(0, 11);

let t: TestService;
const clock = new ManualClock();

beforeAll(async () => {
  t = await startTestService({ clock, env: { PMQ_MAINT_USERS_PER_ROUND: '2', PMQ_MAINT_MAX_ROUNDS: '10' } });
});
afterAll(async () => {
  await t.stop();
});

const post = (body: unknown) => t.http('POST', '/v1/events', { body });

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

describe('text at the edge', () => {
  it('turns lone surrogates into U+FFFD everywhere, keys of data included, and the message goes through every step', async () => {
    const uid = 'edge-sur';
    expect(CUT.isWellFormed()).toBe(false);
    const r = await post({
      events: [
        { id: 's1', type: 'comment', to: uid, from: 'x', title: CUT, body: `\udc00${CUT}`, data: { [CUT]: [CUT, { k: CUT }] } },
        { id: 's2', type: 'comment', to: uid, from: 'x', title: 'plain' },
      ],
    });
    expect(r.status).toBe(202);
    await drained(t);
    const fixed = 'Nice post \ufffd';
    const feed = (await t.http('GET', `/v1/users/${uid}/messages`)).body.messages as Record<string, unknown>[];
    expect(feed.find((m) => m.id === 's1')).toMatchObject({
      title: fixed,
      body: `\ufffd${fixed}`,
      data: { [fixed]: [fixed, { k: fixed }] },
    });

    // A read naming it applies whole.
    const read = await t.http('POST', `/v1/users/${uid}/read`, { body: { ids: ['s2', 's1'] } });
    expect(read).toMatchObject({ status: 200, body: { total: 0, counts: {} } });
  });

  it('refuses data nested deeper than 32 levels with 400 naming the field, at any depth, and keeps 32', async () => {
    expect((await post({ id: 'd32', type: 'notice', to: 'edge-deep', data: nested(32) })).status).toBe(202);
    for (const depth of [33, 1001, 10_000]) {
      // Written by hand: JSON.stringify itself overflows the stack on 10,000 levels.
      const data = `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
      const one = await t.http('POST', '/v1/events', { raw: `{"id":"d-bad","type":"notice","to":"edge-deep","data":${data}}` });
      expect(one.status).toBe(400);
      expect(one.body.error).toMatchObject({ code: 'invalid_request', field: 'data' });
      expect(one.body.error.message).toMatch(/32/);
    }
    const batch = await post({ events: [{ id: 'ok', type: 'notice', to: 'edge-deep' }, { id: 'd2', type: 'notice', to: 'edge-deep', data: { list: [nested(40)] } }] });
    expect(batch.status).toBe(400);
    expect(batch.body.error.field).toBe('events[1].data');
    await drained(t);
    // Nothing of the refused batch was applied: only d32 is there.
    const feed = (await t.http('GET', '/v1/users/edge-deep/messages')).body.messages as { id: string }[];
    expect(feed.map((m) => m.id)).toEqual(['d32']);
  });
});

describe('messages stored before the edge was fixed', () => {
  // An earlier version stored JSON.stringify of a lone surrogate as is: the escape
  // `\ud83d`, which Lua's cjson refuses to decode.
  async function legacyMessage(uid: string, id: string): Promise<void> {
    expect((await post({ id, type: 'comment', to: uid, from: 'x', title: 'placeholder' })).status).toBe(202);
    await drained(t);
    const k = t.service.ctx.keys.user(uid);
    const stored = await t.service.ctx.redis.hget(k.msg, id);
    await t.service.ctx.redis.hset(k.msg, id, stored!.replace('"placeholder"', JSON.stringify(CUT)));
    expect(await t.service.ctx.redis.hget(k.msg, id)).toContain('\\ud83d"');
  }

  it('reads them by id, whole, and ages and purges them like any other', async () => {
    const uid = 'edge-legacy';
    await legacyMessage(uid, 'l1');
    expect((await post({ id: 'l2', type: 'comment', to: uid, from: 'x' })).status).toBe(202);
    await drained(t);

    const read = await t.http('POST', `/v1/users/${uid}/read`, { body: { ids: ['l2', 'l1'] } });
    expect(read).toMatchObject({ status: 200, body: { total: 0 } });

    clock.advance(2 * DAY);
    await runMaintenance(t, 'tier-move');
    const tiers = (await t.http('GET', `/v1/users/${uid}/messages`)).body.messages.map((m: { tier: string }) => m.tier);
    expect(tiers).toEqual(['delayed', 'delayed']);
    clock.advance(15 * DAY);
    await runMaintenance(t, 'purge');
    expect((await t.http('GET', `/v1/users/${uid}/messages`)).body.messages).toEqual([]);
  });
});

describe('a maintenance round with one user it cannot process', () => {
  it('logs, counts and skips that user, and goes on for everyone else', async () => {
    const redis = t.service.ctx.redis;
    const users = ['edge-m1', 'edge-m2', 'edge-m3', 'edge-m4', 'edge-m5'];
    // Older than everything left by other tests, so that these are first in the index.
    expect((await post({ events: users.map((to) => ({ id: `m-${to}`, type: 'comment', to, from: 'x' })) })).status).toBe(202);
    await drained(t);
    // The second user's pending set is not a zset: every script on it fails (WRONGTYPE).
    const broken = t.service.ctx.keys.user('edge-m2');
    await redis.del(broken.fast);
    await redis.set(broken.fast, 'not a zset');
    await redis.zadd(t.service.ctx.keys.shardOf('edge-m2').fastIndex, 0, 'edge-m2');

    clock.advance(2 * DAY);
    const r = await runMaintenance(t, 'tier-move');
    expect(r).toMatchObject({ failed: 1 });
    for (const uid of users.filter((u) => u !== 'edge-m2')) {
      const [m] = (await t.http('GET', `/v1/users/${uid}/messages`)).body.messages;
      expect(m.tier).toBe('delayed');
    }
    const metrics = (await t.http('GET', '/metrics', { auth: null })).body as string;
    expect(metrics).toMatch(/pmq_maintenance_failures_total\{task="tier-move"\} 1\b/);

    // Purge too: the broken user's feed is intact, its fast set is not.
    await redis.del(broken.feed);
    await redis.set(broken.feed, 'not a zset');
    clock.advance(16 * DAY);
    const p = await runMaintenance(t, 'purge');
    expect(p).toMatchObject({ failed: 1 });
    for (const uid of users.filter((u) => u !== 'edge-m2')) {
      expect((await t.http('GET', `/v1/users/${uid}/messages`)).body.messages).toEqual([]);
    }
  });
});
