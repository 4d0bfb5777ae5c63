// The chat's routing state ({cs}): who is registered, who is online, who holds
// which conversation, and the queue. Each change is one Lua step on one slot
// (lua/chat-*-8.lua, rules in lua/includes/chat-routing.lua); this module calls
// them and reads the state back. What a step moved (conversations assigned or
// given back to the queue) is returned for the caller to record on the
// conversations and tell the people concerned.
import { randomInt } from 'node:crypto';
import type { RedisClient } from '../redis/client.js';
import type { ChatRoutingKeys, Keys } from '../redis/keys.js';
import { refusing } from './chat-refusals.js';
import { scripts, type AgentPresence, type RouteResult, type RoutingCall, type RoutingMoves } from '../redis/scripts.js';

export interface AgentRecord {
  name: string;
  capacity: number;
}

export interface AgentState extends AgentRecord {
  agent: string;
  status: 'online' | 'away' | 'offline';
  /** Disconnected and in their grace period: keeps their conversations, takes no new ones. */
  inGrace: boolean;
  /** Conversations held now. */
  load: number;
}

/** The routing's figures at one moment (one MULTI on {cs}): what the gauges and the admin's stats show. */
export interface RoutingSummary {
  /** Conversations in the queue. */
  queued: number;
  /** Conversations held by agents. */
  assigned: number;
  /** The waiting_since (ms) of the queue's oldest; null when nobody waits. */
  oldestWaitingSince: number | null;
  /** Registered agents by status (those in their grace period keep theirs, as GET /v1/admin/agents shows). */
  agents: { online: number; away: number; offline: number };
}

export interface RoutingOptions {
  /** PMQ_CHAT_MAX_AGENTS. */
  maxAgents: number;
  /** Queued conversations one step assigns at most (the rest: `more`, then drain()). */
  drainLimit?: number;
  /** Below 2^31; crypto's by default. A test may fix it. */
  random?: () => number;
}

export class ChatRouting {
  private readonly k: ChatRoutingKeys;
  private readonly drainLimit: number;
  private readonly random: () => number;

  constructor(
    private readonly redis: RedisClient,
    keys: Keys,
    private readonly opts: RoutingOptions,
  ) {
    this.k = keys.chatRouting;
    this.drainLimit = opts.drainLimit ?? 100;
    this.random = opts.random ?? (() => randomInt(2 ** 31));
  }

  /** Places an open conversation: its visitor's last agent, the least loaded, or the queue. */
  route(conversation: string, waitingSince: number, lastAgent: string | null): Promise<RoutingMoves<RouteResult>> {
    return this.step(() => scripts.chatRoute(this.redis, this.call(), conversation, waitingSince, lastAgent));
  }

  setAgent(agent: string, record: AgentRecord): Promise<RoutingMoves<{ created: boolean }>> {
    const json = JSON.stringify({ name: record.name, capacity: record.capacity });
    return this.step(() => scripts.chatAgentSet(this.redis, this.call(), agent, json, record.capacity, this.opts.maxAgents));
  }

  removeAgent(agent: string): Promise<RoutingMoves<{ removed: boolean }>> {
    return this.step(() => scripts.chatAgentRemove(this.redis, this.call(), agent));
  }

  /** `graceUntil` (ms) only with `disconnected`. */
  presence(agent: string, presence: AgentPresence, graceUntil = 0) {
    return this.step(() => scripts.chatAgentStatus(this.redis, this.call(), agent, presence, graceUntil));
  }

  /** Agents whose grace ended by `now` go offline, at most `maxAgents` of them. */
  sweepGrace(now: number, maxAgents = 100) {
    return this.step(() => scripts.chatGraceSweep(this.redis, this.call(), now, maxAgents));
  }

  /** The conversation leaves the routing (resolved). */
  release(conversation: string) {
    return this.step(() => scripts.chatRelease(this.redis, this.call(), conversation));
  }

  /** To a named agent, or back to the queue (`to` null). */
  transfer(conversation: string, to: string | null) {
    return this.step(() => scripts.chatTransfer(this.redis, this.call(), conversation, to));
  }

  /** Goes on with a drain that stopped at its limit. */
  drain(): Promise<RoutingMoves<null>> {
    return this.step(() => scripts.chatDrain(this.redis, this.call()));
  }

  /** Who holds a conversation, or where it is in the queue (1-based); null: neither. */
  async placeOf(conversation: string): Promise<{ agent: string } | { position: number } | null> {
    const [agent, rank] = await Promise.all([this.redis.hget(this.k.held, conversation), this.redis.zrank(this.k.queue, conversation)]);
    if (agent !== null) return { agent };
    return rank === null ? null : { position: rank + 1 };
  }

