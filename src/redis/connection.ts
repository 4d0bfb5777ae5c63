// ioredis clients. A process holds one command client (the API, the stores, the
// queue producers) plus the connections BullMQ opens for its workers. One Redis,
// Sentinel or Cluster: the same code on each (redis/slot-groups.ts cuts what
// spans users by slot where that matters).
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { isCluster, mastersOf, type RedisClient } from './client.js';
import { defineScripts } from './scripts.js';

type HostPort = { host: string; port: number };

/**
 * Where Redis is: a URL, Redis Sentinels that name the master, or the seed nodes
 * of a Redis Cluster. With sentinels or a cluster the URL gives only the
 * password, TLS (and, with sentinels, the database); its host is not used.
 */
export interface RedisTarget {
  url: string;
  sentinels?: HostPort[];
  /** The master's name at the sentinels (`sentinel monitor <name> ...`). */
  sentinelMaster?: string;
  cluster?: HostPort[];
  /** Announced cluster address -> the address to connect to. */
  natMap?: Record<string, HostPort>;
}

/**
 * The target of a configuration: its cluster or its sentinels when it names
 * some (the URL then only for the password, db and TLS), else the URL.
 */
export function redisTargetOf(
  config: Pick<Config, 'redisSentinels' | 'redisSentinelMaster' | 'redisClusterNodes' | 'redisClusterNatMap'>,
  url: string,
): RedisTarget {
  if (config.redisClusterNodes !== undefined) {
    return { url, cluster: config.redisClusterNodes, ...(config.redisClusterNatMap && { natMap: config.redisClusterNatMap }) };
  }
  if (config.redisSentinels === undefined) return { url };
  return { url, sentinels: config.redisSentinels, sentinelMaster: config.redisSentinelMaster };
}

/** Keep retrying a lost Redis for as long as it takes: the roles carry on by themselves when it comes back. */
const retry = (times: number) => Math.min(times * 200, 2000);

export function createRedis(target: RedisTarget, name: string, logger: Logger, extra: RedisOptions = {}): RedisClient {
  return watched(target.cluster === undefined ? createSingle(target, name, extra) : createCluster(target, target.cluster, name, extra), name, logger);
}

/**
 * The connection a gateway node listens on (see gateway/node-channel.ts): never
 * gives up on a command; on a cluster, with a sharded subscriber per master.
 */
export function createSubscriber(target: RedisTarget, name: string, logger: Logger): RedisClient {
  const extra: RedisOptions = { maxRetriesPerRequest: null };
  return watched(
    target.cluster === undefined ? createSingle(target, name, extra) : createCluster(target, target.cluster, name, extra, { shardedSubscribers: true }),
    name,
    logger,
  );
}

function watched(redis: RedisClient, name: string, logger: Logger): RedisClient {
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
 * A cluster client. What matters for PMQ (docs/operations.md, "Redis Cluster"):
 * reads stay on the masters (a replica may lag behind a write PMQ just made);
 * commands wait out a failover (MOVED, TRYAGAIN, CLUSTERDOWN are retried) rather
 * than fail; the URL's password and TLS apply to every node.
 */
function createCluster(target: RedisTarget, nodes: HostPort[], name: string, extra: RedisOptions, more: ClusterOptions = {}): Cluster {
  const url = new URL(target.url);
  const options: ClusterOptions = {
    scaleReads: 'master',
    // A connection that fails fast (a number of retries, the API's) fails at
    // once while the cluster is out of reach: a cluster client holds every
    // command meanwhile, without bound, where one Redis' gives up after its
    // retries (see untilReady for the start).
    enableOfflineQueue: typeof extra.maxRetriesPerRequest !== 'number',
    clusterRetryStrategy: retry,
    // A failover takes about cluster-node-timeout (15 s by default) and a moment
    // more: a command meanwhile is retried every half second, up to 64 times
    // (32 s), rather than given up after the default 16 tries.
    retryDelayOnFailover: 500,
    retryDelayOnClusterDown: 500,
    retryDelayOnTryAgain: 500,
    maxRedirections: 64,
    // After a failover, a pipeline sent on an old slot map comes back in parts
    // (MOVED for some commands only) and is not retried as a whole: the map is
    // asked for every second, not every five, to keep that window short.
    slotsRefreshInterval: 1000,
    ...more,
    ...(target.natMap && { natMap: target.natMap }),
    redisOptions: {
      connectionName: name,
      ...(url.username && { username: decodeURIComponent(url.username) }),
      ...(url.password && { password: decodeURIComponent(url.password) }),
      ...(url.protocol === 'rediss:' && { tls: {} }),
      retryStrategy: retry,
      ...extra,
    },
  };
  return new Cluster(nodes, options);
}

/**
 * Resolves once a cluster client knows the slots: a fail-fast one refuses
 * commands until then. One Redis resolves at once (its client queues them).
 */
export async function untilReady(redis: RedisClient): Promise<void> {
  if (!isCluster(redis) || redis.status === 'ready') return;
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
}

function createSingle(target: RedisTarget, name: string, extra: RedisOptions): Redis {
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
  // /readyz reports an outage meanwhile.
  return new Redis(target.url, { connectionName: name, retryStrategy: retry, ...sentinel, ...extra });
}

/**
 * Warns when Redis may evict keys: an evicted key is a lost event or a wrong count.
 * Managed Redis services often refuse CONFIG; that is not an error here.
 */
export async function checkEvictionPolicy(redis: RedisClient, logger: Logger): Promise<void> {
  // On a cluster each master has its own setting: one that evicts is enough to lose data.
  const nodes = mastersOf(redis);
  for (const node of nodes) {
    try {
      const reply = (await node.config('GET', 'maxmemory-policy')) as string[];
      const policy = reply[1];
      if (policy !== undefined && policy !== 'noeviction') {
        logger.warn(
          { policy, redis: `${node.options.host}:${node.options.port}` },
          `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict PMQ's keys (lost events, wrong counts); set it to "noeviction"`,
        );
      }
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'could not read maxmemory-policy');
    }
  }
}
