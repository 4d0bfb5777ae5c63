// The main-site token resolver across gateway nodes: two resolvers on one Redis
// stand for two nodes (each is what one gateway process holds), a real HTTP main
// site answers. What the main site sees is the number of calls.
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuthUnavailableError, TokenResolver } from '../../src/auth/token-resolver.js';
import { Keys } from '../../src/redis/keys.js';
import { defineScripts } from '../../src/redis/scripts.js';
import { waitFor } from '../helpers/service.js';
import { startMainSite, type MainSite } from '../helpers/ws-raw.js';

let redis: Redis;
let site: MainSite;
/** Tokens whose call fails once (500), then succeeds. */
const failOnce = new Set<string>();
const keys = new Keys(`t${randomBytes(5).toString('hex')}`);

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  defineScripts(redis);
  // `ok~<uid>` is valid; every answer takes 200 ms, long enough for all the
  // resolutions of a test to overlap.
  site = await startMainSite((token) => {
    if (failOnce.delete(token)) return { status: 500, delayMs: 200 };
    const uid = /^ok~(.+)$/.exec(token)?.[1];
    return uid === undefined ? { status: 401, delayMs: 200 } : { status: 200, uid, delayMs: 200 };
  });
});
afterAll(async () => {
  await site.close();
  redis.disconnect();
});

function node(id: string, timeoutMs = 3000): TokenResolver {
  return new TokenResolver(
    redis,
    keys,
    { url: site.url, timeoutMs, cacheSeconds: 60, jitterSeconds: 10, negativeSeconds: 5 },
    id,
  );
}

/** The uid a node resolves a token to (its cache life is the expiry tests' business). */
const uidOf = (r: TokenResolver, token: string) => r.resolveFor(token).then((x) => x.uid);

describe('TokenResolver', () => {
  it('makes one call for a token missed on two nodes at once', async () => {
    const [a, b] = [node('a'), node('b')];
    const token = 'ok~alice';
    const uids = await Promise.all(Array.from({ length: 10 }, (_, i) => uidOf(i % 2 === 0 ? a : b, token)));
    expect(uids).toEqual(Array(10).fill('alice'));
    expect(site.callsFor(token)).toBe(1);
    // The lock went with the call; the answer is in the cache.
    expect(await redis.exists(keys.authLock(hashOf(token)))).toBe(0);
    expect(await redis.get(keys.authCache(hashOf(token)))).toBe('alice');
  });

  it('shares an invalid answer across nodes too', async () => {
    const [a, b] = [node('a'), node('b')];
    const token = 'forged';
    const results = await Promise.allSettled([uidOf(a, token), uidOf(b, token), uidOf(b, token)]);
    for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'unauthorized' } });
    expect(site.callsFor(token)).toBe(1);
  });

  it("calls itself when the other node's call fails, and both nodes learn what the second call said", async () => {
    const [a, b] = [node('a'), node('b')];
    const token = 'ok~bob';
    failOnce.add(token);
    const first = uidOf(a, token);
    // b must find the lock taken by a: it waits on a's call, then makes its own.
    await waitFor(async () => (await redis.get(keys.authLock(hashOf(token))))?.startsWith('a:'), 5000, "a's lock");
    const second = uidOf(b, token);
    await expect(first).rejects.toBeInstanceOf(AuthUnavailableError);
    expect(await second).toBe('bob');
    expect(site.callsFor(token)).toBe(2);
    expect(await uidOf(a, token)).toBe('bob'); // cached now
    expect(site.callsFor(token)).toBe(2);
  });

  it('gives up waiting on another node after its own timeout, with a clear error', async () => {
    const token = 'ok~carol';
    // A node that took the lock and died: it will never write the cache.
    await redis.set(keys.authLock(hashOf(token)), 'dead-node:1', 'PX', 60_000);
    await expect(uidOf(node('b', 300), token)).rejects.toThrow(/timed out waiting for another node/);
    expect(site.callsFor(token)).toBe(0);
  });
});

/** The cache and lock keys are by the token's hash, as the resolver makes it. */
function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
