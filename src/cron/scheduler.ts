// The `cron` role: node-cron ticks that enqueue maintenance jobs. Several cron
// processes may run; only the holder of a Redis leader lock enqueues, and a job of
// a task still waiting or running is not added twice (BullMQ deduplication).
import cron, { type ScheduledTask } from 'node-cron';
import type { Context } from '../context.js';
import type { MaintenanceTask } from '../queues.js';
import { scripts } from '../redis/scripts.js';

export interface LeaderLockOptions {
  /** How long the lock outlives a leader that stopped renewing it. Default 30 s. */
  ttlMs: number;
  /** How often the leader renews and the others try to take it. Default 10 s. */
  renewEveryMs: number;
}

const DEFAULT_LOCK: LeaderLockOptions = { ttlMs: 30_000, renewEveryMs: 10_000 };

export class CronScheduler {
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private tasks: ScheduledTask[] = [];

  constructor(
    private readonly ctx: Pick<Context, 'config' | 'keys' | 'logger' | 'queues' | 'redis'>,
    private readonly lock: LeaderLockOptions = DEFAULT_LOCK,
  ) {}

  get isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    const { config } = this.ctx;
    await this.campaign();
    this.timer = setInterval(() => void this.campaign(), this.lock.renewEveryMs);
    this.tasks = [
      cron.schedule(config.cronTierMove, () => this.enqueue('tier-move'), { name: 'tier-move', noOverlap: true }),
      cron.schedule(config.cronPurge, () => this.enqueue('purge'), { name: 'purge', noOverlap: true }),
      cron.schedule(config.cronNodeSweep, () => this.enqueue('node-sweep'), { name: 'node-sweep', noOverlap: true }),
      cron.schedule(config.cronChatSweep, () => this.enqueue('chat-sweep'), { name: 'chat-sweep', noOverlap: true }),
    ];
  }

  /** Adds a maintenance job now, when this process leads. Returns whether it did. */
  async enqueue(task: MaintenanceTask): Promise<boolean> {
    if (!this.leader) return false;
    try {
      await this.ctx.queues.maintenance.add(task, { task }, { deduplication: { id: task } });
      return true;
    } catch (err) {
      this.ctx.logger.warn({ task, err: (err as Error).message }, 'could not enqueue maintenance');
      return false;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.tasks.map((t) => t.destroy()));
    this.tasks = [];
    if (this.leader) {
      this.leader = false;
      await scripts.renewLock(this.ctx.redis, this.ctx.keys.cronLeader, this.ctx.config.nodeId, 0).catch(() => 0);
    }
  }

  /** Takes the lock when free, keeps it while held; loses it when Redis says so. */
  private async campaign(): Promise<void> {
    const { redis, keys, config, logger } = this.ctx;
    try {
      const was = this.leader;
      if (this.leader) {
        this.leader = await scripts.renewLock(redis, keys.cronLeader, config.nodeId, this.lock.ttlMs);
      } else {
        this.leader = (await redis.set(keys.cronLeader, config.nodeId, 'PX', this.lock.ttlMs, 'NX')) === 'OK';
      }
      if (this.leader !== was) logger.info({ leader: this.leader }, this.leader ? 'cron leader' : 'cron leadership lost');
    } catch (err) {
      // Without Redis this process cannot know whether it still leads: step down.
      this.leader = false;
      logger.warn({ err: (err as Error).message }, 'cron leader lock check failed');
    }
  }
}
