// Every Redis key PMQ touches is named here and nowhere else.
//
// All keys of one user share the hash tag {u:<uid>}, so that the Lua scripts that
// touch several of them at once stay on one slot under Redis Cluster. The few
// global keys (the maintenance indexes, the stats) carry their own tags; nothing
// writes a user key and a global key in one script.
//
// The scripts that serve many users in one call (`*-n.lua`) take one key per
// user, its base `<prefix>:{u:<uid>}`, and the suffixes below as arguments, and
// build the user's key names from the two: a call carries one key per user
// instead of up to seven, and ioredis spends ~150 bytes writing each argument.
// The names are still made here alone.

/** The keys of one user, in the order the Lua scripts receive them (see lua/*.lua). */
export interface UserKeys {
  /** zset eventId -> accepted_at ms: the seen-marks that make applying idempotent */
  seen: string;
  /** string: the user's last message sequence number */
  seq: string;
  /** zset msgId -> seq: the feed, newest = highest seq */
  feed: string;
  /** hash msgId -> stored message JSON (see events/stored-message.ts) */
  msg: string;
  /** zset msgId -> seq: pending messages in the fast tier */
  fast: string;
  /** zset msgId -> seq: pending messages in the delayed tier */
  delayed: string;
  /** hash category -> unread count (no field when zero) */
  unread: string;
  /** hash category -> seq: every counted message of the category with seq <= this is read */
  readmark: string;
  /** set of msgIds read one by one above their category's readmark */
  readids: string;
  /** hash nodeId -> 1: the gateway nodes holding a socket of this user */
  nodes: string;
}

/** What follows a user's base key in each of its key names. */
export const USER_KEY_SUFFIX: Readonly<Record<keyof UserKeys, string>> = {
  seen: ':seen',
  seq: ':seq',
  feed: ':feed',
  msg: ':msg',
  fast: ':fast',
  delayed: ':delayed',
  unread: ':unread',
  readmark: ':readmark',
  readids: ':readids',
  nodes: ':nodes',
};

export class Keys {
  constructor(readonly prefix: string) {}

  /** The part every key of the user starts with; it holds the user's hash tag. */
  userBase(uid: string): string {
    return `${this.prefix}:{u:${uid}}`;
  }

  user(uid: string): UserKeys {
    const p = this.userBase(uid);
    const s = USER_KEY_SUFFIX;
    return {
      seen: p + s.seen,
      seq: p + s.seq,
      feed: p + s.feed,
      msg: p + s.msg,
      fast: p + s.fast,
      delayed: p + s.delayed,
      unread: p + s.unread,
      readmark: p + s.readmark,
      readids: p + s.readids,
      nodes: p + s.nodes,
    };
  }

  /** zset uid -> accepted_at ms of (about) the oldest fast-tier message: who needs a tier move */
  get fastIndex(): string {
    return `${this.prefix}:{idx}:fast`;
  }

  /** zset uid -> accepted_at ms of (about) the oldest feed message: who needs a purge */
  get feedIndex(): string {
    return `${this.prefix}:{idx}:feed`;
  }

  /** hash of service-wide tallies (tier sizes, purges); see store/stats.ts */
  get stats(): string {
    return `${this.prefix}:{stats}`;
  }

  /** string: the node id of the cron leader, with a TTL */
  get cronLeader(): string {
    return `${this.prefix}:{cron}:leader`;
  }

  /** zset nodeId -> last heartbeat ms: the gateway nodes alive */
  get nodes(): string {
    return `${this.prefix}:{nodes}`;
  }

  /** set of uids with a socket on this node: what the sweep of a dead node cleans */
  nodeUsers(nodeId: string): string {
    return `${this.prefix}:{node:${nodeId}}:users`;
  }

  /** the pub/sub channel of one gateway node */
  nodeChannel(nodeId: string): string {
    return `${this.prefix}:node:${nodeId}`;
  }

  /** string: a main-site token's uid (or "" for an invalid one), cached; by the token's hash */
  authCache(tokenHash: string): string {
    return `${this.prefix}:auth:${tokenHash}`;
  }

  /** string: the node calling the main site for this token now, with a TTL (single flight across nodes) */
  authLock(tokenHash: string): string {
    return `${this.prefix}:auth:${tokenHash}:lock`;
  }

  /** zset uid -> time (ms) of the user's next redelivery check (see workers/fast.worker.ts) */
  get redeliverDue(): string {
    return `${this.prefix}:{redeliver}:due`;
  }

  /** hash uid -> redelivery checks done since the last push */
  get redeliverAttempts(): string {
    return `${this.prefix}:{redeliver}:attempts`;
  }

  /** BullMQ's prefix: one hash tag, so that each queue's keys share a slot under Cluster */
  get queuePrefix(): string {
    return `{${this.prefix}}`;
  }
}
