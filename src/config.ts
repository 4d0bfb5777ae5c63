// The environment, parsed and validated once. Every variable PMQ reads is here,
// with its default; the README's configuration table mirrors this file.
import { randomBytes } from 'node:crypto';
import cron from 'node-cron';
import { z } from 'zod';

export const ROLES = ['all', 'api', 'gateway', 'worker', 'cron'] as const;
export type Role = (typeof ROLES)[number];

const DAY_S = 24 * 60 * 60;

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const list = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k.length > 0),
  );

const HOST_PORT = /[A-Za-z0-9_.-]+:\d{1,5}/.source;

/** host:port pairs, as Sentinel and Cluster seed addresses are written: `s1:26379,s2:26379`. */
const hostPorts = z
  .string()
  .regex(new RegExp(`^\\s*${HOST_PORT}(\\s*,\\s*${HOST_PORT})*\\s*$`), {
    error: 'must be host:port pairs separated by commas, such as r1:6379,r2:6379',
  })
  .transform((s) => s.split(',').map((pair) => toHostPort(pair.trim())));

function toHostPort(pair: string): { host: string; port: number } {
  const [host, port] = pair.split(':');
  return { host: host!, port: Number(port) };
}

/**
 * Cluster addresses as announced -> as reachable from here: `10.0.0.5:6379=r1.example:7001,...`
 * (a cluster behind NAT or in containers announces addresses its clients cannot use).
 */
const natMap = z
  .string()
  .regex(new RegExp(`^\\s*${HOST_PORT}=${HOST_PORT}(\\s*,\\s*${HOST_PORT}=${HOST_PORT})*\\s*$`), {
    error: 'must be announced=reachable host:port pairs separated by commas, such as 10.0.0.5:6379=r1.example:7001',
  })
  .transform((s) =>
    Object.fromEntries(
      s.split(',').map((entry) => {
        const [from, to] = entry.trim().split('=');
        return [from!, toHostPort(to!)];
      }),
    ),
  );

const cronExpression = z.string().refine((s) => cron.validate(s), {
  error: 'must be a cron expression such as "* * * * *"',
});

