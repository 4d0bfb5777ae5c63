// Loads lua/*.lua once and gives each script a typed wrapper. The file name says
// the script's name and key count (`read-6.lua`), as in BullMQ, or `-n` where the
// count varies (the caller passes it); each file opens with a comment naming its
// KEYS and ARGV.
import { readFileSync, readdirSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './client.js';
import { toView, type MessageView, type StoredMessage, type Tier } from '../events/stored-message.js';
import { USER_KEY_SUFFIX as S, type ChatRoutingKeys, type ConversationKeys, type ShardKeys, type UserKeys } from './keys.js';

const luaDir = new URL('./lua/', import.meta.url);

interface ScriptFile {
  name: string;
  /** Undefined for a `-n.lua` script: the caller passes the key count first. */
  numberOfKeys: number | undefined;
  lua: string;
}

let cached: ScriptFile[] | undefined;

function scriptFiles(): ScriptFile[] {
  cached ??= readdirSync(luaDir)
    .filter((f) => f.endsWith('.lua'))
    .map((f) => {
      const match = /^(.+)-(\d+|n)\.lua$/.exec(f);
      if (!match) throw new Error(`Lua script ${f} must be named <name>-<key count or n>.lua`);
      const numberOfKeys = match[2] === 'n' ? undefined : Number(match[2]);
      return { name: match[1]!, numberOfKeys, lua: withIncludes(readFileSync(new URL(f, luaDir), 'utf8'), f) };
    });
  // Two files of one name (a stale copy left in dist/ by a rename) would make the
  // key count a matter of directory order.
  const names = cached.map((s) => s.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new Error(`two Lua scripts named ${twice} in ${luaDir.pathname}`);
  return cached;
}

/**
 * Shared Lua, as in BullMQ: a line `--- @include "name"` is replaced by
 * lua/includes/name.lua, so that what several scripts need is written once.
 */
function withIncludes(lua: string, file: string): string {
  return lua.replace(/^--- @include "([a-z0-9-]+)"$/gm, (_, name: string) => {
    try {
      return readFileSync(new URL(`includes/${name}.lua`, luaDir), 'utf8');
    } catch {
      throw new Error(`Lua script ${file} includes "${name}": no lua/includes/${name}.lua`);
    }
  });
}

/** Sends a script's call (its keys then its ARGV, flat); on a pipeline it is queued. */
function send(runner: RedisClient | ChainableCommander, command: string, keysAndArgs: (string | number)[]): unknown {
  const fn = (runner as unknown as Record<string, (...a: unknown[]) => unknown>)[command];
  if (typeof fn !== 'function') throw new Error(`Lua script ${command} is not defined on this client`);
  return fn.apply(runner, keysAndArgs);
}

/**
 * A script's typed entry point. Called with a client, it runs the script and
 * resolves to the reply decoded into named fields; `queue` puts the same call on
 * a pipeline, whose caller decodes that reply out of pipeline.exec with `decode`.
 */
export type Script<A extends unknown[], D extends (raw: unknown, ...args: A) => unknown> = ((
  redis: RedisClient,
  ...args: A
) => Promise<ReturnType<D>>) & {
  queue: (pipeline: ChainableCommander, ...args: A) => void;
  /** The reply as the .lua file's Output lists it, into named fields. */
  decode: D;
};

/**
 * `call` gives the keys then ARGV for ioredis (a `-n` script's key count first),
 * in the order the .lua file lists them; `decode` may take the call's first
 * arguments when the reply alone does not say everything (pendingPage: the tier).
 */
function script<A extends unknown[], D extends (raw: unknown, ...args: A) => unknown>(
  command: string,
  call: (...args: A) => (string | number)[],
  decode: D,
): Script<A, D> {
  const run = async (redis: RedisClient, ...args: A) => {
    const raw = await (send(redis, command, call(...args)) as Promise<unknown>);
    return decode(raw, ...args) as ReturnType<D>;
  };
  const queue = (pipeline: ChainableCommander, ...args: A): void => {
    send(pipeline, command, call(...args));
  };
  return Object.assign(run, { queue, decode });
}

/** Registers every script on a client (EVALSHA, with EVAL on NOSCRIPT, by ioredis). */
export function defineScripts(redis: RedisClient): void {
  for (const s of scriptFiles()) {
    const command = camel(s.name);
    if (typeof (redis as unknown as Record<string, unknown>)[command] === 'function') continue;
    redis.defineCommand(command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** One user's part of applyEvents' reply. */
export interface AppliedUser {
  /** Per event, in order: its seq, or 0 for a duplicate. */
  seqs: number[];
  /** The gateway nodes holding the user (empty: offline). */
  nodes: string[];
  /** category, count, ... as HGETALL lists them (empty when nothing is pushed). */
  unread: string[];
  /** The duplicates still pending in the fast tier (only for an online user). */
  stillPending: MessageView[];
}

/** A message of a feed page and what its state follows from. */
export interface FeedEntry {
  stored: StoredMessage;
  seq: number;
  /** Where it waits for delivery; null when not pending. */
  tier: Tier | null;
  unread: boolean;
}

/** One user claimed by claimRedeliveries. */
export interface ClaimedUser {
  uid: string;
  /** 1-based. */
  attempt: number;
  /** The next check as scheduled now; -1 when this was the last attempt. */
  nextAt: number;
}

/** What every chat routing step did besides its own result (see lua/includes/chat-routing.lua). */
export interface RoutingMoves<R> {
  result: R;
  /** Queued conversations given to agents, oldest first. */
  assigned: { conversation: string; agent: string }[];
  /** Conversations given back to the queue. */
  requeued: string[];
  /** The drain stopped at its limit with an agent still free: call again. */
  more: boolean;
  /** The routing state's version after the step: a conversation's record takes a move only from a newer one. */
  version: number;
}

/** How a chat routing step is called: its keys and the ARGV every one of them takes first. */
export interface RoutingCall {
  keys: ChatRoutingKeys;
  /** Below 2^31: ties between agents are broken with it. */
  seed: number;
  /** Queued conversations the step may assign at most. */
  drainLimit: number;
}

function routingArgs(c: RoutingCall): (string | number)[] {
  const k = c.keys;
  return [k.agents, k.capacity, k.status, k.held, k.queue, k.prefer, k.grace, k.version, k.heldByPrefix, c.seed, c.drainLimit];
}

function routingMoves<R>(raw: unknown, result: (r: unknown[]) => R): RoutingMoves<R> {
  const [r, assignedFlat, requeued, more, version] = raw as [unknown[], string[], string[], number, number];
  const assigned: RoutingMoves<R>['assigned'] = [];
  for (let i = 0; i + 1 < assignedFlat.length; i += 2) assigned.push({ conversation: assignedFlat[i]!, agent: assignedFlat[i + 1]! });
  return { result: result(r), assigned, requeued, more: more === 1, version };
}

/** Where chatRoute put a conversation. */
export type RouteResult = { outcome: 'assigned' | 'held'; agent: string } | { outcome: 'queued'; position: number };

/** A conversation's record as HGETALL lists it: decoded by store/chat-conversations.ts. */
export type RecordFields = Record<string, string>;

function fields(flat: unknown): RecordFields {
  const list = flat as string[];
  const out: RecordFields = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

const convKeys = (k: ConversationKeys) => [k.record, k.messages, k.clientIds, k.receipts];

/** The presence an agent can be given (see chat-agent-status-8.lua). */
export type AgentPresence = 'online' | 'away' | 'connected' | 'disconnected' | 'offline';

/** id, seq, stored JSON, ... of messages pending in `tier`: the views a push sends. */
function pendingViews(flat: string[], tier: Tier): MessageView[] {
  const views: MessageView[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    views.push(toView(JSON.parse(flat[i + 2]!) as StoredMessage, Number(flat[i + 1]), 'pending', tier));
  }
  return views;
}

// Typed entry points, one per script (see Script).
export const scripts = {
  /**
   * See apply-events-n.lua: one base key per user (Keys.userBase); ARGV per user:
   * its event count, then five per event. Reply: per user, in order, an AppliedUser.
   */
  applyEvents: script(
    'applyEvents',
    (bases: string[], args: (string | number)[]) => [
      bases.length,
      ...bases,
      S.seen,
      S.seq,
      S.feed,
      S.msg,
      S.fast,
      S.unread,
      S.nodes,
      ...args,
    ],
    (raw: unknown): AppliedUser[] =>
      (raw as [number[], string[], string[], string[]][]).map(([seqs, nodes, unread, stillPending]) => ({
        seqs,
        nodes,
        unread,
        stillPending: pendingViews(stillPending, 'fast'),
      })),
  ),

  /** See read-6.lua. counts: category, count, ... as HGETALL lists them, after the read. */
  read: script(
    'read',
    (k: UserKeys, mode: 'all' | 'category' | 'ids', items: string[]) => [
      k.feed,
      k.msg,
      k.unread,
      k.readmark,
      k.readids,
      k.seq,
      mode,
      ...items,
    ],
    (raw: unknown): { changed: number; counts: string[] } => {
      const [changed, ...counts] = raw as [number, ...string[]];
      return { changed, counts };
    },
  ),

  /**
   * See ack-n.lua: one base key per user (Keys.userBase); ARGV per user: its id
   * count, then the ids. Reply: how many left each tier, over all users.
   */
  ack: script(
    'ack',
    (acks: { base: string; ids: Iterable<string> }[]) => {
      const call: (string | number)[] = [acks.length];
      for (const { base } of acks) call.push(base);
      call.push(S.fast, S.delayed);
      for (const { ids } of acks) {
        // The count goes before the ids; an iterable's is known once they are in.
        const at = call.push(0) - 1;
        for (const id of ids) call.push(id);
        call[at] = call.length - at - 1;
      }
      return call;
    },
    (raw: unknown): { fast: number; delayed: number } => {
      const [fast, delayed] = raw as [number, number];
      return { fast, delayed };
    },
  ),

  /** See move-tier-3.lua. oldestLeft: accepted_at of the first message left in fast, or -1. */
  moveTier: script(
    'moveTier',
    (k: UserKeys, cutoff: number, max: number) => [k.fast, k.delayed, k.msg, cutoff, max],
    (raw: unknown): { moved: number; oldestLeft: number } => {
      const [moved, oldestLeft] = raw as [number, number];
      return { moved, oldestLeft };
    },
  ),

  /**
   * See purge-8.lua. fast, delayed, unread: how many of the purged were pending
   * in each tier, and unread; oldestLeft: accepted_at of the oldest left, or -1.
   */
  purge: script(
    'purge',
    (k: UserKeys, cutoff: number, max: number) => [
      k.seen,
      k.feed,
      k.msg,
      k.fast,
      k.delayed,
      k.unread,
      k.readmark,
      k.readids,
      cutoff,
      max,
    ],
    (raw: unknown): { purged: number; fast: number; delayed: number; unread: number; oldestLeft: number } => {
      const [purged, fast, delayed, unread, oldestLeft] = raw as [number, number, number, number, number];
      return { purged, fast, delayed, unread, oldestLeft };
    },
  ),

  /**
   * See list-feed-6.lua. nextBefore: the next page's `before`, null on the last
   * page; a feed entry whose message is missing (never left by a script) is skipped.
   */
  listFeed: script(
    'listFeed',
    (k: UserKeys, before: number | '+inf', limit: number) => [k.feed, k.msg, k.fast, k.delayed, k.readmark, k.readids, before, limit],
    (raw: unknown): { entries: FeedEntry[]; nextBefore: number | null } => {
      const reply = raw as [string, ...(string | number)[]];
      const entries: FeedEntry[] = [];
      for (let i = 1; i + 4 < reply.length; i += 5) {
        const json = reply[i + 2] as string;
        if (json === '') continue;
        const tier = reply[i + 3] as Tier | '';
        entries.push({
          stored: JSON.parse(json) as StoredMessage,
          seq: Number(reply[i + 1]),
          tier: tier === '' ? null : tier,
          unread: reply[i + 4] === 1,
        });
      }
      return { entries, nextBefore: reply[0] === '' ? null : Number(reply[0]) };
    },
  ),

  /** See renew-lock-1.lua. ttlMs 0 releases. Reply: whether the caller held the lock. */
  renewLock: script(
    'renewLock',
    (key: string, holder: string, ttlMs: number) => [key, holder, ttlMs],
    (raw: unknown): boolean => raw === 1,
  ),

  /**
   * See pending-page-n.lua: one base key per user (Keys.userBase). Reply: per
   * user, in order, the views of its page (decode takes the tier, for them).
   */
  pendingPage: script(
    'pendingPage',
    (tier: Tier, bases: string[], afterSeq: number, limit: number) => [bases.length, ...bases, afterSeq, limit, S[tier], S.msg],
    (raw: unknown, tier: Tier): MessageView[][] => (raw as string[][]).map((flat) => pendingViews(flat, tier)),
  ),

  /** See ack-through-4.lua. recovered: nothing after `since` was purged. */
  ackThrough: script(
    'ackThrough',
    (k: UserKeys, since: number, max: number) => [k.fast, k.delayed, k.feed, k.seq, since, max],
    (raw: unknown): { fast: number; delayed: number; recovered: boolean } => {
      const [fast, delayed, recovered] = raw as [number, number, number];
      return { fast, delayed, recovered: recovered === 1 };
    },
  ),

  /** See claim-redeliveries-2.lua. */
  claimRedeliveries: script(
    'claimRedeliveries',
    (shard: ShardKeys, now: number, limit: number, waitMs: number, maxAttempts: number) => [
      shard.redeliverDue,
      shard.redeliverAttempts,
      now,
      limit,
      waitMs,
      maxAttempts,
    ],
    (raw: unknown): ClaimedUser[] => {
      const flat = raw as (string | number)[];
      const claimed: ClaimedUser[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) {
        claimed.push({ uid: String(flat[i]), attempt: Number(flat[i + 1]), nextAt: Number(flat[i + 2]) });
      }
      return claimed;
    },
  ),

  /** See release-redeliveries-2.lua. Reply: how many users were taken off the schedule. */
  releaseRedeliveries: script(
    'releaseRedeliveries',
    (shard: ShardKeys, users: { uid: string; scheduledAt: number }[]) => [
      shard.redeliverDue,
      shard.redeliverAttempts,
      ...users.flatMap((u) => [u.uid, u.scheduledAt]),
    ],
    (raw: unknown): number => raw as number,
  ),

  /** See chat-route-8.lua. */
  chatRoute: script(
    'chatRoute',
    (c: RoutingCall, conversation: string, waitingSince: number, preferred: string | null) => [
      ...routingArgs(c),
      conversation,
      waitingSince,
      preferred ?? '',
    ],
    (raw: unknown): RoutingMoves<RouteResult> =>
      routingMoves(raw, (r): RouteResult =>
        r[0] === 'queued' ? { outcome: 'queued', position: Number(r[1]) } : { outcome: r[0] as 'assigned' | 'held', agent: String(r[1]) },
      ),
  ),

  /** See chat-agent-set-8.lua. Result: whether the agent is new. */
  chatAgentSet: script(
    'chatAgentSet',
    (c: RoutingCall, agent: string, record: string, capacity: number, maxAgents: number) => [
      ...routingArgs(c),
      agent,
      record,
      capacity,
      maxAgents,
    ],
    (raw: unknown): RoutingMoves<{ created: boolean }> => routingMoves(raw, (r) => ({ created: r[0] === 1 })),
  ),

  /** See chat-agent-remove-8.lua. Result: whether the agent was registered. */
  chatAgentRemove: script(
    'chatAgentRemove',
    (c: RoutingCall, agent: string) => [...routingArgs(c), agent],
    (raw: unknown): RoutingMoves<{ removed: boolean }> => routingMoves(raw, (r) => ({ removed: r[0] === 1 })),
  ),

  /** See chat-agent-status-8.lua. Result: the status before, and whether the agent was in their grace period. */
  chatAgentStatus: script(
    'chatAgentStatus',
    (c: RoutingCall, agent: string, presence: AgentPresence, graceUntil: number) => [...routingArgs(c), agent, presence, graceUntil],
    (raw: unknown): RoutingMoves<{ before: 'online' | 'away' | 'offline'; inGrace: boolean }> =>
      routingMoves(raw, (r) => ({ before: r[0] as 'online' | 'away' | 'offline', inGrace: r[1] === 1 })),
  ),

  /** See chat-grace-sweep-8.lua. Result: agents gone offline, and whether more are due. */
  chatGraceSweep: script(
    'chatGraceSweep',
    (c: RoutingCall, now: number, maxAgents: number) => [...routingArgs(c), now, maxAgents],
    (raw: unknown): RoutingMoves<{ offline: number; moreDue: boolean }> =>
      routingMoves(raw, (r) => ({ offline: Number(r[0]), moreDue: r[1] === 1 })),
  ),

  /** See chat-release-8.lua. Result: where the conversation was. */
  chatRelease: script(
    'chatRelease',
    (c: RoutingCall, conversation: string) => [...routingArgs(c), conversation],
    (raw: unknown): RoutingMoves<{ was: 'held'; agent: string } | { was: 'queued' | 'none' }> =>
      routingMoves(raw, (r) => (r[0] === 'held' ? { was: 'held' as const, agent: String(r[1]) } : { was: r[0] as 'queued' | 'none' })),
  ),

  /** See chat-transfer-8.lua. */
  chatTransfer: script(
    'chatTransfer',
    (c: RoutingCall, conversation: string, to: string | null) => [...routingArgs(c), conversation, to ?? ''],
    (raw: unknown) =>
      routingMoves(raw, (r) =>
        r[0] === 'transferred'
          ? { outcome: 'transferred' as const, from: String(r[1]), to: String(r[2]) }
          : r[0] === 'queued'
            ? { outcome: 'queued' as const, from: String(r[1]) }
            : { outcome: 'same' as const, agent: String(r[1]) },
      ),
  ),

  /** See chat-drain-8.lua. */
  chatDrain: script(
    'chatDrain',
    (c: RoutingCall) => routingArgs(c),
    (raw: unknown): RoutingMoves<null> => routingMoves(raw, () => null),
  ),

  /** See chat-visitor-open-1.lua. */
  chatVisitorOpen: script(
    'chatVisitorOpen',
    (visitorChat: string, newId: string) => [visitorChat, newId],
    (raw: unknown) => {
      const [id, source] = raw as [string, 'open' | 'last' | 'new'];
      return { id, source };
    },
  ),

  /** See chat-visitor-close-1.lua. Reply: whether it was the visitor's open conversation. */
  chatVisitorClose: script(
    'chatVisitorClose',
    (visitorChat: string, conversation: string) => [visitorChat, conversation],
    (raw: unknown): boolean => raw === 1,
  ),

  /** See chat-conversation-open-4.lua. */
  chatConversationOpen: script(
    'chatConversationOpen',
    (k: ConversationKeys, id: string, visitor: string, now: Date) => [...convKeys(k), id, visitor, now.getTime(), now.toISOString()],
    (raw: unknown) => {
      const [outcome, lastAgent, message, record] = raw as ['created' | 'reopened' | 'open', string, string, string[]];
      return { outcome, lastAgent: lastAgent || null, message: message || null, record: fields(record) };
    },
  ),

  /** See chat-message-add-4.lua. */
  chatMessageAdd: script(
    'chatMessageAdd',
    (
      k: ConversationKeys,
      m: { sender: string; kind: 'text' | 'image'; text: string | null; image: string | null; clientId: string | null },
      now: Date,
      maxMessages: number,
    ) => [...convKeys(k), m.sender, m.kind, m.text ?? '', m.image ?? '', m.clientId ?? '', now.getTime(), now.toISOString(), maxMessages],
    (raw: unknown) => {
      const [outcome, message, seq, visitor, agent, firstReply] = raw as ['added' | 'duplicate', string, number, string, string, number];
      return { outcome, message, seq, visitor, agent: agent || null, firstReply: firstReply === 1 };
    },
  ),

  /** See chat-conversation-follow-2.lua. */
  chatConversationFollow: script(
    'chatConversationFollow',
    (k: ConversationKeys, version: number, status: 'assigned' | 'queued', agent: string | null, now: Date) => [
      k.record,
      k.messages,
      version,
      status,
      agent ?? '',
      now.getTime(),
      now.toISOString(),
    ],
    (raw: unknown) => {
      const [outcome, message, record, was, before] = raw as ['changed' | 'same' | 'stale' | 'none', string, string[], string, string];
      return { outcome, message: message || null, record: fields(record), was: was || null, before: before || null };
    },
  ),

  /** See chat-conversation-resolve-4.lua. */
  chatConversationResolve: script(
    'chatConversationResolve',
    (k: ConversationKeys, by: string, now: Date, retentionMs: number) => [...convKeys(k), by, now.getTime(), now.toISOString(), retentionMs],
    (raw: unknown) => {
      const [outcome, message, record] = raw as ['resolved' | 'same', string, string[]];
      return { outcome, message: message || null, record: fields(record) };
    },
  ),

  /** See chat-receipt-2.lua. */
  chatReceipt: script(
    'chatReceipt',
    (k: ConversationKeys, uid: string, kind: 'delivered' | 'read', seq: number) => [k.record, k.receipts, uid, kind, seq],
    (raw: unknown) => {
      const [moved, delivered, read, visitor, agent, readBefore] = raw as [number, number, number, string, string, number];
      return { moved: moved === 1, delivered, read, visitor, agent: agent || null, readBefore };
    },
  ),

  /** See chat-published-1.lua. Reply: the mark after the call. */
  chatPublished: script(
    'chatPublished',
    (record: string, seq: number) => [record, seq],
    (raw: unknown): number => Number(raw),
  ),
};
