// The BullMQ queues, their job data, and how jobs are added to them.
import { createHash } from 'node:crypto';
import { Queue, type DefaultJobOptions } from 'bullmq';
import type { AcceptedEvent } from './events/event-schema.js';
import type { RedisClient } from './redis/client.js';
import type { Keys } from './redis/keys.js';
import { waitForReplicas, type ReplicaWait } from './redis/replica-wait.js';

export const QUEUE = {
  /** chunks of accepted events -> workers/events.worker.ts */
  events: 'events',
  /** tier moves, purges, node sweeps, enqueued by cron -> workers/maintenance.worker.ts */
  maintenance: 'maintenance',
  /** the drain of a user's backlog on login -> workers/delayed.worker.ts */
  delayed: 'delayed',
  /** a resolved conversation's transcript to PMQ_CHAT_WEBHOOK_URL -> workers/webhook.worker.ts */
  webhooks: 'webhooks',
} as const;

export interface WebhookJob {
  conversation: string;
  /** When it was resolved (ISO): a conversation resolved again after a reopen is another delivery. */
  resolved_at: string;
}

export interface EventsJob {
  events: AcceptedEvent[];
}

export type MaintenanceTask = 'tier-move' | 'purge' | 'node-sweep' | 'chat-sweep';

export interface MaintenanceJob {
  task: MaintenanceTask;
}

export interface DelayedJob {
  uid: string;
  /**
   * The gateway sent the fast tier up to this seq at login and stopped at its
   * page size: the drain sends the rest of it first. -1: the fast tier was sent whole.
   */
  fastAfter: number;
}

/** One drain per user at a time. */
export const dedupId = {
  delayed: (uid: string) => `drain:${uid}`,
};

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
  // A finished job keeps a copy of its events: kept briefly (the seen-marks, not
  // the job ids, are what make a late re-post harmless).
  removeOnComplete: { age: 600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};

// Maintenance jobs are idempotent and come again with the next tick.
const maintenanceJobOptions: DefaultJobOptions = {
  attempts: 3,
  backoff: { type: CAPPED_BACKOFF },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
};

// Drains are best effort on top of what stays pending: a user who misses one gets
// the messages at the next login or pull.
// A webhook is retried for about an hour (backoff capped at a minute), then kept
// as failed for a week: pmq_queue_jobs{queue="webhooks",state="failed"} shows it.
const webhookJobOptions: DefaultJobOptions = {
  attempts: 70,
  backoff: { type: CAPPED_BACKOFF },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};

const pushJobOptions: DefaultJobOptions = {
  attempts: 3,
  backoff: { type: CAPPED_BACKOFF },
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600, count: 1000 },
};

export interface Queues {
  /** The connection the queues share (to WAIT on after adding jobs). */
  connection: RedisClient;
  events: Queue<EventsJob>;
  maintenance: Queue<MaintenanceJob>;
  delayed: Queue<DelayedJob>;
  webhooks: Queue<WebhookJob>;
  close(): Promise<void>;
}

export function createQueues(
  connection: RedisClient,
  keys: Pick<Keys, 'queue'>,
  onError: (queue: string, err: Error) => void,
): Queues {
  const at = (name: string) => {
    const q = keys.queue(name);
    return [q.name, { connection, prefix: q.prefix }] as const;
  };
  const [eventsName, eventsAt] = at(QUEUE.events);
  const events = new Queue<EventsJob>(eventsName, { ...eventsAt, defaultJobOptions: eventsJobOptions });
  const [maintenanceName, maintenanceAt] = at(QUEUE.maintenance);
  const maintenance = new Queue<MaintenanceJob>(maintenanceName, { ...maintenanceAt, defaultJobOptions: maintenanceJobOptions });
  const [delayedName, delayedAt] = at(QUEUE.delayed);
  const delayed = new Queue<DelayedJob>(delayedName, { ...delayedAt, defaultJobOptions: pushJobOptions });
  const [webhooksName, webhooksAt] = at(QUEUE.webhooks);
  const webhooks = new Queue<WebhookJob>(webhooksName, { ...webhooksAt, defaultJobOptions: webhookJobOptions });
  const all = [events, maintenance, delayed, webhooks];
  // Without a listener BullMQ prints every connection error to stderr.
  for (const q of all) q.on('error', (err) => onError(q.name, err));
  return {
    connection,
    events,
    maintenance,
    delayed,
    webhooks,
    close: async () => {
      await Promise.all(all.map((q) => q.close()));
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

/**
 * Splits accepted events into jobs of at most `chunk` events and adds them in
 * one call; then, when replicas are asked for, waits until they have the jobs
 * (on `connection`, the queue's own: WAIT covers that connection's writes).
 */
export async function enqueueEvents(
  queue: Queue<EventsJob>,
  events: AcceptedEvent[],
  chunk: number,
  wait: { connection: RedisClient; replicas: ReplicaWait },
): Promise<void> {
  const jobs = [];
  for (let i = 0; i < events.length; i += chunk) {
    const part = events.slice(i, i + chunk);
    jobs.push({ name: 'apply', data: { events: part }, opts: { jobId: chunkJobId(part) } });
  }
  await queue.addBulk(jobs);
  await waitForReplicas(wait.connection, queue.toKey('meta'), wait.replicas);
}

/** At login: drain what the gateway did not send at once (one drain per user at a time). */
export async function scheduleDrain(queue: Queue<DelayedJob>, uid: string, fastAfter: number): Promise<void> {
  await queue.add('drain', { uid, fastAfter }, { deduplication: { id: dedupId.delayed(uid) } });
}

/** A resolved conversation's webhook: once per resolution, however often it is asked for. */
export async function enqueueWebhook(queue: Queue<WebhookJob>, job: WebhookJob): Promise<void> {
  await queue.add('resolved', job, { jobId: `resolved-${job.conversation}-${Date.parse(job.resolved_at)}` });
}
