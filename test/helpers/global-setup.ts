// Starts the test run's own redis-server and, for the project of the tests on
// Redis Cluster (vitest.config.ts), a cluster of three masters; hands their
// addresses to every test file of the project.
import type { TestProject } from 'vitest/node';
import { startRedisCluster, type TestCluster } from './redis-cluster.js';
import { startRedisServer, type TestRedis } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** The cluster's seed nodes, as PMQ_REDIS_CLUSTER_NODES takes them. */
    redisCluster: string;
  }
}

/** What the setups started (once per project): stopped at the end. */
const running: (TestRedis | TestCluster)[] = [];

export async function setup(project: TestProject): Promise<void> {
  const withCluster = project.name === 'cluster';
  const [redis, cluster] = await Promise.all([startRedisServer(), withCluster ? startRedisCluster({ masters: 3 }) : undefined]);
  running.push(redis, ...(cluster ? [cluster] : []));
  project.provide('redisUrl', redis.url);
  project.provide('redisCluster', cluster?.seedList ?? '');
}

export async function teardown(): Promise<void> {
  await Promise.all(running.splice(0).map((r) => r.stop()));
}
