// The Redis of `npm start` when REDIS_URL is not set: 127.0.0.1:6379 if something
// answers there, else a redis-server started from PATH with its data under
// PMQ_REDIS_DIR (append-only file on), stopped again when PMQ exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import type { Logger } from '../logger.js';

export const DEFAULT_REDIS_HOST = '127.0.0.1';
export const DEFAULT_REDIS_PORT = 6379;

export class RedisNotFoundError extends Error {
  readonly code = 'redis_not_found';
  constructor(port: number) {
    super(
      `REDIS_URL is not set, no Redis answers on 127.0.0.1:${port} and there is no redis-server on PATH to start one.\n` +
        '  Either install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`)\n' +
        '  or point PMQ at a running one: REDIS_URL=redis://host:6379 npm start',
    );
    this.name = 'RedisNotFoundError';
  }
}

export interface ResolvedRedis {
  url: string;
  /** Stops the redis-server PMQ started; does nothing for one it found running. */
  stop(): Promise<void>;
}

/** Resolves to true when something speaking RESP answers PING on host:port. */
export function answersPing(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    // +PONG, or -NOAUTH from a server with a password: either way a Redis is there.
    socket.once('data', (chunk) => finish(chunk[0] === 0x2b || chunk[0] === 0x2d));
  });
}

export interface LocalRedisOptions {
  /** Default 6379; tests pick a free one. */
  port?: number;
  /** The server binary. Default `redis-server`, found on PATH. */
  command?: string;
}

export async function resolveRedis(
  redisUrl: string | undefined,
  dataDir: string,
  logger: Logger,
  opts: LocalRedisOptions = {},
): Promise<ResolvedRedis> {
  if (redisUrl !== undefined) return { url: redisUrl, stop: async () => {} };
  const port = opts.port ?? DEFAULT_REDIS_PORT;
  const url = `redis://${DEFAULT_REDIS_HOST}:${port}`;
  if (await answersPing(DEFAULT_REDIS_HOST, port)) {
    logger.info({ url }, 'REDIS_URL not set: using the Redis found there');
    return { url, stop: async () => {} };
  }
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const child = await startRedisServer(opts.command ?? 'redis-server', port, dir);
  logger.info({ url, dir, pid: child.pid }, 'REDIS_URL not set and no Redis answered: started a local redis-server');
  return { url, stop: () => stopChild(child) };
}

async function startRedisServer(command: string, port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    command,
    [
      '--port', String(port),
      '--bind', DEFAULT_REDIS_HOST,
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--maxmemory-policy', 'noeviction',
      '--logfile', 'redis-server.log',
    ],
    { stdio: 'ignore' },
  );
  const spawned = await new Promise<boolean>((done) => {
    child.once('spawn', () => done(true));
    child.once('error', () => done(false));
  });
  if (!spawned) throw new RedisNotFoundError(port);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (await answersPing(DEFAULT_REDIS_HOST, port)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start; see ${resolve(dir, 'redis-server.log')}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}
