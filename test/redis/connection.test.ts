// What redis/connection.ts checks at start: a Redis that may evict keys is
// named in a warning, on one Redis and on each master of a cluster.
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { checkEvictionPolicy, createRedis, untilReady } from '../../src/redis/connection.js';
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';

const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

/** A logger whose lines are kept, parsed. */
function recordingLogger() {
  const lines: { level: number; msg: string; policy?: string; redis?: string }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), warnings: () => lines.filter((l) => l.level === 40) };
}

describe('checkEvictionPolicy', () => {
  it('warns about one Redis that may evict, and says nothing of one that may not', async () => {
    const server: TestRedis = await startRedisServer();
    stops.push(() => server.stop());
    const { logger, warnings } = recordingLogger();
    const redis = createRedis({ url: server.url }, 'check', logger);
    stops.push(() => redis.quit());

    await checkEvictionPolicy(redis, logger);
    expect(warnings()).toEqual([]);

    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await checkEvictionPolicy(redis, logger);
    expect(warnings()).toMatchObject([{ policy: 'allkeys-lru', msg: expect.stringMatching(/set it to "noeviction"/) }]);
  });

  it('asks each master of a cluster, and names the one that may evict', async () => {
    const cluster: TestCluster = await startRedisCluster({ masters: 3 });
    stops.push(() => cluster.stop());
    const { logger, warnings } = recordingLogger();
    const redis = createRedis({ url: 'redis://127.0.0.1', cluster: cluster.seeds }, 'check', logger);
    stops.push(() => redis.quit());
    await untilReady(redis);

    await checkEvictionPolicy(redis, logger);
    expect(warnings()).toEqual([]);

    const [, second] = await cluster.masters();
    const admin = new Redis(second!.port, '127.0.0.1');
    stops.push(() => admin.quit());
    await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
    await checkEvictionPolicy(redis, logger);
    expect(warnings()).toMatchObject([{ policy: 'volatile-lru', redis: `127.0.0.1:${second!.port}` }]);
  });
});
