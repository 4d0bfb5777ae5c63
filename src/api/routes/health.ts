// GET /healthz (the process answers), GET /readyz (Redis, the queues and Redis'
// memory are fine), GET /metrics (Prometheus).
import { Router } from 'express';
import type { Context } from '../../context.js';

/** Redis used past this share of maxmemory is "not ready": writes are about to fail. */
const MEMORY_LIMIT_SHARE = 0.9;
const READY_TIMEOUT_MS = 1000;

/** What the probes and /metrics read. */
export type HealthDeps = Pick<Context, 'config' | 'metrics' | 'queues' | 'redis'>;

export function healthRouter(ctx: HealthDeps): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', node: ctx.config.nodeId });
  });

  router.get('/readyz', async (_req, res) => {
    const checks = await withTimeout(readiness(ctx), READY_TIMEOUT_MS).catch((err: Error) => ({
      redis: `failed: ${err.message}`,
    }));
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks });
  });

  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', ctx.metrics.registry.contentType);
    res.send(await ctx.metrics.registry.metrics());
  });

  return router;
}

async function readiness(ctx: HealthDeps): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  await ctx.redis.ping();
  checks.redis = 'ok';
  await ctx.queues.events.getJobCounts('waiting');
  checks.queues = 'ok';
  const info = await ctx.redis.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  const max = Number(/maxmemory:(\d+)/.exec(info)?.[1] ?? 0);
  checks.memory = max > 0 && used > max * MEMORY_LIMIT_SHARE ? `used ${used} of maxmemory ${max}` : 'ok';
  return checks;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
