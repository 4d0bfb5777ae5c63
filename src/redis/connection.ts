// ioredis clients. A process holds one command client (the API, the stores, the
// queue producers) plus the connections BullMQ opens for its workers.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import { defineScripts } from './scripts.js';

export function createRedis(url: string, name: string, logger: Logger, extra: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    // Keep retrying a lost Redis for as long as it takes: the roles carry on by
    // themselves when it comes back. /readyz reports the outage meanwhile.
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.warn({ err: err.message, connection: name }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({ connection: name }, 'redis connection restored');
    down = false;
  });
  defineScripts(redis);
  return redis;
}

/**
 * Warns when Redis may evict keys: an evicted key is a lost event or a wrong count.
 * Managed Redis services often refuse CONFIG; that is not an error here.
 */
export async function checkEvictionPolicy(redis: Redis, logger: Logger): Promise<void> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy !== undefined && policy !== 'noeviction') {
      logger.warn(
        { policy },
        `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict PMQ's keys (lost events, wrong counts); set it to "noeviction"`,
      );
    }
  } catch (err) {
    logger.debug({ err: (err as Error).message }, 'could not read maxmemory-policy');
  }
}
