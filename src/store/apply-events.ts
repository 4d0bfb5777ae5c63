// Applies accepted events to their users' state: one Lua call per user (all of
// that user's events at once), all users of a chunk in one pipeline, so a chunk
// costs one round trip, the index updates riding on the same pipeline. The same
// call says where each user is online, for the push that follows.
import type { Redis } from 'ioredis';
import type { AcceptedEvent } from '../events/event-schema.js';
import { toStoredMessage, toView, type MessageView, type StoredMessage } from '../events/stored-message.js';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';
import { pipelineResults } from './pipeline.js';
import { toCounts, type UnreadCounts } from './unread.js';

export interface UserApplied {
  /** The new messages that are pending (not the duplicates, not self-comments), in seq order. */
  pending: MessageView[];
  /** The gateway nodes holding the user (empty: offline). */
  nodes: string[];
  /** The counts after these events; only when the user is online and something was new. */
  unread: UnreadCounts | undefined;
}

export interface ApplyResult {
  /** Events stored as new messages. */
  applied: number;
  /** Events found already applied. */
  duplicates: number;
  /** New messages that entered the fast tier (counted ones). */
  pending: number;
  byUser: Map<string, UserApplied>;
}

export async function applyEvents(redis: Redis, keys: Keys, events: AcceptedEvent[]): Promise<ApplyResult> {
  const byUser = new Map<string, { stored: StoredMessage; acceptedAt: number }[]>();
  for (const e of events) {
    const entry = { stored: toStoredMessage(e), acceptedAt: e.accepted_at };
    const list = byUser.get(e.to);
    if (list) list.push(entry);
    else byUser.set(e.to, [entry]);
  }

  const pipeline = redis.pipeline();
  const scriptReply = new Map<string, number>();
  for (const [uid, list] of byUser) {
    const args: (string | number)[] = [];
    let oldest = Infinity;
    let oldestCounted = Infinity;
    for (const { stored, acceptedAt } of list) {
      args.push(stored.id, stored.category, stored.counted ? '1' : '0', acceptedAt, JSON.stringify(stored));
      oldest = Math.min(oldest, acceptedAt);
      if (stored.counted) oldestCounted = Math.min(oldestCounted, acceptedAt);
    }
    scriptReply.set(uid, pipeline.length);
    void scripts.applyEvents(pipeline, keys.user(uid), args);
    // The maintenance indexes say which users have something to age. They are
    // outside the user's slot, so they cannot be in the script; they are written
    // after it, in the same round trip, and again by any retry of this job (LT:
    // only ever lowered here), so a crash between the two loses nothing.
    pipeline.zadd(keys.feedIndex, 'LT', oldest, uid);
    if (oldestCounted !== Infinity) pipeline.zadd(keys.fastIndex, 'LT', oldestCounted, uid);
  }
  const replies = await pipelineResults(pipeline);

  const result: ApplyResult = { applied: 0, duplicates: 0, pending: 0, byUser: new Map() };
  for (const [uid, list] of byUser) {
    const [seqs, nodes, unread] = replies[scriptReply.get(uid)!] as [number[], string[], string[]];
    const pending: MessageView[] = [];
    list.forEach(({ stored }, i) => {
      const seq = seqs[i] ?? 0;
      if (seq === 0) {
        result.duplicates++;
        return;
      }
      result.applied++;
      if (!stored.counted) return;
      result.pending++;
      pending.push(toView(stored, seq, 'pending', 'fast'));
    });
    result.byUser.set(uid, { pending, nodes, unread: unread.length > 0 ? toCounts(uid, unread) : undefined });
  }
  return result;
}
