// The BullMQ queues, their job data, and how jobs are added to them.
import { createHash } from 'node:crypto';
import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import type { AcceptedEvent } from './events/event-schema.js';

export const QUEUE = {
  /** chunks of accepted events -> workers/events.worker.ts */
  events: 'events',
  /** tier moves and purges, enqueued by cron -> workers/maintenance.worker.ts */
  maintenance: 'maintenance',
} as const;

export interface EventsJob {
  events: AcceptedEvent[];
}

export type MaintenanceTask = 'tier-move' | 'purge';

export interface MaintenanceJob {
  task: MaintenanceTask;
}

/** The backoff of a failed job: exponential from 0.5 s, capped at a minute, with jitter. */
export const CAPPED_BACKOFF = 'capped';
export function cappedBackoff(attemptsMade: number): number {
  const delay = Math.min(500 * 2 ** Math.max(0, attemptsMade - 1), 60_000);
  return Math.round(delay * (0.8 + Math.random() * 0.2));
}

// An events job is never given up. Its id is derived from its events, and BullMQ
// answers a re-post with the existing job whatever its state: a job left failed
// would swallow every later post of the same events, each answered 202 and never
// applied. So it is retried (backoff capped at a minute) until it succeeds; a job
// that keeps failing shows in pmq_queue_jobs{state="delayed"} and in the log.
// Finished jobs are removed by age and count so that Redis does not fill up.
const eventsJobOptions: DefaultJobOptions = {
  attempts: Number.MAX_SAFE_INTEGER,
  backoff: { type: CAPPED_BACKOFF },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};

// Maintenance jobs are idempotent and come again with the next tick.
const maintenanceJobOptions: DefaultJobOptions = {
  attempts: 3,
  backoff: { type: CAPPED_BACKOFF },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
};

export interface Queues {
  events: Queue<EventsJob>;
  maintenance: Queue<MaintenanceJob>;
  close(): Promise<void>;
}

export function createQueues(
  connection: ConnectionOptions,
  prefix: string,
  onError: (queue: string, err: Error) => void,
): Queues {
  const events = new Queue<EventsJob>(QUEUE.events, { connection, prefix, defaultJobOptions: eventsJobOptions });
  const maintenance = new Queue<MaintenanceJob>(QUEUE.maintenance, {
    connection,
    prefix,
    defaultJobOptions: maintenanceJobOptions,
  });
  // Without a listener BullMQ prints every connection error to stderr.
  events.on('error', (err) => onError(QUEUE.events, err));
  maintenance.on('error', (err) => onError(QUEUE.maintenance, err));
  return {
    events,
    maintenance,
    close: async () => {
      await Promise.all([events.close(), maintenance.close()]);
    },
  };
}

/**
 * The job id of a chunk of events, derived from its (recipient, event id) pairs:
 * posting the same events again names the same job, which BullMQ does not add twice
 * while it remembers it. Exactness does not rest on this: the seen-marks of the
 * apply script make a second job of the same events change nothing.
 */
export function chunkJobId(events: Pick<AcceptedEvent, 'to' | 'id'>[]): string {
  const hash = createHash('sha1');
  for (const e of events) hash.update(`${e.to}\u0000${e.id}\u0001`);
  return `ev-${hash.digest('hex')}`;
}

/** Splits accepted events into jobs of at most `chunk` events and adds them in one call. */
export async function enqueueEvents(queue: Queue<EventsJob>, events: AcceptedEvent[], chunk: number): Promise<void> {
  const jobs = [];
  for (let i = 0; i < events.length; i += chunk) {
    const part = events.slice(i, i + chunk);
    jobs.push({ name: 'apply', data: { events: part }, opts: { jobId: chunkJobId(part) } });
  }
  await queue.addBulk(jobs);
}
