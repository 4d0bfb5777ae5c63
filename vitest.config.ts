import { defineConfig } from 'vitest/config';

/**
 * Test files that run on one Redis only: they bring a Redis (or cluster) of
 * their own, or test what Redis does not touch (the CLI, the logger, pure
 * functions). Every other file runs twice: on one Redis and on a Redis Cluster.
 */
const ONE_TOPOLOGY = [
  // their own Redis or cluster
  'test/api/errors.test.ts',
  'test/redis/restart.test.ts',
  'test/redis/sentinel.test.ts',
  'test/redis/cross-slot.test.ts',
  'test/redis/cluster-failover.test.ts',
  'test/redis/replica-wait.test.ts',
  'test/redis/connection.test.ts',
  'test/workers/retried-push.test.ts',
  'test/helpers/redis-cluster.test.ts',
  // the run's one Redis, by its URL
  'test/auth/token-resolver.test.ts',
  'test/events/stored-message.test.ts',
  'test/redis/scripts.test.ts',
  // no store, or the same whatever the store
  'test/chat/image-type.test.ts',
  'test/cli.test.ts',
  'test/config.test.ts',
  'test/logger.test.ts',
  'test/protocol/node-message.test.ts',
  'test/redis/keys.test.ts',
  'test/redis/local-server.test.ts',
  'test/start.test.ts',
  'test/store/chat-uploads.test.ts',
  // the pages in Chromium: what they show does not depend on the store's topology
  'test/web/**',
];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more files at once only makes each one slower and flakier.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'redis' } },
      // The same tests on the run's Redis Cluster (test/helpers/service.ts, Topology).
      { extends: true, test: { name: 'cluster', exclude: ONE_TOPOLOGY, env: { PMQ_TEST_TOPOLOGY: 'cluster' } } },
    ],
  },
});
