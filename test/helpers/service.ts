// A real PMQ service in the test process: real Redis (the run's private one), real
// BullMQ, real HTTP on a free port. Each call gets its own key prefix, so its
// keys and queues are its own, as BullMQ's tests take a fresh queue name.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/events/clock.js';
import { createLogger } from '../../src/logger.js';
import { redisTargetOf } from '../../src/redis/connection.js';
import { startService, type Service, type ServiceRole } from '../../src/service.js';

export const API_KEY = 'test-api-key-0123456789';
export const TOKEN_SECRET = 'test-token-secret-0123456789abcdef0123456789';

export interface TestService {
  service: Service;
  config: Config;
  url: string;
  /** fetch against the service; JSON body in, parsed JSON out (any: tests assert its shape). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  http(method: string, path: string, opts?: { body?: unknown; auth?: string | null; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** Where a test's service keeps its data: the run's one Redis, or its Redis Cluster. */
export type Topology = 'redis' | 'cluster';

/** The topologies the tests that must hold on both run on, with their names. */
export const TOPOLOGIES: [name: string, topology: Topology][] = [
  ['one Redis', 'redis'],
  ['Redis Cluster', 'cluster'],
];

/** The environment that points a service at a topology of the run. */
export function topologyEnv(topology: Topology): Record<string, string> {
  return topology === 'cluster' ? { PMQ_REDIS_CLUSTER_NODES: inject('redisCluster') } : {};
}

/**
 * The topology of a test that names none: one Redis, or the cluster when
 * PMQ_TEST_TOPOLOGY=cluster (`npm run test:cluster` runs the whole suite so).
 */
export const DEFAULT_TOPOLOGY: Topology = process.env.PMQ_TEST_TOPOLOGY === 'cluster' ? 'cluster' : 'redis';

/** A test that brings its own Redis (REDIS_URL or sentinels in `extra`) runs on it, whatever the topology. */
export function testEnv(extra: Record<string, string> = {}, topology: Topology = DEFAULT_TOPOLOGY): Record<string, string> {
  const ownRedis = extra.REDIS_URL !== undefined || extra.PMQ_REDIS_SENTINELS !== undefined;
  return {
    PORT: '0',
    REDIS_URL: inject('redisUrl'),
    ...topologyEnv(ownRedis ? 'redis' : topology),
    PMQ_API_KEYS: API_KEY,
    PMQ_TOKEN_SECRET: TOKEN_SECRET,
    PMQ_KEY_PREFIX: `t${randomBytes(5).toString('hex')}`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PMQ_STALLED_INTERVAL_MS: '1000',
    PMQ_LOCK_MS: '2000',
    // The pages from another build than dist/web, when the run names one.
    ...(process.env.PMQ_WEB_DIR !== undefined && { PMQ_WEB_DIR: process.env.PMQ_WEB_DIR }),
    ...extra,
  };
}

export async function startTestService(
  opts: { roles?: ServiceRole[]; clock?: Clock; env?: Record<string, string>; topology?: Topology } = {},
): Promise<TestService> {
  // Chat images go to a directory of this service's own (unless the test names
  // one), as its keys have their own prefix: no test sees another's uploads.
  const uploadDir = opts.env?.PMQ_CHAT_UPLOAD_DIR === undefined ? await mkdtemp(join(tmpdir(), 'pmq-test-uploads-')) : undefined;
  const removeUploadDir = async () => {
    if (uploadDir !== undefined) await rm(uploadDir, { recursive: true, force: true });
  };
  let config: Config;
  let service: Service;
  try {
    config = loadConfig(testEnv({ ...(uploadDir !== undefined && { PMQ_CHAT_UPLOAD_DIR: uploadDir }), ...opts.env }, opts.topology));
    service = await startService({
      config,
      redisTarget: redisTargetOf(config, config.redisUrl!),
      roles: opts.roles ?? ['api', 'worker'],
      clock: opts.clock,
      logger: createLogger(config.logLevel, config.nodeId),
    });
  } catch (err) {
    await removeUploadDir();
    throw err;
  }
  const url = `http://127.0.0.1:${service.port}`;
  return {
    service,
    config,
    url,
    http: async (method, path, o = {}) => {
      const headers: Record<string, string> = { ...o.headers };
      const auth = o.auth === undefined ? API_KEY : o.auth;
      if (auth !== null) headers.authorization = `Bearer ${auth}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (metrics): keep the text
      }
      return { status: res.status, body: parsed };
    },
    stop: async () => {
      await service.stop();
      await removeUploadDir();
    },
  };
}

/** Polls until `check` returns a truthy value, or fails after `timeoutMs`. */
type Falsy = undefined | null | false | 0 | '';

export async function waitFor<T>(
  check: () => Promise<T | Falsy> | T | Falsy,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v as T;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the events queue has nothing waiting, delayed or running. */
export async function drained(t: TestService, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const c = await t.service.ctx.queues.events.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((n) => n === 0);
    },
    timeoutMs,
    'the events queue to drain',
  );
}

/**
 * Waits until the events and drain queues have nothing waiting, delayed or
 * running: every push those jobs make has been published.
 */
export async function pushesIdle(t: TestService, timeoutMs = 30_000): Promise<void> {
  const { events, delayed } = t.service.ctx.queues;
  await waitFor(
    async () => {
      const counts = await Promise.all([events, delayed].map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
      return counts.every((c) => Object.values(c).every((n) => n === 0));
    },
    timeoutMs,
    'the events and drain queues to be idle',
  );
}
