// The environment, validated at start: defaults, one message per wrong value.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('runs on defaults, with a one-off API key and secret outside production', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.redisUrl).toBeUndefined();
    expect(c.apiKeysGenerated).toBe(true);
    expect(c.apiKeys).toHaveLength(1);
    expect(c.tokenSecretGenerated).toBe(true);
    expect(c.fastTierMs).toBe(24 * 3600_000);
    expect(c.retentionMs).toBe(15 * 24 * 3600_000);
    expect(c.maxBatch).toBe(1000);
    expect(c.maxBodyBytes).toBe(1024 * 1024);
    expect(c.maxEventBytes).toBe(8192);
  });

  it('reads the fixed names', () => {
    const c = loadConfig({
      PORT: '9000',
      REDIS_URL: 'redis://r:6380/2',
      PMQ_API_KEYS: ' a-key , b-key,,',
      PMQ_TOKEN_SECRET: 'x'.repeat(32),
      LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({ port: 9000, redisUrl: 'redis://r:6380/2', apiKeys: ['a-key', 'b-key'], logLevel: 'debug' });
    expect(c.apiKeysGenerated).toBe(false);
    expect(c.tokenSecretGenerated).toBe(false);
  });

  it('names every wrong value at once', () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        REDIS_URL: 'not a url',
        PMQ_TOKEN_SECRET: 'short',
        LOG_LEVEL: 'loud',
        PMQ_CRON_PURGE: 'every day',
        PMQ_MAX_BATCH: '0',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    for (const name of ['PORT', 'REDIS_URL', 'PMQ_TOKEN_SECRET', 'LOG_LEVEL', 'PMQ_CRON_PURGE', 'PMQ_MAX_BATCH']) {
      expect(problems.some((p) => p.startsWith(`${name}:`)), name).toBe(true);
    }
    expect(problems).toHaveLength(6);
  });

  it('reads Redis Sentinels as host:port pairs, and refuses anything else', () => {
    expect(loadConfig({}).redisSentinels).toBeUndefined();
    const c = loadConfig({ PMQ_REDIS_SENTINELS: 's1:26379, 10.0.0.2:26380', PMQ_REDIS_SENTINEL_MASTER: 'pmq-main' });
    expect(c.redisSentinels).toEqual([
      { host: 's1', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
    ]);
    expect(c.redisSentinelMaster).toBe('pmq-main');
    expect(loadConfig({ PMQ_REDIS_SENTINELS: 's1:26379' }).redisSentinelMaster).toBe('mymaster');
    for (const bad of ['s1', 's1:26379,s2', ' , ', 'redis://s1:26379']) {
      expect(() => loadConfig({ PMQ_REDIS_SENTINELS: bad }), bad).toThrow(/PMQ_REDIS_SENTINELS: must/);
    }
  });

  it('reads Redis Cluster seeds and a NAT map, alone: not with Sentinels, nor with a database', () => {
    const c = loadConfig({
      PMQ_REDIS_CLUSTER_NODES: 'r1:7000,10.0.0.2:7001',
      PMQ_REDIS_CLUSTER_NAT_MAP: '10.0.0.2:7001=203.0.113.9:17001',
      REDIS_URL: 'redis://:pw@ignored:6379',
    });
    expect(c.redisClusterNodes).toEqual([
      { host: 'r1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
    expect(c.redisClusterNatMap).toEqual({ '10.0.0.2:7001': { host: '203.0.113.9', port: 17001 } });
    expect(() => loadConfig({ PMQ_REDIS_CLUSTER_NODES: 'r1:7000', PMQ_REDIS_SENTINELS: 's1:26379' })).toThrow(
      /PMQ_REDIS_CLUSTER_NODES: cannot be used with PMQ_REDIS_SENTINELS/,
    );
    expect(() => loadConfig({ PMQ_REDIS_CLUSTER_NODES: 'r1:7000', REDIS_URL: 'redis://r1:7000/3' })).toThrow(/REDIS_URL: a cluster has only database 0/);
    expect(() => loadConfig({ PMQ_REDIS_CLUSTER_NAT_MAP: '10.0.0.2:7001=h:1' })).toThrow(/PMQ_REDIS_CLUSTER_NAT_MAP: only with/);
  });

  it('waits for no replica by default, and for 0 to 16 within 10 ms to 60 s when asked', () => {
    expect(loadConfig({}).redisWait).toEqual({ replicas: 0, timeoutMs: 1000 });
    expect(loadConfig({ PMQ_REDIS_WAIT_REPLICAS: '1', PMQ_REDIS_WAIT_TIMEOUT_MS: '250' }).redisWait).toEqual({ replicas: 1, timeoutMs: 250 });
    for (const [name, bad] of [
      ['PMQ_REDIS_WAIT_REPLICAS', '17'],
      ['PMQ_REDIS_WAIT_REPLICAS', '-1'],
      ['PMQ_REDIS_WAIT_TIMEOUT_MS', '5'],
      ['PMQ_REDIS_WAIT_TIMEOUT_MS', 'soon'],
    ] as const) {
      expect(() => loadConfig({ [name]: bad }), `${name}=${bad}`).toThrow(new RegExp(`${name}:`));
    }
  });

  it('requires real keys and secret in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/PMQ_API_KEYS: required[\s\S]*PMQ_TOKEN_SECRET: required/);
  });

  it('refuses a fast tier as long as retention', () => {
    expect(() => loadConfig({ PMQ_FAST_TIER_SECONDS: '3600', PMQ_RETENTION_SECONDS: '3600' })).toThrow(/PMQ_FAST_TIER_SECONDS/);
  });
});
