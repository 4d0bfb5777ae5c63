// Builds one process' shared context and starts the roles it was asked for.
// `stop()` undoes it in the order that loses nothing: stop taking requests, stop
// scheduling, let the jobs in flight finish, then close Redis.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app.js';
import { Authenticator } from './auth/authenticator.js';
import type { Config } from './config.js';
import type { Context } from './context.js';
import { CronScheduler } from './cron/scheduler.js';
import { systemClock, type Clock } from './events/clock.js';
import { Gateway } from './gateway/gateway.js';
import { createLogger, type Logger } from './logger.js';
import { ChatNotifier } from './push/chat-notifier.js';
import { QueuePositions } from './push/chat-queue-positions.js';
import { Publisher } from './push/publisher.js';
import { Metrics } from './metrics.js';
import { ObservedChatMetrics, longestWaitSeconds } from './ops/chat-stats.js';
import type { Conversation } from './chat/conversation.js';
import { QUEUE, createQueues, enqueueEvents, enqueueWebhook } from './queues.js';
import { acceptEvent } from './events/event-schema.js';
import { checkEvictionPolicy, createRedis, untilReady, type RedisTarget } from './redis/connection.js';
import { Keys } from './redis/keys.js';
import { ChatConversations } from './store/chat-conversations.js';
import { ChatRouting, type RoutingSummary } from './store/chat-routing.js';
import { ChatStats } from './store/chat-stats.js';
import { ChatUploads } from './store/chat-uploads.js';
import { StatsBuffer, readStats } from './store/stats.js';
import { startWorkers, type Workers } from '../workers/index.js';

/** How long a stopping process lets HTTP requests in flight finish. */
const HTTP_DRAIN_MS = 5000;

/** The roles one process can hold; `all` is every one of them. */
export type ServiceRole = 'api' | 'gateway' | 'worker' | 'cron';

export interface ServiceOptions {
  config: Config;
  redisTarget: RedisTarget;
  roles: ServiceRole[];
  clock?: Clock;
  logger?: Logger;
}

export interface Service {
  ctx: Context;
  /** The HTTP port (the real one when PORT=0). */
  port: number;
  cron: CronScheduler | undefined;
  gateway: Gateway | undefined;
  stop(): Promise<void>;
}

export async function startService(opts: ServiceOptions): Promise<Service> {
  const { config, redisTarget, roles } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel, config.nodeId);
  const keys = new Keys(config.keyPrefix, config.redisShards, redisTarget.cluster !== undefined);
  // Requests fail fast (503) while Redis is away instead of piling up.
  const redis = createRedis(redisTarget, `${config.nodeId}:cmd`, logger, { maxRetriesPerRequest: 2 });
  // BullMQ gets a connection of its own: it defines some sixty Lua commands on the
  // client it is given, and ioredis copies every defined command onto each new
  // pipeline (40 µs instead of 3 µs per pipeline on ours).
  const queueRedis = createRedis(redisTarget, `${config.nodeId}:queues`, logger, { maxRetriesPerRequest: 2 });
  const queues = createQueues(queueRedis, keys, (queue, err) =>
    logger.debug({ queue, err: err.message }, 'queue connection error'),
  );
  const metrics = new Metrics();
  const clock = opts.clock ?? systemClock;
  const publisher = new Publisher(redis, keys, logger, clock, config.nodeTtlMs);
  const stats = new StatsBuffer(redis, keys, logger);
  const routing = new ChatRouting(redis, keys, { maxAgents: config.chat.maxAgents });
  const conversations = new ChatConversations(redis, keys, { maxMessages: config.chat.maxMessages, retentionMs: config.chat.retentionMs });
  const queuePositions = new QueuePositions(redis, keys, routing, conversations, publisher, logger);
  const chat = {
    routing,
    conversations,
    uploads: new ChatUploads(config.chat.uploadDir, config.chat.maxImageBytes),
    resolved:
      config.chat.webhookUrl === undefined
        ? undefined
        : (c: Conversation) => enqueueWebhook(queues.webhooks, { conversation: c.id, resolved_at: c.resolved_at! }),
    notifier: new ChatNotifier(publisher, routing, conversations, queuePositions, (event) =>
      enqueueEvents(queues.events, [acceptEvent(event, clock.now())], config.ingestChunk, {
        connection: queues.connection,
        replicas: config.redisWait,
      }),
    ),
    metrics: new ObservedChatMetrics(metrics, new ChatStats(redis, keys), conversations, logger),
  };
  const ctx: Context = { config, redis, redisTarget, keys, queues, metrics, clock, logger, publisher, stats, chat };
  const auth = new Authenticator(config.apiKeys, config.tokenSecret, clock);

  registerRedisGauges(ctx);
  await Promise.all([untilReady(redis), untilReady(queueRedis)]);
  await checkEvictionPolicy(redis, logger);

  // Every role listens: probes and Prometheus reach workers and cron too. In
  // `all` the gateway's /ws shares the API's port.
  const server: Server = createServer(createApp(ctx, auth, { api: roles.includes('api') }));
  server.keepAliveTimeout = 65_000; // longer than the usual load balancer's idle timeout
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'http listening');
  let gateway: Gateway | undefined;
  if (roles.includes('gateway')) {
    gateway = new Gateway(ctx, auth);
    await gateway.start(server);
    const g = gateway;
    metrics.gauge('pmq_ws_connections', 'Open WebSocket connections on this node', [], async () => [
      { labels: {}, value: g.connections },
    ]);
  }
  const workers: Workers | undefined = roles.includes('worker') ? startWorkers(ctx) : undefined;
  let cron: CronScheduler | undefined;
  if (roles.includes('cron')) {
    cron = new CronScheduler(ctx);
    await cron.start();
  }
  logger.info({ roles }, 'pmq started');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // The gateway first: it leaves the registry and sends its clients elsewhere.
      await gateway?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Requests in flight get a moment to finish; then every connection goes,
      // also those a browser opened ahead and never sent a request on, which
      // would otherwise hold the stop for Node's 60 s headers timeout.
      const cut = setTimeout(() => server.closeAllConnections(), HTTP_DRAIN_MS);
      await closed;
      clearTimeout(cut);
      await cron?.stop();
      await workers?.close();
      await stats.close();
      queuePositions.stop();
      await queues.close();
      await queueRedis.quit().catch(() => queueRedis.disconnect());
      await redis.quit().catch(() => redis.disconnect());
      logger.info('pmq stopped');
    })());

  return { ctx, port, cron, gateway, stop };
}

