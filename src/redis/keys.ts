// Every Redis key PMQ touches is named here and nowhere else.
//
// All keys of one user share the hash tag {u:<uid>}, so that the Lua scripts that
// touch several of them at once stay on one slot under Redis Cluster. The global
// keys that every user's traffic writes (the maintenance indexes, the redelivery
// schedule, the stats) are split into shards (PMQ_REDIS_SHARDS), each shard's
// keys of one kind under a tag of their own ({idx:3}), so that no single slot
// carries every user; a user's entries go to the shard of their slot. Nothing
// writes a user key and a global key in one script.
//
// The scripts that serve many users in one call (`*-n.lua`) take one key per
// user, its base `<prefix>:{u:<uid>}`, and the suffixes below as arguments, and
// build the user's key names from the two: a call carries one key per user
// instead of up to seven, and ioredis spends ~150 bytes writing each argument.
// The names are still made here alone.

import { slotOf } from './slot-groups.js';

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
  /** hash of a chat visitor: `open` (their open conversation), `last` (their latest one) */
  chat: string;
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
  chat: ':chat',
};

/** The global keys of one shard. Each kind's two keys share a tag: a script takes both. */
export interface ShardKeys {
  /** zset uid -> accepted_at ms of (about) the oldest fast-tier message: who needs a tier move */
  fastIndex: string;
  /** zset uid -> accepted_at ms of (about) the oldest feed message: who needs a purge */
  feedIndex: string;
  /** zset uid -> time (ms) of the user's next redelivery check (see workers/fast.worker.ts) */
  redeliverDue: string;
  /** hash uid -> redelivery checks done since the last push */
  redeliverAttempts: string;
  /** hash of service-wide tallies (tier sizes, purges); see store/stats.ts */
  stats: string;
}

/** The keys of one chat conversation: all under its tag {c:<id>}. */
export interface ConversationKeys {
  /** hash: the conversation's record (see store/chat-conversations.ts) */
  record: string;
  /** hash seq -> message JSON: its history, seq from 1 without gaps */
  messages: string;
  /** hash client_id -> seq: what makes a resend one message */
  clientIds: string;
  /** hash `<uid>:delivered` / `<uid>:read` -> seq: each participant's receipts */
  receipts: string;
}

/**
 * The chat's routing state: agents, presence, loads and the queue, all under
 * the one tag {cs}, so that a routing step is one script on one slot (see
 * lua/chat-*.lua). Small by construction: bounded by PMQ_CHAT_MAX_AGENTS and
 * by the conversations open at once.
 */
export interface ChatRoutingKeys {
  /** hash agentId (the whole uid, `agent:7`, as in every field below) -> JSON {name, capacity}: the registered agents */
  agents: string;
  /** hash agentId -> capacity: how many conversations the agent may hold */
  capacity: string;
  /** hash agentId -> "online" | "away"; no field: offline */
  status: string;
  /** hash conversationId -> agentId: who holds each assigned conversation */
  held: string;
  /** zset conversationId -> waiting_since ms: the queue, FIFO */
  queue: string;
  /** hash conversationId -> agentId: the agent who last served a queued conversation's visitor */
  prefer: string;
  /** zset agentId -> ms: agents whose last socket closed, and when their grace ends */
  grace: string;
  /** string: counts the routing steps; orders the moves of one conversation (see store/chat-routing.ts) */
  version: string;
  /** hash conversationId -> "position:eta" last told to its visitor (push/chat-queue-positions.ts) */
  queueTold: string;
  /** string with a TTL: the process telling the queue its places this second */
  queueTick: string;
  /** list of the last handling times (ms, assigned to resolved), newest first: the queue's eta */
  handling: string;
  /** hash held|queue -> SCAN cursor: where the repair sweep goes on (ops/chat-repair.ts) */
  repairCursor: string;
  /**
   * What precedes an agent's id in the key of the conversations they hold
   * (zset conversationId -> waiting_since ms), `<this><agentId>`: the scripts
   * build it, in the same slot.
   */
  heldByPrefix: string;
}

/**
 * The chat's figures of the last hour, service-wide (store/chat-stats.ts): under
 * a tag of their own ({chat-stats}), so that they add nothing to the routing's
 * slot {cs}. Bounded by construction: one counter a minute, each expiring after
 * two hours, and at most CHAT_SAMPLE_CAP samples in each sorted set.
 */
export interface ChatStatsKeys {
  /** What precedes an epoch minute in the key of that minute's assignments count (string, with a TTL) */
  assignmentsPrefix: string;
  /** zset `<ms>:<conversation>:<at ms>` -> at ms: the waits (queue to agent) of the last hour */
  wait: string;
  /** zset `<ms>:<conversation>:<at ms>` -> at ms: the first-response times of the last hour */
  firstResponse: string;
}

