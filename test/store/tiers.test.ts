// Fast tier -> delayed tier after a day, purge at fifteen days: with a moved clock,
// through the real maintenance queue and worker, seen from the pull API. A tier
// move or a purge counts every user's messages, and the clock ages them all: each
// test has a service (key prefix) and a clock of its own.
import { afterEach, describe, expect, it } from 'vitest';
import { runMaintenance } from '../helpers/maintenance.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { drained, startTestService, type TestService } from '../helpers/service.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** The running test's service and its clock. */
let t: TestService;
let clock: ManualClock;
const services: TestService[] = [];

/** Small batches by default, so that the bounds, not just the happy path, are exercised. */
async function start(env: Record<string, string> = { PMQ_MAINT_USERS_PER_ROUND: '3', PMQ_MAINT_MESSAGES_PER_USER: '4', PMQ_MAINT_MAX_ROUNDS: '100' }) {
  clock = new ManualClock();
  t = await startTestService({ clock, env });
  services.push(t);
}
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
});

async function post(events: object[]): Promise<void> {
  expect((await t.http('POST', '/v1/events', { body: { events } })).status).toBe(202);
  await drained(t);
}

async function tiers(uid: string): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const m of (await t.http('GET', `/v1/users/${uid}/messages?limit=100`)).body.messages) out[m.id] = m.tier;
  return out;
}

