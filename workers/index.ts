// Starts the BullMQ workers of this process (the `worker` role), and its
// redelivery sweep.
import { Worker } from 'bullmq';
import type { Context } from '../src/context.js';
import { Publisher } from '../src/push/publisher.js';
import { createRedis } from '../src/redis/connection.js';
import { QUEUE, cappedBackoff } from '../src/queues.js';
import { delayedProcessor } from './delayed.worker.js';
import { eventsProcessor } from './events.worker.js';
import { RedeliverySweep } from './fast.worker.js';
import { maintenanceProcessor } from './maintenance.worker.js';

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
    prefix: ctx.keys.queuePrefix,
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
  const workerCtx: Context = { ...ctx, redis: storeRedis, publisher: new Publisher(storeRedis, ctx.keys, logger) };
  const workers = [
    new Worker(QUEUE.events, eventsProcessor(workerCtx), { ...common, concurrency: config.workerConcurrency }),
    new Worker(QUEUE.maintenance, maintenanceProcessor(workerCtx), { ...common, concurrency: 1 }),
    new Worker(QUEUE.delayed, delayedProcessor(workerCtx), { ...common, concurrency: config.workerConcurrency }),
  ];
  for (const w of workers) {
    w.on('failed', (job, err) => logger.error({ queue: w.name, job: job?.id, err: err.message }, 'job failed'));
    w.on('error', (err) => logger.warn({ queue: w.name, err: err.message }, 'worker error'));
    w.on('completed', (job) => {
      if (job.finishedOn !== undefined && job.processedOn !== undefined) {
        ctx.metrics.jobDuration.observe({ queue: w.name }, (job.finishedOn - job.processedOn) / 1000);
      }
    });
  }
  const redelivery = new RedeliverySweep(workerCtx);
  redelivery.start();
  return {
    close: async () => {
      await redelivery.stop();
      await Promise.all(workers.map((w) => w.close()));
      await connection.quit().catch(() => connection.disconnect());
      await storeRedis.quit().catch(() => storeRedis.disconnect());
    },
  };
}