const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: int(0, 65535).default(8080),
  REDIS_URL: z.url({ error: 'must be a URL such as redis://127.0.0.1:6379' }).optional(),
  PMQ_API_KEYS: list.optional(),
  PMQ_TOKEN_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  PMQ_AUTH_URL: z.url().optional(),
  PMQ_ADMIN_KEY: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  PMQ_WEB_DIR: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PMQ_LOG_FORMAT: z.enum(['json', 'pretty', 'auto']).default('auto'),

  PMQ_ROLE: z.enum(ROLES).optional(),
  PMQ_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'must match ^[A-Za-z0-9_.-]{1,64}$' })
    .optional(),
  PMQ_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,32}$/, { error: 'must match ^[A-Za-z0-9_.-]{1,32}$' })
    .default('pmq'),
  PMQ_REDIS_DIR: z.string().default('./var'),
  PMQ_REDIS_SENTINELS: hostPorts.optional(),
  PMQ_REDIS_SENTINEL_MASTER: z.string().min(1).default('mymaster'),
  PMQ_REDIS_CLUSTER_NODES: hostPorts.optional(),
  PMQ_REDIS_CLUSTER_NAT_MAP: natMap.optional(),
  // redis/keys.ts's DEFAULT_SHARDS: config sits below every layer and names it itself.
  PMQ_REDIS_SHARDS: int(1, 1024).default(16),
  PMQ_REDIS_WAIT_REPLICAS: int(0, 16).default(0),
  PMQ_REDIS_WAIT_TIMEOUT_MS: int(10, 60_000).default(1000),
  PMQ_FAST_TIER_SECONDS: int(60, 30 * DAY_S).default(DAY_S),
  PMQ_RETENTION_SECONDS: int(120, 365 * DAY_S).default(15 * DAY_S),
  PMQ_MAX_BATCH: int(1, 10_000).default(1000),
  PMQ_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  PMQ_MAX_EVENT_BYTES: int(256, 1024 * 1024).default(8 * 1024),
  PMQ_INGEST_CHUNK: int(1, 1000).default(100),
  PMQ_WORKER_CONCURRENCY: int(1, 256).default(8),
  PMQ_LOCK_MS: int(1000, 10 * 60_000).default(30_000),
  PMQ_STALLED_INTERVAL_MS: int(500, 10 * 60_000).default(30_000),
  PMQ_TOKEN_MAX_TTL_SECONDS: int(60, 365 * DAY_S).default(30 * DAY_S),
  PMQ_RATE_LIMIT_PER_KEY: int(0, 1_000_000).default(1000),
  PMQ_RATE_LIMIT_PER_USER: int(0, 1_000_000).default(20),
  PMQ_CRON_TIER_MOVE: cronExpression.default('* * * * *'),
  PMQ_CRON_PURGE: cronExpression.default('*/5 * * * *'),
  PMQ_MAINT_USERS_PER_ROUND: int(1, 10_000).default(200),
  PMQ_MAINT_MESSAGES_PER_USER: int(1, 10_000).default(500),
  PMQ_MAINT_MAX_ROUNDS: int(1, 10_000).default(50),
  PMQ_SHUTDOWN_TIMEOUT_MS: int(100, 10 * 60_000).default(10_000),

  PMQ_HEARTBEAT_MS: int(100, 10 * 60_000).default(25_000),
  PMQ_WS_AUTH_TIMEOUT_MS: int(100, 60_000).default(5_000),
  PMQ_WS_MAX_FRAME_BYTES: int(64, 16 * 1024 * 1024).default(64 * 1024),
  PMQ_WS_FRAMES_PER_SECOND: int(1, 100_000).default(50),
  PMQ_WS_MAX_BUFFER_BYTES: int(1024, 256 * 1024 * 1024).default(1024 * 1024),
  PMQ_WS_SLOW_CLOSE_GRACE_MS: int(0, 60_000).default(2000),
  PMQ_WS_ORIGINS: list.optional(),
  PMQ_WS_MAX_SOCKETS_PER_USER: int(1, 10_000).default(20),
  PMQ_ACK_TIMEOUT_MS: int(100, 24 * 3600_000).default(10_000),
  PMQ_REDELIVER_MAX: int(0, 100).default(5),
  PMQ_PAGE_SIZE: int(1, 10_000).default(200),
  PMQ_NODE_TTL_MS: int(1000, 10 * 60_000).default(30_000),
  PMQ_CRON_NODE_SWEEP: cronExpression.default('*/30 * * * * *'),
  PMQ_CRON_CHAT_SWEEP: cronExpression.default('*/5 * * * * *'),
  PMQ_AUTH_TIMEOUT_MS: int(100, 60_000).default(3_000),
  PMQ_AUTH_CACHE_SECONDS: int(1, 30 * DAY_S).default(3650),
  PMQ_AUTH_CACHE_JITTER_SECONDS: int(0, 30 * DAY_S).default(3000),
  PMQ_AUTH_NEGATIVE_SECONDS: int(1, DAY_S).default(30),

  PMQ_WIDGET_KEYS: list.optional(),
  PMQ_WIDGET_ORIGINS: list.optional(),
  PMQ_CHAT_VISITOR_TOKEN_TTL_SECONDS: int(60, 365 * DAY_S).default(30 * DAY_S),
  PMQ_CHAT_VISITORS_PER_MINUTE: int(0, 1_000_000).default(10),
  PMQ_CHAT_AGENT_GRACE_SECONDS: int(0, DAY_S).default(60),
  PMQ_CHAT_MAX_AGENTS: int(1, 100_000).default(1000),
  PMQ_CHAT_MAX_CAPACITY: int(1, 10_000).default(100),
  PMQ_CHAT_MAX_MESSAGES: int(10, 1_000_000).default(10_000),
  PMQ_CHAT_MAX_IMAGE_BYTES: int(1024, 64 * 1024 * 1024).default(5 * 1024 * 1024),
  PMQ_CHAT_UPLOAD_DIR: z.string().min(1).default('./var/uploads'),
  PMQ_CHAT_RETENTION_SECONDS: int(3600, 365 * DAY_S).default(30 * DAY_S),
  PMQ_CHAT_WEBHOOK_URL: z.url({ error: 'must be a URL such as https://site.example/pmq-hook' }).optional(),
  PMQ_CHAT_WEBHOOK_SECRET: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  PMQ_CHAT_WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(5000),
});

