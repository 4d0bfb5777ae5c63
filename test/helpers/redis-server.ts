// A private redis-server for the tests: a free port, a temp dir, stopped after.
// The tests never touch a Redis they did not start.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersPing } from '../../src/redis/local-server.js';

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startRedisServer(opts: { port?: number; dir?: string; appendonly?: boolean } = {}): Promise<TestRedis> {
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'pmq-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--save', '',
      '--appendonly', opts.appendonly ? 'yes' : 'no',
      '--maxmemory-policy', 'noeviction',
    ],
    { stdio: 'ignore' },
  );
  await untilItAnswers(child, port, 'redis-server');
  const ownDir = opts.dir === undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    process: child,
    stop: async () => {
      await kill(child);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for a redis-server just spawned to answer PING on its port. */
export async function untilItAnswers(child: ChildProcess, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) =>
      reject(new Error(`cannot start ${what} (${err.message}): install redis-server, e.g. apt-get install redis-server`)),
    );
  });
  for (let i = 0; ; i++) {
    if (await answersPing('127.0.0.1', port)) return;
    if (i > 100 || child.exitCode !== null) throw new Error(`${what} on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export interface TestSentinel {
  port: number;
  stop(): Promise<void>;
}

/**
 * A Redis Sentinel (redis-server in sentinel mode) watching `master` as "mymaster",
 * a quorum of one, so that one sentinel can fail the master over by itself.
 */
export async function startSentinel(master: { port: number }, name = 'mymaster'): Promise<TestSentinel> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pmq-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 3000`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  await untilItAnswers(child, port, 'redis-server --sentinel');
  return {
    port,
    stop: async () => {
      await kill(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