  /** Every registered agent and their state (bounded by PMQ_CHAT_MAX_AGENTS). */
  async agents(): Promise<AgentState[]> {
    const [records, statuses, grace] = await Promise.all([
      this.redis.hgetall(this.k.agents),
      this.redis.hgetall(this.k.status),
      this.redis.zrange(this.k.grace, 0, -1),
    ]);
    const ids = Object.keys(records).sort();
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.zcard(this.k.heldByPrefix + id);
    const loads = ids.length > 0 ? ((await pipeline.exec()) ?? []).map(([, n]) => Number(n)) : [];
    const inGrace = new Set(grace);
    return ids.map((agent, i) => {
      const record = JSON.parse(records[agent]!) as AgentRecord;
      const status = (statuses[agent] ?? 'offline') as AgentState['status'];
      return { agent, name: record.name, capacity: record.capacity, status, inGrace: inGrace.has(agent), load: loads[i]! };
    });
  }

  /** One agent's state, in one round trip (all on {cs}); null for an agent not registered. */
  async agent(agent: string): Promise<AgentState | null> {
    const replies = (await this.redis
      .pipeline()
      .hget(this.k.agents, agent)
      .hget(this.k.status, agent)
      .zscore(this.k.grace, agent)
      .zcard(this.k.heldByPrefix + agent)
      .exec()) ?? [];
    const [record, status, grace, load] = replies.map(([err, reply]) => {
      if (err) throw err;
      return reply;
    }) as [string | null, string | null, string | null, number];
    if (record === null) return null;
    const { name, capacity } = JSON.parse(record) as AgentRecord;
    return { agent, name, capacity, status: (status ?? 'offline') as AgentState['status'], inGrace: grace !== null, load: Number(load) };
  }

  /** The conversations an agent holds, oldest first (at most their capacity). */
  heldBy(agent: string): Promise<string[]> {
    return this.redis.zrange(this.k.heldByPrefix + agent, 0, -1);
  }

  /** The first `limit` queued conversations with their waiting_since, and how many wait in all. */
  async queue(limit: number): Promise<{ waiting: { conversation: string; since: number }[]; length: number }> {
    const [flat, length] = await Promise.all([this.redis.zrange(this.k.queue, 0, limit - 1, 'WITHSCORES'), this.redis.zcard(this.k.queue)]);
    const waiting = [];
    for (let i = 0; i + 1 < flat.length; i += 2) waiting.push({ conversation: flat[i]!, since: Number(flat[i + 1]) });
    return { waiting, length };
  }

  /** The figures of the routing now, read at once; bounded by PMQ_CHAT_MAX_AGENTS (the statuses) and O(1) else. */
  async summary(): Promise<RoutingSummary> {
    const replies = (await this.redis
      .multi()
      .zcard(this.k.queue)
      .hlen(this.k.held)
      .zrange(this.k.queue, 0, 0, 'WITHSCORES')
      .hlen(this.k.agents)
      .hvals(this.k.status)
      .exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0]!;
    const [queued, assigned, head, registered, statuses] = replies.map(([, v]) => v) as [number, number, string[], number, string[]];
    const online = statuses.filter((s) => s === 'online').length;
    const away = statuses.filter((s) => s === 'away').length;
    return {
      queued,
      assigned,
      oldestWaitingSince: head.length >= 2 ? Number(head[1]) : null,
      agents: { online, away, offline: Math.max(0, registered - online - away) },
    };
  }

  /** The version of the last routing step (0 before any). */
  async version(): Promise<number> {
    return Number((await this.redis.get(this.k.version)) ?? 0);
  }

  /**
   * A page of who holds what (`held`) or of the queue, from a SCAN cursor kept
   * in Redis, so that the repair sweep goes on where its last run stopped,
   * whichever process runs it. `done`: the page ended a whole pass.
   */
  async scanPage(what: 'held' | 'queue', count: number): Promise<{ pairs: [conversation: string, value: string][]; done: boolean }> {
    const cursor = (await this.redis.hget(this.k.repairCursor, what)) ?? '0';
    const [next, flat] =
      what === 'held'
        ? await this.redis.hscan(this.k.held, cursor, 'COUNT', count)
        : await this.redis.zscan(this.k.queue, cursor, 'COUNT', count);
    await this.redis.hset(this.k.repairCursor, what, next);
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
    return { pairs, done: next === '0' };
  }

  private call(): RoutingCall {
    return { keys: this.k, seed: this.random(), drainLimit: this.drainLimit };
  }

  /** A refusal (unknown_agent, agent_unavailable, not_assigned, too_many_agents) as its typed error. */
  private step<T>(run: () => Promise<T>): Promise<T> {
    return refusing(run);
  }
}
