// Starts the BullMQ workers of this process (the `worker` role), and its
// redelivery sweep.
import { Worker, type Processor } from 'bullmq';
import type { Context } from '../src/context.js';
import { Publisher } from '../src/push/publisher.js';
import { createRedis } from '../src/redis/connection.js';
import { QUEUE, cappedBackoff } from '../src/queues.js';
import { delayedProcessor } from './delayed.worker.js';
import { eventsProcessor } from './events.worker.js';
import { RedeliverySweep } from './fast.worker.js';
import { maintenanceProcessor } from './maintenance.worker.js';
import { webhookProcessor } from './webhook.worker.js';

export interface Workers {
  /** Stops taking jobs, lets the jobs in flight finish, closes the connections. */
  close(): Promise<void>;
}

export function startWorkers(ctx: Context): Workers {
  const { config, logger } = ctx;
  // BullMQ's blocking commands need a connection that never gives up on a command.
  const connection = createRedis(ctx.redisTarget, `${config.nodeId}:worker`, logger, { maxRetriesPerRequest: null });
  const common = {
    connection,
    lockDuration: config.lockMs,
    stalledInterval: config.stalledIntervalMs,
    // A job whose worker died is stalled; it is retried, not failed, however often.
    maxStalledCount: 1000,
    settings: { backoffStrategy: cappedBackoff },
  };
  // The processors' own commands go on a connection that, like BullMQ's, waits
  // for Redis to come back in an outage rather than fail and burn the job's
  // attempts; a separate one, so that its pipelines do not carry BullMQ's commands.
  const storeRedis = createRedis(ctx.redisTarget, `${config.nodeId}:store`, logger, { maxRetriesPerRequest: null });
  // The publisher too: a push after an apply waits out an outage with it, rather
  // than fail on the API's fail-fast connection and cost the job an attempt. The
  // stats buffer is the process' one (it only tallies in memory, and flushes on
  // its own connection).
  const publisher = new Publisher(storeRedis, ctx.keys, logger, ctx.clock, config.nodeTtlMs);
  const workerCtx: Context = { ...ctx, redis: storeRedis, publisher };
  // Each queue where Keys.queue puts it; logs and metrics name it as QUEUE does.
  const start = <D>(queue: string, processor: Processor<D>, concurrency: number) => {
    const at = ctx.keys.queue(queue);
    return { queue, worker: new Worker<D>(at.name, processor, { ...common, prefix: at.prefix, concurrency }) };
  };
  const workers = [
    start(QUEUE.events, eventsProcessor(workerCtx), config.workerConcurrency),
    start(QUEUE.maintenance, maintenanceProcessor(workerCtx), 1),
    start(QUEUE.delayed, delayedProcessor(workerCtx), config.workerConcurrency),
    // Without a webhook configured nothing is queued there: no worker either.
    ...(config.chat.webhookUrl === undefined ? [] : [start(QUEUE.webhooks, webhookProcessor(workerCtx), 2)]),
  ];
  for (const { queue, worker: w } of workers) {
    w.on('failed', (job, err) => logger.error({ queue, job: job?.id, err: err.message }, 'job failed'));
    w.on('error', (err) => logger.warn({ queue, err: err.message }, 'worker error'));
    w.on('completed', (job) => {
      if (job.finishedOn !== undefined && job.processedOn !== undefined) {
        ctx.metrics.jobDuration.observe({ queue }, (job.finishedOn - job.processedOn) / 1000);
      }
    });
  }
  const redelivery = new RedeliverySweep(workerCtx);
  redelivery.start();
  return {
    close: async () => {
      await redelivery.stop();
      await Promise.all(workers.map(({ worker }) => worker.close()));
      await connection.quit().catch(() => connection.disconnect());
      await storeRedis.quit().catch(() => storeRedis.disconnect());
    },
  };
}
