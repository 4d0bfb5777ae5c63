// Delivery acks, whatever the front end: over HTTP one user's at once; from the
// gateway many users' together (gateway/ack-batcher.ts gathers them); at a
// reconnect, everything up to the client's `since`. Whatever the way, what an
// ack does besides Redis (the tallies, the metric) is done by `counted`, here.
import type { Context } from '../context.js';
import { ackMessages, ackMessagesOfUsers } from '../store/pending.js';

export interface Acked {
  fast: number;
  delayed: number;
}

/** One user's acks; returns how many messages left the pending set. */
export async function ack(ctx: Context, uid: string, ids: string[]): Promise<number> {
  return counted(ctx, await ackMessages(ctx.redis, ctx.keys, uid, ids));
}

/** Many users' acks in one round trip; returns how many messages left the pending set. */
export async function ackOfUsers(ctx: Context, acks: Map<string, Set<string>>): Promise<number> {
  return counted(ctx, await ackMessagesOfUsers(ctx.redis, ctx.keys, acks));
}

/** The tallies and the metric of messages acked in Redis (by any of the above, or by `since`). */
export function counted(ctx: Context, acked: Acked): number {
  const n = acked.fast + acked.delayed;
  if (n === 0) return 0;
  ctx.stats.add({ fast: -acked.fast, delayed: -acked.delayed });
  ctx.metrics.acks.inc(n);
  return n;
}
