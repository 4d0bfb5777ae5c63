// Redelivery of the fast tier: a pushed message that is not acked within the
// ack timeout is pushed again, the wait doubling each time, up to
// PMQ_REDELIVER_MAX times; what is still pending then waits for the next login
// or pull.
//
// Not a BullMQ job per pushed user: that cost a third of the push path (see
// docs/performance.md). A push puts its users in a Redis schedule (uid -> due
// time); every worker process sweeps the due ones every moment, claiming them
// atomically so that two workers never take the same user.
import type { Context } from '../src/context.js';
import { scripts } from '../src/redis/scripts.js';
import { pendingPages } from '../src/store/pending.js';

/** Users claimed per round, and rounds per sweep: what is left waits for the next sweep. */
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
    for (let round = 0; round < ROUNDS; round++) {
      const claimed = await scripts.claimRedeliveries(redis, keys, Date.now(), CLAIM, config.ackTimeoutMs, config.redeliverMax);
      if (claimed.length === 0) break;

      const pages = await pendingPages(redis, keys, claimed.map((c) => c.uid), 'fast', 0, config.pageSize);
      const withPending = claimed.map((c, i) => ({ ...c, messages: pages[i]! })).filter((c) => c.messages.length > 0);
      const online = await publisher.deliver(withPending.map((c) => ({ uid: c.uid, messages: c.messages })));
      for (const c of withPending) if (online.has(c.uid)) redelivered += c.messages.length;

      // Nothing pending, or gone offline: off the schedule (unless pushed again since).
      const done = claimed.filter((c) => c.nextAt >= 0 && !online.has(c.uid));
      if (done.length > 0) await scripts.releaseRedeliveries(redis, keys, done.map((c) => ({ uid: c.uid, scheduledAt: c.nextAt })));
      if (claimed.length < CLAIM) break;
    }
    metrics.redeliveries.inc(redelivered);
    return redelivered;
  }
}