describe('delivery tiers', () => {
  it('moves pending messages older than a day to the delayed tier, in bounded batches', async () => {
    await start();
    const users = ['t1', 't2', 't3', 't4', 't5'];
    await post(users.flatMap((to) => Array.from({ length: 10 }, (_, i) => ({ id: `old-${to}-${i}`, type: 'comment', to, from: 'x' }))));
    clock.advance(12 * HOUR);
    await post(users.map((to) => ({ id: `young-${to}`, type: 'comment', to, from: 'x' })));
    // One acked old message: delivered messages are in no tier and do not move.
    await t.http('POST', '/v1/users/t1/ack', { body: { ids: ['old-t1-0'] } });

    expect(await runMaintenance(t, 'tier-move')).toMatchObject({ moved: 0 });
    clock.advance(13 * HOUR); // the old ones are 25 h old, the young ones 13 h
    const r = await runMaintenance(t, 'tier-move');
    expect(r).toMatchObject({ moved: 49, more: false });

    for (const uid of users) {
      const tier = await tiers(uid);
      expect(tier[`young-${uid}`]).toBe('fast');
      for (let i = 0; i < 10; i++) {
        expect(tier[`old-${uid}-${i}`]).toBe(uid === 't1' && i === 0 ? null : 'delayed');
      }
    }
    // Tiers are about delivery only: the unread counts are untouched.
    expect((await t.http('GET', '/v1/users/t2/unread')).body.total).toBe(11);

    clock.advance(12 * HOUR);
    expect(await runMaintenance(t, 'tier-move')).toMatchObject({ moved: 5 });
    expect(Object.values(await tiers('t3')).every((x) => x === 'delayed')).toBe(true);
  });

  it('stops at its bound and leaves the rest for the next run', async () => {
    await start({ PMQ_MAINT_USERS_PER_ROUND: '2', PMQ_MAINT_MESSAGES_PER_USER: '3', PMQ_MAINT_MAX_ROUNDS: '2' });
    await post(['b1', 'b2', 'b3'].flatMap((to) => Array.from({ length: 5 }, (_, i) => ({ id: `b-${i}`, type: 'notice', to }))));
    clock.advance(DAY + HOUR);
    const first = await runMaintenance(t, 'tier-move');
    expect(first.moved).toBeLessThan(15);
    expect(first.more).toBe(true);
    let total = first.moved as number;
    for (let i = 0; i < 10 && total < 15; i++) total += (await runMaintenance(t, 'tier-move')).moved as number;
    expect(total).toBe(15);
  });

  it('purges every message at fifteen days: feed, pending, unread', async () => {
    await start();
    // Other users' messages, a day older than pu's (one of them delivered): 55 to purge first.
    const older = ['o1', 'o2', 'o3', 'o4', 'o5'];
    await post(older.flatMap((to) => Array.from({ length: 11 }, (_, i) => ({ id: `older-${to}-${i}`, type: 'comment', to, from: 'x' }))));
    await t.http('POST', '/v1/users/o1/ack', { body: { ids: ['older-o1-0'] } });
    clock.advance(DAY);
    await post([
      { id: 'p-old-1', type: 'comment', to: 'pu', from: 'x' },
      { id: 'p-old-2', type: 'notice', to: 'pu' },
      { id: 'p-old-3', type: 'comment', to: 'pu', from: 'x' },
    ]);
    await t.http('POST', '/v1/users/pu/read', { body: { ids: ['p-old-3'] } });
    await t.http('POST', '/v1/users/pu/ack', { body: { ids: ['p-old-3'] } });
    clock.advance(10 * DAY);
    await post([{ id: 'p-new', type: 'comment', to: 'pu', from: 'x' }]);
    expect((await t.http('GET', '/v1/users/pu/unread')).body.total).toBe(3);

    clock.advance(5 * DAY - HOUR); // pu's old ones are 15 days less an hour old
    await runMaintenance(t, 'tier-move');
    // The other users' 55 messages are older still: they go now, pu's stay.
    expect(await runMaintenance(t, 'purge')).toMatchObject({ purged: 55, more: false });
    const before = (await t.http('GET', '/v1/users/pu/messages')).body.messages;
    expect(before.map((m: { id: string }) => m.id)).toEqual(['p-new', 'p-old-3', 'p-old-2', 'p-old-1']);

    clock.advance(2 * HOUR);
    expect(await runMaintenance(t, 'purge')).toMatchObject({ purged: 3, pending: 2, unread: 2, more: false });

    const feed = (await t.http('GET', '/v1/users/pu/messages')).body.messages;
    expect(feed.map((m: { id: string }) => m.id)).toEqual(['p-new']);
    expect((await t.http('GET', '/v1/users/pu/unread')).body).toEqual({ uid: 'pu', total: 1, counts: { comment: 1 } });
    // Nothing of the other users is left either.
    for (const uid of older) {
      expect((await t.http('GET', `/v1/users/${uid}/messages`)).body.messages).toEqual([]);
      expect((await t.http('GET', `/v1/users/${uid}/unread`)).body.total).toBe(0);
    }

    // The purge leaves nothing behind for pu but p-new.
    const k = t.service.ctx.keys.user('pu');
    const redis = t.service.ctx.redis;
    expect(await redis.zrange(k.seen, 0, -1)).toEqual(['p-new']);
    expect(await redis.hkeys(k.msg)).toEqual(['p-new']);
    expect(await redis.zrange(k.delayed, 0, -1)).toEqual(['p-new']);
    expect(await redis.scard(k.readids)).toBe(0);

    // The tallies of the hot paths reach Redis once a second; do not wait for it.
    await t.service.ctx.stats.flush();
    const metrics = (await t.http('GET', '/metrics', { auth: null })).body as string;
    expect(metrics).toMatch(/pmq_purged_total\{state="pending"\} [1-9]/);
    expect(metrics).toMatch(/pmq_pending_messages\{tier="delayed"\} 1\n/);
    expect(metrics).toMatch(/pmq_pending_messages\{tier="fast"\} 0\n/);
  });

  it('works off the index entries of a PMQ before the shards, and moves them into their own shard', async () => {
    await start();
    const { redis, keys } = t.service.ctx;
    const users = ['legacy-1', 'legacy-2', 'legacy-3', 'legacy-4'];
    await post(users.map((to) => ({ id: `l-${to}`, type: 'comment', to, from: 'x' })));
    // As the single keys of before would hold them: out of the shards, into {idx}.
    for (const uid of users) {
      for (const kind of ['fastIndex', 'feedIndex'] as const) {
        const score = await redis.zscore(keys.shardOf(uid)[kind], uid);
        expect(score).not.toBeNull();
        await redis.zrem(keys.shardOf(uid)[kind], uid);
        await redis.zadd(keys.unsharded[kind], score!, uid);
      }
    }
    expect(keys.unsharded.fastIndex).toBe(`${keys.prefix}:{idx}:fast`);

    clock.advance(DAY + HOUR);
    expect(await runMaintenance(t, 'tier-move')).toMatchObject({ moved: 4, more: false });
    for (const uid of users) expect((await tiers(uid))[`l-${uid}`]).toBe('delayed');
    expect(await redis.zcard(keys.unsharded.fastIndex)).toBe(0);

    clock.advance(15 * DAY);
    expect(await runMaintenance(t, 'purge')).toMatchObject({ purged: 4, more: false });
    for (const uid of users) expect((await t.http('GET', `/v1/users/${uid}/messages`)).body.messages).toEqual([]);
    expect(await redis.zcard(keys.unsharded.feedIndex)).toBe(0);
  });

  it('keeps the index entries of a user who still has messages in their own shard', async () => {
    await start();
    const { redis, keys } = t.service.ctx;
    await post([{ id: 'keep-old', type: 'comment', to: 'keeper', from: 'x' }]);
    const shard = keys.shardOf('keeper');
    await redis.zrem(shard.feedIndex, 'keeper');
    await redis.zadd(keys.unsharded.feedIndex, clock.now(), 'keeper');
    clock.advance(10 * DAY);
    await post([{ id: 'keep-new', type: 'comment', to: 'keeper', from: 'x' }]);
    clock.advance(5 * DAY + HOUR);
    expect(await runMaintenance(t, 'purge')).toMatchObject({ purged: 1 });
    expect(await redis.zscore(keys.unsharded.feedIndex, 'keeper')).toBeNull();
    expect(await redis.zscore(shard.feedIndex, 'keeper')).not.toBeNull();
    clock.advance(10 * DAY);
    expect(await runMaintenance(t, 'purge')).toMatchObject({ purged: 1 });
    expect((await t.http('GET', '/v1/users/keeper/messages')).body.messages).toEqual([]);
  });
});
