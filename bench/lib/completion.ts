// "Every counter is applied": known from Redis, not from the service's word.
//
// A 202 means the jobs are in the `events` queue (addBulk returned). A job leaves
// waiting/active/delayed/prioritized only through BullMQ's atomic scripts, after
// its processor (the Lua apply step) returned; a failed attempt goes back to
// delayed or waiting. So once the last 202 is in, the first poll that sees all
// four empty marks the moment the last event was applied. The unread sums are
// checked afterwards, untimed, to prove nothing was lost or counted twice.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE } from '../../src/queues.js';
import { Keys } from '../../src/redis/keys.js';

const UNFINISHED = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

export class Completion {
  readonly redis: Redis;
  private readonly queue: Queue;
  private readonly keys: Keys;

  constructor(redisUrl: string, keyPrefix: string) {
    this.redis = new Redis(redisUrl, { connectionName: 'pmq-bench', lazyConnect: false });
    this.keys = new Keys(keyPrefix);
    const at = this.keys.queue(QUEUE.events);
    this.queue = new Queue(at.name, { connection: this.redis, prefix: at.prefix });
  }

  async unfinished(): Promise<number> {
    const counts = await this.queue.getJobCounts(...UNFINISHED);
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  async failed(): Promise<number> {
    return (await this.queue.getJobCounts('failed')).failed ?? 0;
  }

  async waitForWorker(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.queue.getWorkersCount()) === 0) {
      if (Date.now() > deadline) throw new Error(`no worker took the events queue within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** performance.now() of the first poll that found no job left to run. */
  async waitDrained(timeoutMs: number, pollMs = 10): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if ((await this.unfinished()) === 0) return performance.now();
      if (performance.now() > deadline) {
        throw new Error(`the events queue still held ${await this.unfinished()} jobs ${timeoutMs / 1000} s after the last 202`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * Samples the backlog (jobs not finished) while the load runs: a backlog that
   * keeps growing says the workers, not the HTTP side, set the pace.
   */
  sampleBacklog(everyMs: number): { stop(): { max: number; last: number } } {
    let max = 0;
    let last = 0;
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.unfinished().then(
        (n) => {
          max = Math.max(max, n);
          last = n;
          busy = false;
        },
        () => {
          busy = false;
        },
      );
    }, everyMs);
    return {
      stop: () => {
        clearInterval(timer);
        return { max, last };
      },
    };
  }

  /** The sum of every category's unread count over `users`, read in pipelines of 1000. */
  async unreadSum(users: string[]): Promise<number> {
    let sum = 0;
    for (let i = 0; i < users.length; i += 1000) {
      const pipeline = this.redis.pipeline();
      for (const uid of users.slice(i, i + 1000)) pipeline.hvals(this.keys.user(uid).unread);
      for (const [err, values] of (await pipeline.exec()) ?? []) {
        if (err) throw err;
        for (const v of values as string[]) sum += Number(v);
      }
    }
    return sum;
  }

  /** Redis' own user + system CPU seconds (INFO cpu): works for a Redis the bench did not start. */
  async redisCpuSeconds(): Promise<number | undefined> {
    const info = await this.redis.info('cpu').catch(() => '');
    const sys = /used_cpu_sys:([\d.]+)/.exec(info)?.[1];
    const user = /used_cpu_user:([\d.]+)/.exec(info)?.[1];
    return sys === undefined || user === undefined ? undefined : Number(sys) + Number(user);
  }

  /**
   * INFO commandstats: calls and microseconds per command so far. Read before and
   * after rather than reset, so that a Redis the bench did not start keeps its stats.
   * Commands run inside Lua count under their own names too (and in EVALSHA's time).
   */
  async commandStats(): Promise<Map<string, { calls: number; usec: number }>> {
    const info = await this.redis.info('commandstats').catch(() => '');
    const out = new Map<string, { calls: number; usec: number }>();
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
    }
    return out;
  }

  /** Bytes Redis holds (INFO memory used_memory). */
  async usedMemory(): Promise<number | undefined> {
    const info = await this.redis.info('memory').catch(() => '');
    const m = /used_memory:(\d+)/.exec(info)?.[1];
    return m === undefined ? undefined : Number(m);
  }

  async redisVersion(): Promise<string | undefined> {
    const info = await this.redis.info('server').catch(() => '');
    return /redis_version:(\S+)/.exec(info)?.[1];
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