export interface ChatConfig {
  /** Public keys a page may embed to open anonymous visitors (POST /v1/chat/visitors). */
  widgetKeys: string[];
  /** Origins allowed to open visitors; empty: any (and requests without Origin). */
  widgetOrigins: string[];
  visitorTokenTtlSeconds: number;
  /** Anonymous visitors opened per client address and minute, per process; 0: off. */
  visitorsPerMinute: number;
  /** How long an agent whose last socket closed keeps their conversations. */
  agentGraceMs: number;
  /** Agents that may be registered: bounds the routing state, which is one slot. */
  maxAgents: number;
  /** The largest capacity (open conversations) one agent may be given. */
  maxCapacity: number;
  /** Messages one conversation may hold: a history is bounded like everything else. */
  maxMessages: number;
  maxImageBytes: number;
  uploadDir: string;
  /** How long a resolved conversation's history is kept. */
  retentionMs: number;
  /** Where resolved conversations' transcripts go (signed with webhookSecret); undefined: nowhere. */
  webhookUrl: string | undefined;
  webhookSecret: string | undefined;
  webhookTimeoutMs: number;
}

export interface Config {
  env: string;
  port: number;
  /** Undefined: use 127.0.0.1:6379, or start a local redis-server there (see redis/local-server.ts). */
  redisUrl: string | undefined;
  /** Redis Sentinels that name the master (then redisUrl gives only its password, db and TLS). */
  redisSentinels: { host: string; port: number }[] | undefined;
  redisSentinelMaster: string;
  /** Redis Cluster seed nodes (then redisUrl gives only the password and TLS). */
  redisClusterNodes: { host: string; port: number }[] | undefined;
  /** Announced cluster address (`host:port`) -> the address to connect to. */
  redisClusterNatMap: Record<string, { host: string; port: number }> | undefined;
  /** Shards of the global keys (indexes, redelivery schedule, stats): see redis/keys.ts. */
  redisShards: number;
  /** Replicas that must have an accepted or applied event before PMQ relies on it: see redis/replica-wait.ts. */
  redisWait: { replicas: number; timeoutMs: number };
  apiKeys: string[];
  /** True when no PMQ_API_KEYS were given and a one-off key was made for this run. */
  apiKeysGenerated: boolean;
  tokenSecret: string;
  tokenSecretGenerated: boolean;
  authUrl: string | undefined;
  adminKey: string | undefined;
  /** The built pages (npm run build: dist/web); unset: dist/web of the package. */
  webDir: string | undefined;
  logLevel: string;
  /** `auto`: pretty on a terminal outside production, else JSON (src/logger.ts). */
  logFormat: 'json' | 'pretty' | 'auto';
  role: Role | undefined;
  nodeId: string;
  keyPrefix: string;
  redisDir: string;
  fastTierMs: number;
  retentionMs: number;
  maxBatch: number;
  maxBodyBytes: number;
  maxEventBytes: number;
  ingestChunk: number;
  workerConcurrency: number;
  lockMs: number;
  stalledIntervalMs: number;
  tokenMaxTtlSeconds: number;
  rateLimitPerKey: number;
  /** Requests per second of one user's token (HTTP), per process; 0: off. */
  rateLimitPerUser: number;
  cronTierMove: string;
  cronPurge: string;
  maintUsersPerRound: number;
  maintMessagesPerUser: number;
  maintMaxRounds: number;
  shutdownTimeoutMs: number;
  /** The gateway: see src/gateway/. */
  heartbeatMs: number;
  wsAuthTimeoutMs: number;
  wsMaxFrameBytes: number;
  wsFramesPerSecond: number;
  wsMaxBufferBytes: number;
  /** How long a slow reader's 1013 close frame gets to get through before the socket is dropped. */
  wsSlowCloseGraceMs: number;
  /** Allowed Origin headers of /ws; empty: any (and clients without Origin). */
  wsOrigins: string[];
  /** Sockets one user may hold on one gateway node; the one past it is closed with 4429. */
  wsMaxSocketsPerUser: number;
  ackTimeoutMs: number;
  redeliverMax: number;
  pageSize: number;
  nodeTtlMs: number;
  cronNodeSweep: string;
  /** The chat's sweep: agents whose grace ended go offline. */
  cronChatSweep: string;
  authTimeoutMs: number;
  authCacheSeconds: number;
  authCacheJitterSeconds: number;
  authNegativeSeconds: number;
  /** The customer-service chat (src/chat/, DESIGN.md "Customer-service chat"). */
  chat: ChatConfig;
}

