// Which gateway node holds which user, in Redis: {u:<uid>}:nodes names the nodes
// of a user; {node:<id>}:users lists the users of a node, for the sweep of a node
// that died; {nodes} holds each node's last heartbeat.
//
// A node registers a user when its first socket of that user opens and removes
// them when the last one closes; the calls for one user are chained in this
// process, so that a quick close-and-reopen cannot end unregistered.
import { isAgentId } from '../chat/participants.js';
import type { RedisClient } from '../redis/client.js';
import type { Clock } from '../events/clock.js';
import type { Logger } from '../logger.js';
import type { Keys } from '../redis/keys.js';
import { execEach, type KeyedCommand } from '../redis/slot-groups.js';

/** Users per round trip when a node re-registers or removes all its users. */
const BATCH = 500;

export class Registry {
  private readonly chains = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  /**
   * Set when this node leaves the registry (shutdown): a socket that finishes
   * its auth meanwhile must not write an entry after removeAll, which would
   * outlive the node (its {node} set is never swept once it left {nodes}).
   */
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly nodeId: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  add(uid: string): Promise<void> {
    return this.chain(uid, async () => {
      if (this.closed) return;
      const userNodes = this.keys.user(uid).nodes;
      const nodeUsers = this.keys.nodeUsers(this.nodeId);
      await execEach(this.redis, [
        [userNodes, (p) => p.hset(userNodes, this.nodeId, 1)],
        [nodeUsers, (p) => p.sadd(nodeUsers, uid)],
      ]);
    });
  }

  remove(uid: string): Promise<void> {
    return this.chain(uid, async () => {
      const userNodes = this.keys.user(uid).nodes;
      const nodeUsers = this.keys.nodeUsers(this.nodeId);
      await execEach(this.redis, [
        [userNodes, (p) => p.hdel(userNodes, this.nodeId)],
        [nodeUsers, (p) => p.srem(nodeUsers, uid)],
      ]);
    });
  }

  /** Registers again every user of this node (after Redis came back, say). */
  async addAll(uids: Iterable<string>): Promise<void> {
    for (const batch of batches(uids)) {
      if (this.closed) return;
      const nodeUsers = this.keys.nodeUsers(this.nodeId);
      await execEach(this.redis, [
        ...batch.map((uid): KeyedCommand => [this.keys.user(uid).nodes, (p) => p.hset(this.keys.user(uid).nodes, this.nodeId, 1)]),
        [nodeUsers, (p) => p.sadd(nodeUsers, ...batch)],
      ]);
    }
  }

  /** Takes this node out of the registry: its users and its heartbeat. */
  async removeAll(uids: Iterable<string>): Promise<void> {
    this.closed = true;
    for (const batch of batches(uids)) {
      await execEach(
        this.redis,
        batch.map((uid): KeyedCommand => [this.keys.user(uid).nodes, (p) => p.hdel(this.keys.user(uid).nodes, this.nodeId)]),
      );
    }
    await forgetNode(this.redis, this.keys, this.nodeId);
  }

  /**
   * Starts this node's heartbeat: its entry in {nodes}, refreshed every `everyMs`.
   * A later beat that finds the entry gone (the sweep took this node for dead
   * while it stalled, or Redis lost it) calls `onRejoin`: the node's users, still
   * connected here, must be written again or no push would reach them.
   */
  startHeartbeat(everyMs: number, onRejoin: () => void = () => undefined): Promise<void> {
    let first = true;
    const beat = () =>
      this.redis.zadd(this.keys.nodes, this.clock.now(), this.nodeId).then(
        (added) => {
          if (Number(added) === 1 && !first && !this.closed) {
            this.logger.warn('this node had left the registry (swept while stalled?): registering its users again');
            onRejoin();
          }
          first = false;
        },
        (err: Error) => this.logger.warn({ err: err.message }, 'node heartbeat failed'),
      );
    this.timer = setInterval(() => void beat(), everyMs);
    return beat();
  }

  stopHeartbeat(): void {
    clearInterval(this.timer);
  }

  private chain(uid: string, step: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(uid) ?? Promise.resolve()).then(step, step);
    const tail = next.catch((err: Error) => this.logger.warn({ uid, err: err.message }, 'registry update failed'));
    this.chains.set(uid, tail);
    void tail.then(() => {
      if (this.chains.get(uid) === tail) this.chains.delete(uid);
    });
    return next;
  }
}

/** A node's user set and its heartbeat (two slots under Cluster). */
async function forgetNode(redis: RedisClient, keys: Keys, node: string): Promise<void> {
  const set = keys.nodeUsers(node);
  await execEach(redis, [
    [set, (p) => p.del(set)],
    [keys.nodes, (p) => p.zrem(keys.nodes, node)],
  ]);
}

function* batches(uids: Iterable<string>): Generator<string[]> {
  let batch: string[] = [];
  for (const uid of uids) {
    batch.push(uid);
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * The sweep (cron → maintenance): nodes whose heartbeat is older than `ttlMs` are
 * dead; their users' registry entries are removed, SSCAN by SSCAN, so that pushes
 * stop going to a channel nobody reads. Bounded by `maxNodes` and `maxUsers`.
 */
export async function sweepDeadNodes(
  redis: RedisClient,
  keys: Keys,
  now: number,
  ttlMs: number,
  bounds: { maxNodes: number; maxUsers: number },
): Promise<{ nodes: number; users: number; more: boolean; agents: string[] }> {
  const dead = await redis.zrangebyscore(keys.nodes, '-inf', `(${now - ttlMs}`, 'LIMIT', 0, bounds.maxNodes);
  let users = 0;
  let swept = 0;
  // The chat's agents among them: they may have no socket left anywhere (their grace begins).
  const agents: string[] = [];
  for (const node of dead) {
    const set = keys.nodeUsers(node);
    let cursor = '0';
    do {
      if (users >= bounds.maxUsers) return { nodes: swept, users, more: true, agents };
      const [next, uids] = await redis.sscan(set, cursor, 'COUNT', BATCH);
      cursor = next;
      if (uids.length > 0) {
        await execEach(redis, [
          ...uids.map((uid): KeyedCommand => [keys.user(uid).nodes, (p) => p.hdel(keys.user(uid).nodes, node)]),
          [set, (p) => p.srem(set, ...uids)],
        ]);
        users += uids.length;
        for (const uid of uids) if (isAgentId(uid)) agents.push(uid);
      }
    } while (cursor !== '0');
    await forgetNode(redis, keys, node);
    swept++;
  }
  return { nodes: swept, users, more: dead.length === bounds.maxNodes, agents };
}

/** Whether a user holds a socket on any gateway node (as the registry says). */
export async function hasSockets(redis: RedisClient, keys: Keys, uid: string): Promise<boolean> {
  return (await redis.hlen(keys.user(uid).nodes)) > 0;
}
