// The scripts' replies decoded into named fields, in the cases no service test
// reaches: a feed entry whose message is gone, a redelivery claim's attempt, a
// lock held by someone else.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { acceptEvent } from '../../src/events/event-schema.js';
import { Keys } from '../../src/redis/keys.js';
import { defineScripts, scripts } from '../../src/redis/scripts.js';
import { applyEvents } from '../../src/store/apply-events.js';

let redis: Redis;
const keys = new Keys(`t${randomBytes(5).toString('hex')}`);

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  defineScripts(redis);
});
afterAll(() => redis.quit());

describe('decoded script replies', () => {
  it('lists a feed page without an entry whose message is gone, each with its seq, tier and unread', async () => {
    const now = Date.now();
    const event = (id: string, type: string, from: string) => acceptEvent({ id, type, to: 'f1', from }, now);
    await applyEvents(redis, keys, [
      event('e1', 'comment', 'x'),
      event('e2', 'comment', 'x'),
      event('e3', 'notice', 'x'),
      event('e4', 'comment', 'f1'), // a self-comment: not counted
    ]);
    const k = keys.user('f1');
    expect(await scripts.read(redis, k, 'ids', ['e2'])).toEqual({ changed: 1, counts: ['comment', '1', 'notice', '1'] });
    await redis.hdel(k.msg, 'e3');

    const page = await scripts.listFeed(redis, k, '+inf', 3);
    expect(page.entries.map(({ stored, seq, tier, unread }) => ({ id: stored.id, seq, tier, unread }))).toEqual([
      { id: 'e4', seq: 4, tier: null, unread: false },
      { id: 'e2', seq: 2, tier: 'fast', unread: false },
    ]);
    expect(page.nextBefore).toBe(2);
    const last = await scripts.listFeed(redis, k, 2, 3);
    expect(last.entries.map((e) => ({ id: e.stored.id, unread: e.unread }))).toEqual([{ id: 'e1', unread: true }]);
    expect(last.nextBefore).toBeNull();
  });

  it('claims a redelivery with its attempt, and a last attempt with no next check', async () => {
    const shard = keys.shardOf('r1');
    await redis.zadd(shard.redeliverDue, 1000, 'r1');
    expect(await scripts.claimRedeliveries(redis, shard, 1000, 10, 50, 2)).toEqual([{ uid: 'r1', attempt: 1, nextAt: 1100 }]);
    expect(await scripts.claimRedeliveries(redis, shard, 1100, 10, 50, 2)).toEqual([{ uid: 'r1', attempt: 2, nextAt: -1 }]);
    expect(await scripts.claimRedeliveries(redis, shard, 5000, 10, 50, 2)).toEqual([]);
  });

  it('renews or releases a lock only for its holder', async () => {
    const lock = `${keys.cronLeader}:test`;
    await redis.set(lock, 'a', 'PX', 60_000);
    expect(await scripts.renewLock(redis, lock, 'b', 0)).toBe(false);
    expect(await redis.get(lock)).toBe('a');
    expect(await scripts.renewLock(redis, lock, 'a', 0)).toBe(true);
    expect(await redis.get(lock)).toBeNull();
  });
});
