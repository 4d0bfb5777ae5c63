// "Every counter is applied": known from Redis, not from the service's word.
//
// A 202 means the jobs are in the `events` queue (addBulk returned). A job leaves
// waiting/active/delayed/prioritized only through BullMQ's atomic scripts, after
// its processor (the Lua apply step) returned; a failed attempt goes back to
// delayed or waiting. So once the last 202 is in, the first poll that sees all
// four empty marks the moment the last event was applied. The unread sums are
// checked afterwards, untimed, to prove nothing was lost or counted twice.
//
// On a cluster the figures Redis gives of itself (INFO) are summed over the masters.
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { QUEUE } from '../../src/queues.js';
import { mastersOf, type RedisClient } from '../../src/redis/client.js';
import { untilReady } from '../../src/redis/connection.js';
import { Keys } from '../../src/redis/keys.js';
import { execEach } from '../../src/redis/slot-groups.js';

const UNFINISHED = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

export class Completion {
  readonly redis: RedisClient;
  private readonly queue: Queue;
  private readonly keys: Keys;

  /** `cluster`: the seed nodes of a Redis Cluster (`redisUrl` is then not used). */
  constructor(redisUrl: string, keyPrefix: string, cluster?: { host: string; port: number }[]) {
    this.redis =
      cluster === undefined
        ? new Redis(redisUrl, { connectionName: 'pmq-bench', lazyConnect: false })
        : new Cluster(cluster, { scaleReads: 'master', redisOptions: { connectionName: 'pmq-bench' } });
    this.keys = new Keys(keyPrefix, undefined, cluster !== undefined);
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

  /** The sum of every category's unread count over `users`, read 1000 users a round trip. */
  async unreadSum(users: string[]): Promise<number> {
    let sum = 0;
    for (let i = 0; i < users.length; i += 1000) {
      const replies = await execEach(
        this.redis,
        users.slice(i, i + 1000).map((uid) => {
          const key = this.keys.user(uid).unread;
          return [key, (p) => p.hvals(key)];
        }),
      );
      for (const values of replies as string[][]) for (const v of values) sum += Number(v);
    }
    return sum;
  }

  /** INFO `section` of the one Redis, or of each master of the cluster. */
  private async infos(section: string): Promise<string[]> {
    await untilReady(this.redis);
    const nodes = mastersOf(this.redis);
    return Promise.all(nodes.map((n) => n.info(section).catch(() => '')));
  }

  /** Redis' own user + system CPU seconds (INFO cpu): works for a Redis the bench did not start. */
  async redisCpuSeconds(): Promise<number | undefined> {
    let total = 0;
    for (const info of await this.infos('cpu')) {
      const sys = /used_cpu_sys:([\d.]+)/.exec(info)?.[1];
      const user = /used_cpu_user:([\d.]+)/.exec(info)?.[1];
      if (sys === undefined || user === undefined) return undefined;
      total += Number(sys) + Number(user);
    }
    return total;
  }

  /**
   * INFO commandstats: calls and microseconds per command so far. Read before and
   * after rather than reset, so that a Redis the bench did not start keeps its stats.
   * Commands run inside Lua count under their own names too (and in EVALSHA's time).
   */
  async commandStats(): Promise<Map<string, { calls: number; usec: number }>> {
    const out = new Map<string, { calls: number; usec: number }>();
    for (const info of await this.infos('commandstats')) {
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
        const seen = out.get(m[1]!) ?? { calls: 0, usec: 0 };
        out.set(m[1]!, { calls: seen.calls + Number(m[2]), usec: seen.usec + Number(m[3]) });
      }
    }
    return out;
  }

  /** Bytes Redis holds (INFO memory used_memory). */
  async usedMemory(): Promise<number | undefined> {
    let total = 0;
    for (const info of await this.infos('memory')) {
      const m = /used_memory:(\d+)/.exec(info)?.[1];
      if (m === undefined) return undefined;
      total += Number(m);
    }
    return total;
  }

  async redisVersion(): Promise<string | undefined> {
    const [info] = await this.infos('server');
    return /redis_version:(\S+)/.exec(info ?? '')?.[1];
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
