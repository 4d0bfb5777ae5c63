// The one type every module takes for Redis: one server (or the master Sentinel
// names), or a Redis Cluster. Most commands are the same on both; what spans
// users is cut by slot where it must be (redis/slot-groups.ts).
import { Cluster, type Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/** The servers that hold the data: each master of a cluster, or the one Redis (what INFO and CONFIG are asked of). */
export function mastersOf(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}
