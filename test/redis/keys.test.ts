import { describe, expect, it } from 'vitest';
import { DEFAULT_SHARDS, Keys, USER_KEY_SUFFIX } from '../../src/redis/keys.js';
import { slotOf } from '../../src/redis/slot-groups.js';

/** What Redis Cluster hashes: the first {...} with something inside, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('Keys', () => {
  const keys = new Keys('pmq');

  it("builds every key of a user from its base and a suffix, as the multi-user scripts do", () => {
    for (const uid of ['42', 'a:b.c-1_Z', 'x'.repeat(64)]) {
      const base = keys.userBase(uid);
      const user = keys.user(uid);
      for (const name of Object.keys(USER_KEY_SUFFIX) as (keyof typeof USER_KEY_SUFFIX)[]) {
        expect(user[name]).toBe(base + USER_KEY_SUFFIX[name]);
      }
      expect(Object.keys(user).sort()).toEqual(Object.keys(USER_KEY_SUFFIX).sort());
    }
  });

  it("puts all of a user's keys, and its base, on the user's hash slot", () => {
    const uid = 'a:b.c-1';
    const tags = new Set([keys.userBase(uid), ...Object.values(keys.user(uid))].map(hashTag));
    expect([...tags]).toEqual([`u:${uid}`]);
    expect(hashTag(keys.userBase('43'))).not.toBe(hashTag(keys.userBase('42')));
  });

  it('gives BullMQ one tagged prefix on one Redis, and each queue its own slot on a cluster', () => {
    const names = ['events', 'maintenance', 'delayed'];
    // One Redis: the prefix PMQ always had, so that an upgrade finds the queued jobs.
    expect(names.map((n) => keys.queue(n))).toEqual(names.map((name) => ({ prefix: '{pmq}', name })));
    const clustered = new Keys('pmq', DEFAULT_SHARDS, true);
    const slots = names.map((n) => {
      const q = clustered.queue(n);
      expect(q.name).toBe(n);
      // BullMQ's keys are `<prefix>:<name>:<suffix>`: every one on the slot of the prefix's tag.
      const jobKey = `${q.prefix}:${q.name}:some-job-id`;
      expect(slotOf(jobKey)).toBe(slotOf(`${q.prefix}:${q.name}:wait`));
      return slotOf(jobKey);
    });
    expect(new Set(slots).size).toBe(names.length);
  });

  it('splits the global keys into shards, the keys a script takes together on one slot', () => {
    expect(keys.shards).toBe(DEFAULT_SHARDS);
    const shards = keys.allShards.slice(0, keys.shards);
    for (const shard of shards) {
      expect(hashTag(shard.fastIndex)).toBe(hashTag(shard.feedIndex));
      expect(hashTag(shard.redeliverDue)).toBe(hashTag(shard.redeliverAttempts));
    }
    // Each shard a slot of its own, for each kind of key.
    for (const kind of ['fastIndex', 'redeliverDue', 'stats'] as const) {
      expect(new Set(shards.map((s) => slotOf(s[kind]))).size).toBe(keys.shards);
    }
    // The sweeps read the keys of before the shards last.
    expect(keys.allShards.at(-1)).toBe(keys.unsharded);
    expect(keys.unsharded).toEqual({
      fastIndex: 'pmq:{idx}:fast',
      feedIndex: 'pmq:{idx}:feed',
      redeliverDue: 'pmq:{redeliver}:due',
      redeliverAttempts: 'pmq:{redeliver}:attempts',
      stats: 'pmq:{stats}',
    });
  });

  it("puts a user in the shard of their slot, and users evenly over the shards", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 16_000; i++) {
      const uid = `user-${i}`;
      const shard = keys.shardOf(uid);
      expect(keys.shardOf(uid)).toBe(shard);
      expect(shard).toBe(keys.allShards[slotOf(keys.userBase(uid)) % keys.shards]);
      counts.set(shard.fastIndex, (counts.get(shard.fastIndex) ?? 0) + 1);
    }
    expect(counts.size).toBe(keys.shards);
    for (const n of counts.values()) expect(n).toBeGreaterThan(800);
    expect(counts.has(keys.unsharded.fastIndex)).toBe(false);
    const one = new Keys('pmq', 1);
    expect(new Set(['a', 'b', 'c'].map((u) => one.shardOf(u)))).toEqual(new Set([one.allShards[0]]));
  });
});