export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws one ConfigError listing every wrong value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const problems: string[] = [];
  if (production && (e.PMQ_API_KEYS === undefined || e.PMQ_API_KEYS.length === 0)) {
    problems.push('PMQ_API_KEYS: required when NODE_ENV=production (comma-separated keys)');
  }
  if (production && e.PMQ_TOKEN_SECRET === undefined) {
    problems.push('PMQ_TOKEN_SECRET: required when NODE_ENV=production (at least 32 characters)');
  }
  if (e.PMQ_FAST_TIER_SECONDS >= e.PMQ_RETENTION_SECONDS) {
    problems.push('PMQ_FAST_TIER_SECONDS: must be shorter than PMQ_RETENTION_SECONDS');
  }
  if (e.PMQ_REDIS_CLUSTER_NODES !== undefined && e.PMQ_REDIS_SENTINELS !== undefined) {
    problems.push('PMQ_REDIS_CLUSTER_NODES: cannot be used with PMQ_REDIS_SENTINELS (a cluster fails over by itself)');
  }
  if (e.PMQ_REDIS_CLUSTER_NODES !== undefined && e.REDIS_URL !== undefined && !/^rediss?:\/\/[^/]*\/?0?$/.test(e.REDIS_URL)) {
    problems.push('REDIS_URL: a cluster has only database 0; with PMQ_REDIS_CLUSTER_NODES give no other');
  }
  if (e.PMQ_REDIS_CLUSTER_NAT_MAP !== undefined && e.PMQ_REDIS_CLUSTER_NODES === undefined) {
    problems.push('PMQ_REDIS_CLUSTER_NAT_MAP: only with PMQ_REDIS_CLUSTER_NODES');
  }
  if (e.PMQ_CHAT_WEBHOOK_URL !== undefined && e.PMQ_CHAT_WEBHOOK_SECRET === undefined) {
    problems.push('PMQ_CHAT_WEBHOOK_SECRET: required with PMQ_CHAT_WEBHOOK_URL (the transcripts are signed)');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const apiKeysGenerated = e.PMQ_API_KEYS === undefined || e.PMQ_API_KEYS.length === 0;
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    webDir: e.PMQ_WEB_DIR,
    redisUrl: e.REDIS_URL,
    redisSentinels: e.PMQ_REDIS_SENTINELS,
    redisSentinelMaster: e.PMQ_REDIS_SENTINEL_MASTER,
    redisClusterNodes: e.PMQ_REDIS_CLUSTER_NODES,
    redisClusterNatMap: e.PMQ_REDIS_CLUSTER_NAT_MAP,
    redisShards: e.PMQ_REDIS_SHARDS,
    redisWait: { replicas: e.PMQ_REDIS_WAIT_REPLICAS, timeoutMs: e.PMQ_REDIS_WAIT_TIMEOUT_MS },
    apiKeys: apiKeysGenerated ? [`dev-${randomBytes(12).toString('hex')}`] : (e.PMQ_API_KEYS ?? []),
    apiKeysGenerated,
    tokenSecret: e.PMQ_TOKEN_SECRET ?? randomBytes(32).toString('hex'),
    tokenSecretGenerated: e.PMQ_TOKEN_SECRET === undefined,
    authUrl: e.PMQ_AUTH_URL,
    adminKey: e.PMQ_ADMIN_KEY,
    logLevel: e.LOG_LEVEL,
    logFormat: e.PMQ_LOG_FORMAT,
    role: e.PMQ_ROLE,
    nodeId: e.PMQ_NODE_ID ?? `node-${randomBytes(4).toString('hex')}`,
    keyPrefix: e.PMQ_KEY_PREFIX,
    redisDir: e.PMQ_REDIS_DIR,
    fastTierMs: e.PMQ_FAST_TIER_SECONDS * 1000,
    retentionMs: e.PMQ_RETENTION_SECONDS * 1000,
    maxBatch: e.PMQ_MAX_BATCH,
    maxBodyBytes: e.PMQ_MAX_BODY_BYTES,
    maxEventBytes: e.PMQ_MAX_EVENT_BYTES,
    ingestChunk: e.PMQ_INGEST_CHUNK,
    workerConcurrency: e.PMQ_WORKER_CONCURRENCY,
    lockMs: e.PMQ_LOCK_MS,
    stalledIntervalMs: e.PMQ_STALLED_INTERVAL_MS,
    tokenMaxTtlSeconds: e.PMQ_TOKEN_MAX_TTL_SECONDS,
    rateLimitPerKey: e.PMQ_RATE_LIMIT_PER_KEY,
    rateLimitPerUser: e.PMQ_RATE_LIMIT_PER_USER,
    cronTierMove: e.PMQ_CRON_TIER_MOVE,
    cronPurge: e.PMQ_CRON_PURGE,
    maintUsersPerRound: e.PMQ_MAINT_USERS_PER_ROUND,
    maintMessagesPerUser: e.PMQ_MAINT_MESSAGES_PER_USER,
    maintMaxRounds: e.PMQ_MAINT_MAX_ROUNDS,
    shutdownTimeoutMs: e.PMQ_SHUTDOWN_TIMEOUT_MS,
    heartbeatMs: e.PMQ_HEARTBEAT_MS,
    wsAuthTimeoutMs: e.PMQ_WS_AUTH_TIMEOUT_MS,
    wsMaxFrameBytes: e.PMQ_WS_MAX_FRAME_BYTES,
    wsFramesPerSecond: e.PMQ_WS_FRAMES_PER_SECOND,
    wsMaxBufferBytes: e.PMQ_WS_MAX_BUFFER_BYTES,
    wsSlowCloseGraceMs: e.PMQ_WS_SLOW_CLOSE_GRACE_MS,
    wsOrigins: e.PMQ_WS_ORIGINS ?? [],
    wsMaxSocketsPerUser: e.PMQ_WS_MAX_SOCKETS_PER_USER,
    ackTimeoutMs: e.PMQ_ACK_TIMEOUT_MS,
    redeliverMax: e.PMQ_REDELIVER_MAX,
    pageSize: e.PMQ_PAGE_SIZE,
    nodeTtlMs: e.PMQ_NODE_TTL_MS,
    cronNodeSweep: e.PMQ_CRON_NODE_SWEEP,
    cronChatSweep: e.PMQ_CRON_CHAT_SWEEP,
    authTimeoutMs: e.PMQ_AUTH_TIMEOUT_MS,
    authCacheSeconds: e.PMQ_AUTH_CACHE_SECONDS,
    authCacheJitterSeconds: e.PMQ_AUTH_CACHE_JITTER_SECONDS,
    authNegativeSeconds: e.PMQ_AUTH_NEGATIVE_SECONDS,
    chat: {
      widgetKeys: e.PMQ_WIDGET_KEYS ?? [],
      widgetOrigins: e.PMQ_WIDGET_ORIGINS ?? [],
      visitorTokenTtlSeconds: e.PMQ_CHAT_VISITOR_TOKEN_TTL_SECONDS,
      visitorsPerMinute: e.PMQ_CHAT_VISITORS_PER_MINUTE,
      agentGraceMs: e.PMQ_CHAT_AGENT_GRACE_SECONDS * 1000,
      maxAgents: e.PMQ_CHAT_MAX_AGENTS,
      maxCapacity: e.PMQ_CHAT_MAX_CAPACITY,
      maxMessages: e.PMQ_CHAT_MAX_MESSAGES,
      maxImageBytes: e.PMQ_CHAT_MAX_IMAGE_BYTES,
      uploadDir: e.PMQ_CHAT_UPLOAD_DIR,
      retentionMs: e.PMQ_CHAT_RETENTION_SECONDS * 1000,
      webhookUrl: e.PMQ_CHAT_WEBHOOK_URL,
      webhookSecret: e.PMQ_CHAT_WEBHOOK_SECRET,
      webhookTimeoutMs: e.PMQ_CHAT_WEBHOOK_TIMEOUT_MS,
    },
  };
}
