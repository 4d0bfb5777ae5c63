// Applies accepted events to their users' state: one Lua call for a whole chunk
// (at most MAX_EVENTS_PER_CALL events, so that no call holds Redis long), the
// index updates riding on the same round trip. The same call says where each
// user is online, and what to push there: the new pending messages, and those of
// a retried job that are still pending (its earlier attempt may never have pushed).
//
// One call for many users on a standalone Redis (or Sentinel); under Cluster one
// call per hash slot's users, the calls of one node in one pipeline.
import type { RedisClient } from '../redis/client.js';
import type { AcceptedEvent } from '../events/event-schema.js';
import { toStoredMessage, toView, type MessageView, type StoredMessage } from '../events/stored-message.js';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';
import type { ReplicaWait } from '../redis/replica-wait.js';
import { callsBySlot, execBatches } from '../redis/slot-groups.js';
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

/**
 * With `wait`, resolves only once the replicas have it all (an event's job is
 * then completed knowing that a failover keeps what it did).
 */
export async function applyEvents(redis: RedisClient, keys: Keys, events: AcceptedEvent[], wait?: ReplicaWait): Promise<ApplyResult> {
  const byUser = new Map<string, { stored: StoredMessage; acceptedAt: number }[]>();
  for (const e of events) {
    const entry = { stored: toStoredMessage(e), acceptedAt: e.accepted_at };
    const list = byUser.get(e.to);
    if (list) list.push(entry);
    else byUser.set(e.to, [entry]);
  }

  // One script call per group of users that share a slot (all users, on one
  // Redis), cut at MAX_EVENTS_PER_CALL events.
  type UserEvents = [uid: string, list: { stored: StoredMessage; acceptedAt: number }[]];
  const calls: UserEvents[][] = callsBySlot(
    redis,
    byUser.entries(),
    ([uid]) => keys.userBase(uid),
    ([, list]) => list.length,
    MAX_EVENTS_PER_CALL,
  );

  // zset key -> (score, uid) pairs: each user's oldest in their shard of each index.
  const indexEntries = new Map<string, (string | number)[]>();
  const index = (key: string, score: number, uid: string) => {
    const entries = indexEntries.get(key);
    if (entries) entries.push(score, uid);
    else indexEntries.set(key, [score, uid]);
  };
  for (const [uid, list] of byUser) {
    let oldest = Infinity;
    let oldestCounted = Infinity;
    for (const { stored, acceptedAt } of list) {
      oldest = Math.min(oldest, acceptedAt);
      if (stored.counted) oldestCounted = Math.min(oldestCounted, acceptedAt);
    }
    const shard = keys.shardOf(uid);
    index(shard.feedIndex, oldest, uid);
    if (oldestCounted !== Infinity) index(shard.fastIndex, oldestCounted, uid);
  }

  // The maintenance indexes say which users have something to age. They are
  // outside the users' slots, so they cannot be in the script; they are written
  // beside it (after it, in the same round trip, on one Redis), and again by any
  // retry of this job (LT: only ever lowered here), so a crash between the two
  // loses nothing. An index entry written before its events costs the sweep a
  // look at a user with nothing to age.
  type Batch = { call: UserEvents[] } | { index: string; entries: (string | number)[] };
  const batches: Batch[] = calls.map((call) => ({ call }));
  for (const [key, entries] of indexEntries) batches.push({ index: key, entries });
  const replies = await execBatches(
    redis,
    batches,
    (b) => ('call' in b ? keys.userBase(b.call[0]![0]) : b.index),
    (pipeline, b) => {
      if (!('call' in b)) {
        pipeline.zadd(b.index, 'LT', ...b.entries);
        return;
      }
      const args: (string | number)[] = [];
      for (const [, list] of b.call) {
        args.push(list.length);
        for (const { stored, acceptedAt } of list) {
          args.push(stored.id, stored.category, stored.counted ? '1' : '0', acceptedAt, JSON.stringify(stored));
        }
      }
      scripts.applyEvents.queue(
        pipeline,
        b.call.map(([uid]) => keys.userBase(uid)),
        args,
      );
    },
    wait,
  );
  // Users in the order of the calls, each with its decoded reply.
  const perUser = new Map<string, ReturnType<typeof scripts.applyEvents.decode>[number]>();
  calls.forEach((call, i) => {
    const decoded = scripts.applyEvents.decode(replies[i]![0]);
    call.forEach(([uid], k) => perUser.set(uid, decoded[k]!));
  });

  const result: ApplyResult = { applied: 0, duplicates: 0, pending: 0, stillPending: 0, byUser: new Map() };
  for (const [uid, list] of byUser) {
    const { seqs, nodes, unread, stillPending } = perUser.get(uid)!;
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