/**
 * Resolved conversations, by when they were resolved, for GET
 * /v1/chat/conversations?status=resolved: under a tag of their own
 * ({chat-resolved}). Bounded by the retention: each write drops what is older.
 */
export interface ResolvedIndexKeys {
  /** zset conversationId -> resolved_at ms: all of them */
  all: string;
  /** What precedes an agent's id in the key of their own (zset, as `all`) */
  byAgentPrefix: string;
}

/** Shards of the global keys when PMQ_REDIS_SHARDS does not say. */
export const DEFAULT_SHARDS = 16;

export class Keys {
  /** Every shard, then the keys of before the shards (see allShards). */
  private readonly shardList: ShardKeys[];

  constructor(
    readonly prefix: string,
    readonly shards = DEFAULT_SHARDS,
    /** True on a cluster: each queue on a slot of its own (see queue). */
    private readonly queuesBySlot = false,
  ) {
    this.shardList = Array.from({ length: shards }, (_, k) => this.shardKeys(`:${k}`));
    this.shardList.push(this.shardKeys(''));
  }

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
      chat: p + s.chat,
    };
  }

  /** The shard that holds a user's entries in the global keys: that of the user's slot. */
  shardOf(uid: string): ShardKeys {
    return this.shardList[slotOf(this.userBase(uid)) % this.shards]!;
  }

  /**
   * What the sweeps read: every shard, and last the single keys that PMQ used
   * before it had shards (`{idx}:fast` …). Nothing writes those any more; what
   * they still hold is swept like a shard's, and so drains away.
   */
  get allShards(): readonly ShardKeys[] {
    return this.shardList;
  }

  /** The single keys of before the shards: read and drained, never written. */
  get unsharded(): ShardKeys {
    return this.shardList[this.shards]!;
  }

  private shardKeys(suffix: string): ShardKeys {
    const p = this.prefix;
    return {
      fastIndex: `${p}:{idx${suffix}}:fast`,
      feedIndex: `${p}:{idx${suffix}}:feed`,
      redeliverDue: `${p}:{redeliver${suffix}}:due`,
      redeliverAttempts: `${p}:{redeliver${suffix}}:attempts`,
      stats: `${p}:{stats${suffix}}`,
    };
  }

  /** A conversation's keys, one slot ({c:<id>}). */
  conversation(id: string): ConversationKeys {
    const p = `${this.prefix}:{c:${id}}`;
    return { record: `${p}:record`, messages: `${p}:messages`, clientIds: `${p}:client-ids`, receipts: `${p}:receipts` };
  }

  /** The chat's routing state, one slot ({cs}). */
  get chatRouting(): ChatRoutingKeys {
    const p = `${this.prefix}:{cs}`;
    return {
      agents: `${p}:agents`,
      capacity: `${p}:capacity`,
      status: `${p}:status`,
      held: `${p}:held`,
      queue: `${p}:queue`,
      prefer: `${p}:prefer`,
      grace: `${p}:grace`,
      version: `${p}:version`,
      queueTold: `${p}:queue-told`,
      queueTick: `${p}:queue-tick`,
      handling: `${p}:handling`,
      repairCursor: `${p}:repair-cursor`,
      heldByPrefix: `${p}:held-by:`,
    };
  }

  /** The chat's figures of the last hour, one slot ({chat-stats}). */
  get chatStats(): ChatStatsKeys {
    const p = `${this.prefix}:{chat-stats}`;
    return { assignmentsPrefix: `${p}:assignments:`, wait: `${p}:wait`, firstResponse: `${p}:first-response` };
  }

  /** The index of resolved conversations, one slot ({chat-resolved}). */
  get chatResolved(): ResolvedIndexKeys {
    const p = `${this.prefix}:{chat-resolved}`;
    return { all: `${p}:all`, byAgentPrefix: `${p}:agent:` };
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

  /**
   * Where BullMQ keeps a queue: the prefix and the name to give it. BullMQ names
   * every key of a queue `<prefix>:<name>:…`, and its scripts need them on one
   * slot under Cluster: the prefix carries a hash tag. On one Redis it is the
   * same for every queue (`{pmq}:events:…`, as PMQ always had it: a new prefix
   * would strand the queued jobs at an upgrade); on a cluster each queue has its
   * own (`{pmq:events}:events:…`), so that the queues are on slots of their own,
   * which the cluster may put on different masters: the login drains of a
   * reconnect storm need not queue behind the events on one master.
   */
  queue(name: string): { prefix: string; name: string } {
    return { prefix: this.queuesBySlot ? `{${this.prefix}:${name}}` : `{${this.prefix}}`, name };
  }
}
