// ioredis clients. A process holds one command client (the API, the stores, the
// queue producers) plus the connections BullMQ opens for its workers.
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { defineScripts } from './scripts.js';

/**
 * Where Redis is: a URL, or Redis Sentinels that name the master. With sentinels
 * the URL gives only the master's password, database and TLS; its host is not used.
 */
export interface RedisTarget {
  url: string;
  sentinels?: { host: string; port: number }[];
  /** The master's name at the sentinels (`sentinel monitor <name> ...`). */
  sentinelMaster?: string;
}

/**
 * The target of a configuration: its sentinels when it names some (the URL then
 * only for the master's password, db and TLS), else the URL.
 */
export function redisTargetOf(config: Pick<Config, 'redisSentinels' | 'redisSentinelMaster'>, url: string): RedisTarget {
  if (config.redisSentinels === undefined) return { url };
  return { url, sentinels: config.redisSentinels, sentinelMaster: config.redisSentinelMaster };
}

export function createRedis(target: RedisTarget, name: string, logger: Logger, extra: RedisOptions = {}): Redis {
  const sentinel: RedisOptions =
    target.sentinels === undefined
      ? {}
      : {
          sentinels: target.sentinels,
          name: target.sentinelMaster,
          // Told by the sentinels that the master changed, reconnect at once.
          failoverDetector: true,
          // An old master that has become a replica refuses writes with READONLY
          // (the command did not run): reconnect, ask the sentinels, send it again.
          reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
        };
  const redis = new Redis(target.url, {
    connectionName: name,
    // Keep retrying a lost Redis for as long as it takes: the roles carry on by
    // themselves when it comes back. /readyz reports the outage meanwhile.
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...sentinel,
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
