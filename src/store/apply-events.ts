// Applies accepted events to their users' state: one Lua call per user (all of
// that user's events at once), all users of a chunk in one pipeline, so a chunk
// costs one round trip plus the index updates riding on the same pipeline.
import type { Redis } from 'ioredis';
import { isCounted, type AcceptedEvent } from '../events/event-schema.js';
import { toStoredMessage } from '../events/stored-message.js';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';
import { pipelineResults } from './pipeline.js';

export interface ApplyResult {
  /** Events stored as new messages. */
  applied: number;
  /** Events found already applied. */
  duplicates: number;
  /** New messages that entered the fast tier (counted ones). */
  pending: number;
  /** Per user, the new messages' (id, seq), for the push that follows. */
  byUser: Map<string, { id: string; seq: number }[]>;
}

export async function applyEvents(redis: Redis, keys: Keys, events: AcceptedEvent[]): Promise<ApplyResult> {
  const byUser = new Map<string, AcceptedEvent[]>();
  for (const e of events) {
    const list = byUser.get(e.to);
    if (list) list.push(e);
    else byUser.set(e.to, [e]);
  }

  const pipeline = redis.pipeline();
  const scriptReply = new Map<string, number>();
  for (const [uid, list] of byUser) {
    const args: (string | number)[] = [];
    let oldest = Infinity;
    let oldestCounted = Infinity;
    for (const e of list) {
      const stored = toStoredMessage(e);
      args.push(e.id, e.category, stored.counted ? '1' : '0', e.accepted_at, JSON.stringify(stored));
      oldest = Math.min(oldest, e.accepted_at);
      if (stored.counted) oldestCounted = Math.min(oldestCounted, e.accepted_at);
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
    const seqs = replies[scriptReply.get(uid)!] as number[];
    const fresh: { id: string; seq: number }[] = [];
    list.forEach((e, i) => {
      const seq = seqs[i] ?? 0;
      if (seq === 0) {
        result.duplicates++;
        return;
      }
      result.applied++;
      if (isCounted(e)) result.pending++;
      fresh.push({ id: e.id, seq });
    });
    if (fresh.length > 0) result.byUser.set(uid, fresh);
  }
  return result;
}
