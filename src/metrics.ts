// Prometheus metrics of one process, on a registry of its own (several services
// may share a process in tests). Gauges that live in Redis are read at scrape time.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly eventsAccepted = new Counter({
    name: 'pmq_events_accepted_total',
    help: 'Events accepted by POST /v1/events (202) and enqueued',
    registers: [this.registry],
  });

  readonly eventsApplied = new Counter({
    name: 'pmq_events_applied_total',
    help: 'Events applied by the events worker (new messages stored)',
    registers: [this.registry],
  });

  readonly eventsDuplicate = new Counter({
    name: 'pmq_events_duplicate_total',
    help: 'Events the worker found already applied (retries, re-posts)',
    registers: [this.registry],
  });

  readonly tierMoves = new Counter({
    name: 'pmq_tier_moves_total',
    help: 'Pending messages moved from the fast tier to the delayed tier',
    registers: [this.registry],
  });

  readonly purges = new Counter({
    name: 'pmq_purged_total',
    help: 'Messages removed at the end of retention, by what they still were',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly maintenanceFailures = new Counter({
    name: 'pmq_maintenance_failures_total',
    help: 'Users skipped by a maintenance round because their step failed (logged with the user id)',
    labelNames: ['task'] as const,
    registers: [this.registry],
  });

  readonly acks = new Counter({
    name: 'pmq_acked_total',
    help: 'Pending messages acknowledged as delivered',
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'pmq_push_users_total',
    help: 'Users reached by a push of new messages (online on some node)',
    registers: [this.registry],
  });

  readonly redeliveries = new Counter({
    name: 'pmq_redelivered_total',
    help: 'Fast-tier messages pushed again because they were not acked in time',
    registers: [this.registry],
  });

  readonly drained = new Counter({
    name: 'pmq_drained_total',
    help: 'Messages sent by login drains (the delayed tier and the rest of the fast tier)',
    registers: [this.registry],
  });

  readonly nodesSwept = new Counter({
    name: 'pmq_nodes_swept_total',
    help: 'Dead gateway nodes whose registry entries were removed',
    registers: [this.registry],
  });

  readonly pushLatency = new Histogram({
    name: 'pmq_push_latency_seconds',
    help: 'Push latency by stage: accepted (202) -> taken by a worker (queued), accepted -> published to the nodes, published -> written to the sockets',
    labelNames: ['stage'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'pmq_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'pmq_job_duration_seconds',
    help: 'Time a worker spent on one job, by queue',
    labelNames: ['queue'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly serverCloses = new Counter({
    name: 'pmq_ws_server_closes_total',
    help: 'Sockets the gateway closed, by close code (1013 slow reader, 1008 flood, 4429 too many sockets, 4401/4402 tokens, ...)',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  // The chat's own, observed by the operations where the work is done (ops/,
  // through ChatMetrics: ops/chat-stats.ts). Its gauges (conversations, queue,
  // agents) are read from Redis at scrape time: see service.ts.

  readonly chatAssignments = new Counter({
    name: 'pmq_chat_assignments_total',
    help: 'Conversations given to an agent (from the queue, or transferred to another), each once however often its move is recorded',
    registers: [this.registry],
  });

  readonly chatWait = new Histogram({
    name: 'pmq_chat_wait_seconds',
    help: "Time a conversation waited for an agent: waiting_since to assigned_at, at each assignment from the queue",
    buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    registers: [this.registry],
  });

  readonly chatFirstResponse = new Histogram({
    name: 'pmq_chat_first_response_seconds',
    help: "Time from a conversation's waiting_since to its agent's first reply",
    buckets: [5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
    registers: [this.registry],
  });

  readonly chatMessages = new Counter({
    name: 'pmq_chat_messages_total',
    help: 'Chat messages written by visitors and agents, by kind (text, image); resends are not counted',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly chatUploadsRefused = new Counter({
    name: 'pmq_chat_uploads_refused_total',
    help: 'Chat image uploads refused, by cause (the error code: image_too_large, not_an_image, image_type_mismatch, unsupported_image_type, invalid_request)',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pmq_process_' });
  }

  /** A gauge whose values are read (from Redis) when Prometheus scrapes. */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Promise<{ labels: Record<L, string>; value: number }[]>,
  ): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { labels, value } of await read()) this.set(labels as never, value);
      },
    });
  }
}
