#!/usr/bin/env node
// pmq <role>: starts the roles of one process and owns its signals and shutdown.
//   all     api + gateway + worker + cron in one process (the default of `npm start`)
//   api     HTTP: ingestion, pull API, tokens, health, metrics
//   gateway WebSocket push on /ws
//   worker  BullMQ workers: events, maintenance
//   cron    the leader-locked scheduler of maintenance jobs
import { ConfigError, ROLES, loadConfig, type Role } from './config.js';
import { createLogger, resolveLogFormat } from './logger.js';
import { redisTargetOf } from './redis/connection.js';
import { RedisNotFoundError, resolveRedis } from './redis/local-server.js';
import { startService, type ServiceRole } from './service.js';

const ROLE_SETS: Record<Role, ServiceRole[]> = {
  all: ['api', 'gateway', 'worker', 'cron'],
  api: ['api'],
  gateway: ['gateway'],
  worker: ['worker'],
  cron: ['cron'],
};

const USAGE = `usage: pmq <role>          (or PMQ_ROLE; default: all)

roles:
  all      api + gateway + worker + cron in one process
  api      HTTP: POST /v1/events, the pull API, POST /v1/tokens
  gateway  WebSocket push on /ws
  worker   BullMQ workers: applies events, runs maintenance
  cron     enqueues maintenance while it holds the Redis leader lock

Roles run as separate processes take each other's user tokens only when they
share PMQ_TOKEN_SECRET.

main environment variables (all of them: README.md, "Configuration"):
  PORT              HTTP port (8080; 0: any free port)
  REDIS_URL         redis://[user:pass@]host:port[/db] (unset: 127.0.0.1:6379,
                    else a local redis-server with its data in PMQ_REDIS_DIR)
  PMQ_API_KEYS      the main site's API keys, comma-separated
  PMQ_TOKEN_SECRET  HS256 secret of user tokens, at least 32 characters
  PMQ_AUTH_URL      the main site's token resolver, for its own tokens on /ws
  NODE_ENV          production: PMQ_API_KEYS and PMQ_TOKEN_SECRET are required
  LOG_LEVEL         info (fatal error warn info debug trace silent)
  PMQ_LOG_FORMAT    auto (pretty on a terminal outside production), json, pretty
`;

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (arg === '--help' || arg === '-h' || arg === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`pmq: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const role = (arg ?? config.role ?? 'all') as Role;
  if (!ROLES.includes(role)) {
    process.stderr.write(`pmq: unknown role "${arg}"\nusage: pmq <${ROLES.join('|')}>  (pmq --help for more)\n`);
    process.exit(2);
  }
  const roles = ROLE_SETS[role];
  const logger = createLogger(config.logLevel, config.nodeId, resolveLogFormat(config.logFormat, config.env));
  // Only the roles that take API keys or tokens have anything to warn about.
  if (config.apiKeysGenerated && roles.includes('api')) {
    logger.warn({ apiKey: config.apiKeys[0] }, 'PMQ_API_KEYS is not set: using a one-off API key for this run');
  }
  if (config.tokenSecretGenerated && (roles.includes('api') || roles.includes('gateway'))) {
    logger.warn(
      'PMQ_TOKEN_SECRET is not set: tokens minted by this run are valid in this process only (another process, such as a separate gateway, refuses them)',
    );
  }

  let redis;
  try {
    // With sentinels or a cluster there is no local fallback: they name the nodes.
    redis =
      config.redisSentinels === undefined && config.redisClusterNodes === undefined
        ? await resolveRedis(config.redisUrl, config.redisDir, logger)
        : { url: config.redisUrl ?? 'redis://127.0.0.1:6379', stop: async () => {} };
  } catch (err) {
    if (err instanceof RedisNotFoundError) {
      process.stderr.write(`pmq: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  const service = await startService({ config, redisTarget: redisTargetOf(config, redis.url), roles, logger });

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    service
      .stop()
      .then(() => redis.stop())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`pmq: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
