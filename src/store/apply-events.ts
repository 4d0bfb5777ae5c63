// Applies accepted events to their users' state: one Lua call for a whole chunk
// (at most MAX_EVENTS_PER_CALL events, so that no call holds Redis long), the
// index updates riding on the same round trip. The same call says where each
// user is online, and what to push there: the new pending messages, and those of
// a retried job that are still pending (its earlier attempt may never have pushed).
//
// One call for many users is right on a standalone Redis (or Sentinel). Under
// Cluster the users of one call must share a hash slot: the grouping goes here.
import type { RedisClient } from '../redis/client.js';
import type { AcceptedEvent } from '../events/event-schema.js';
import { toStoredMessage, toView, type MessageView, type StoredMessage } from '../events/stored-message.js';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';
import { pipelineResults } from '../redis/pipeline.js';
import { toCounts, type UnreadCounts } from './unread.js';

export interface UserApplied {
  /**
   * What to push, in seq order; only for an online user: the new pending messages
   * (not self-comments) and the duplicates still pending in the fast tier.
   */
  pending: MessageView[];
  /** The gateway nodes holding the user (empty: offline). */
  nodes: string[];
  /** The counts after these events; only when the user is online and something is new or still pending. */
  unread: UnreadCounts | undefined;
}

export interface ApplyResult {
  /** Events stored as new messages. */
  applied: number;
  /** Events found already applied. */
  duplicates: number;
  /** New messages that entered the fast tier (counted ones). */
  pending: number;
  /** Duplicates still pending in the fast tier of an online user: pushed again. */
  stillPending: number;
  byUser: Map<string, UserApplied>;
}

/** About 2 ms of Redis per 100 events: calls are cut at this many events. */
const MAX_EVENTS_PER_CALL = 250;

export async function applyEvents(redis: RedisClient, keys: Keys, events: AcceptedEvent[]): Promise<ApplyResult> {
  const byUser = new Map<string, { stored: StoredMessage; acceptedAt: number }[]>();
  for (const e of events) {
    const entry = { stored: toStoredMessage(e), acceptedAt: e.accepted_at };
    const list = byUser.get(e.to);
    if (list) list.push(entry);
    else byUser.set(e.to, [entry]);
  }

  const pipeline = redis.pipeline();
  const calls: number[] = []; // the pipeline positions of the script calls
  let users: string[] = []; // base keys
  let args: (string | number)[] = [];
  let inCall = 0;
  const feedIndex: (string | number)[] = [];
  const fastIndex: (string | number)[] = [];
  const endCall = () => {
    calls.push(pipeline.length);
    scripts.applyEvents.queue(pipeline, users, args);
    users = [];
    args = [];
    inCall = 0;
  };
  for (const [uid, list] of byUser) {
    if (inCall > 0 && inCall + list.length > MAX_EVENTS_PER_CALL) endCall();
    let oldest = Infinity;
    let oldestCounted = Infinity;
    args.push(list.length);
    for (const { stored, acceptedAt } of list) {
      args.push(stored.id, stored.category, stored.counted ? '1' : '0', acceptedAt, JSON.stringify(stored));
      oldest = Math.min(oldest, acceptedAt);
      if (stored.counted) oldestCounted = Math.min(oldestCounted, acceptedAt);
    }
    users.push(keys.userBase(uid));
    inCall += list.length;
    feedIndex.push(oldest, uid);
    if (oldestCounted !== Infinity) fastIndex.push(oldestCounted, uid);
  }
  if (inCall > 0) endCall();
  // The maintenance indexes say which users have something to age. They are
  // outside the users' slots, so they cannot be in the script; they are written
  // after it, in the same round trip, and again by any retry of this job (LT:
  // only ever lowered here), so a crash between the two loses nothing.
  if (feedIndex.length > 0) pipeline.zadd(keys.feedIndex, 'LT', ...feedIndex);
  if (fastIndex.length > 0) pipeline.zadd(keys.fastIndex, 'LT', ...fastIndex);
  const replies = await pipelineResults(pipeline);
  const perUser = calls.flatMap((i) => scripts.applyEvents.decode(replies[i]));

  const result: ApplyResult = { applied: 0, duplicates: 0, pending: 0, stillPending: 0, byUser: new Map() };
  let u = 0;
  for (const [uid, list] of byUser) {
    const { seqs, nodes, unread, stillPending } = perUser[u++]!;
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
      // Views are for the push: most users are offline and need none.
      if (nodes.length > 0) pending.push(toView(stored, seq, 'pending', 'fast'));
    });
    if (stillPending.length > 0) {
      // An id twice in one job is new once and then a duplicate: pushed once.
      const ids = new Set(pending.map((m) => m.id));
      for (const m of stillPending) {
        if (ids.has(m.id)) continue;
        pending.push(m);
        result.stillPending++;
      }
      pending.sort((x, y) => x.seq - y.seq);
    }
    result.byUser.set(uid, { pending, nodes, unread: unread.length > 0 ? toCounts(uid, unread) : undefined });
  }
  return result;
}