function registerRedisGauges(ctx: Context): void {
  const { metrics, redis, keys, queues, chat, clock } = ctx;
  // The chat's gauges read the routing once per scrape (prom-client collects them together).
  let reading: Promise<RoutingSummary> | undefined;
  const routing = () => (reading ??= chat.routing.summary().finally(() => (reading = undefined)));
  metrics.gauge('pmq_chat_conversations', 'Open chat conversations by status (queued, assigned), service-wide', ['status'], async () => {
    const r = await routing();
    return [
      { labels: { status: 'queued' }, value: r.queued },
      { labels: { status: 'assigned' }, value: r.assigned },
    ];
  });
  metrics.gauge('pmq_chat_queue_length', 'Chat conversations waiting in the queue for an agent, service-wide', [], async () => [
    { labels: {}, value: (await routing()).queued },
  ]);
  metrics.gauge('pmq_chat_longest_wait_seconds', "How long the queue's oldest conversation has waited (0: nobody waits)", [], async () => [
    { labels: {}, value: longestWaitSeconds((await routing()).oldestWaitingSince, new Date(clock.now())) },
  ]);
  metrics.gauge('pmq_chat_agents', 'Registered chat agents by status (online, away, offline), service-wide', ['status'], async () => {
    const { agents } = await routing();
    return (['online', 'away', 'offline'] as const).map((status) => ({ labels: { status }, value: agents[status] }));
  });
  metrics.gauge('pmq_pending_messages', 'Pending (unacked) messages per delivery tier', ['tier'], async () => {
    const s = await readStats(redis, keys);
    return [
      { labels: { tier: 'fast' }, value: s.fast },
      { labels: { tier: 'delayed' }, value: s.delayed },
    ];
  });
  metrics.gauge('pmq_purged_messages', 'Messages purged at the end of retention, all processes', ['state'], async () => {
    const s = await readStats(redis, keys);
    return [
      { labels: { state: 'all' }, value: s.purged },
      { labels: { state: 'pending' }, value: s.purged_pending },
      { labels: { state: 'unread' }, value: s.purged_unread },
    ];
  });
  metrics.gauge('pmq_queue_jobs', 'Jobs per queue and state', ['queue', 'state'], async () => {
    const out: { labels: { queue: string; state: string }; value: number }[] = [];
    for (const [name, queue] of [
      [QUEUE.events, queues.events],
      [QUEUE.maintenance, queues.maintenance],
      [QUEUE.delayed, queues.delayed],
      [QUEUE.webhooks, queues.webhooks],
    ] as const) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
      for (const [state, value] of Object.entries(counts)) out.push({ labels: { queue: name, state }, value });
    }
    return out;
  });
}
