import { describe, expect, it } from 'vitest';
import { Keys, USER_KEY_SUFFIX } from '../../src/redis/keys.js';

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
});
