// Redelivery of the fast tier: a pushed message that is not acked within the
// ack timeout is pushed again, the wait doubling each time, up to
// PMQ_REDELIVER_MAX times; what is still pending then waits for the next login
// or pull.
//
// Not a BullMQ job per pushed user: that cost a third of the push path (see
// docs/performance.md). A push puts its users in a Redis schedule (uid -> due
// time); every worker process sweeps the due ones every moment, claiming them
// atomically so that two workers never take the same user. The schedule is in
// shards (redis/keys.ts): a sweep asks each shard for its share.
import type { Context } from '../src/context.js';
import { scripts } from '../src/redis/scripts.js';
import { execBatches } from '../src/redis/slot-groups.js';
import { pendingPages } from '../src/store/pending.js';

/**
 * Users claimed per round (over all shards of the schedule), and rounds per
 * sweep: what is left waits for the next sweep.
 */
const CLAIM = 500;
const ROUNDS = 10;

/** What the sweep uses. */
export type RedeliveryDeps = Pick<Context, 'redis' | 'keys' | 'publisher' | 'metrics' | 'logger' | 'config'>;

export class RedeliverySweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: RedeliveryDeps) {}

  start(): void {
    // Often, so that what comes due is taken as it comes rather than a second's
    // worth at once (still at most ROUNDS × CLAIM users a sweep, as after a
    // fan-out). An idle sweep is one script call.
    const every = Math.min(200, Math.max(50, Math.floor(this.ctx.config.ackTimeoutMs / 2)));
    this.timer = setInterval(() => {
      this.running = this.running
        .then(() => this.sweep())
        .then(
          () => undefined,
          (err: Error) => this.ctx.logger.warn({ err: err.message }, 'redelivery sweep failed'),
        );
    }, every);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One sweep: claim due users, push again what they still have pending. */
  async sweep(): Promise<number> {
    const { redis, keys, config, publisher, metrics } = this.ctx;
    let redelivered = 0;
    // Every shard is asked in the first round (one pipeline per node); only those
    // that gave all they were asked for are asked again.
    let shards = keys.allShards;
    const perShard = Math.ceil(CLAIM / keys.shards);
    for (let round = 0; round < ROUNDS && shards.length > 0; round++) {
      const now = Date.now();
      const replies = await execBatches(
        redis,
        [...shards],
        (shard) => shard.redeliverDue,
        (p, shard) => scripts.claimRedeliveries.queue(p, shard, now, perShard, config.ackTimeoutMs, config.redeliverMax),
      );
      const claimedByShard = replies.map(([reply]) => scripts.claimRedeliveries.decode(reply));
      const claimed = claimedByShard.flat();
      if (claimed.length === 0) break;

      const pages = await pendingPages(redis, keys, claimed.map((c) => c.uid), 'fast', 0, config.pageSize);
      const withPending = claimed.map((c, i) => ({ ...c, messages: pages[i]! })).filter((c) => c.messages.length > 0);
      const online = await publisher.deliver(withPending.map((c) => ({ uid: c.uid, messages: c.messages })));
      for (const c of withPending) if (online.has(c.uid)) redelivered += c.messages.length;

      // Nothing pending, or gone offline: off the schedule (unless pushed again since).
      const releases = shards
        .map((shard, i) => ({ shard, done: claimedByShard[i]!.filter((c) => c.nextAt >= 0 && !online.has(c.uid)) }))
        .filter((r) => r.done.length > 0);
      await execBatches(
        redis,
        releases,
        (r) => r.shard.redeliverDue,
        (p, r) => scripts.releaseRedeliveries.queue(p, r.shard, r.done.map((c) => ({ uid: c.uid, scheduledAt: c.nextAt }))),
      );
      shards = shards.filter((_, i) => claimedByShard[i]!.length === perShard);
    }
    metrics.redeliveries.inc(redelivered);
    return redelivered;
  }
}
