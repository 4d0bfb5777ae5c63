// Sends updates to the gateway nodes that hold the users concerned: looks up the
// registry ({u}:nodes), groups by node, and publishes one message per node.
// Used by the events worker (new messages, nodes known from the apply step), the
// redelivery sweep and the drains (nodes looked up here), and reads (counts).
import { isCluster, type RedisClient } from '../redis/client.js';
import type { Clock } from '../events/clock.js';
import type { MessageView } from '../events/stored-message.js';
import { encodeNodeMessage, type NodeMessage, type UserFrames } from '../protocol/node-message.js';
import { messageFrameText, unreadFrame } from '../protocol/server-frames.js';
import type { Logger } from '../logger.js';
import type { Keys } from '../redis/keys.js';
import { execEach, type KeyedCommand } from '../redis/slot-groups.js';
import type { UnreadCounts } from '../store/unread.js';

export interface Delivery {
  uid: string;
  messages: MessageView[];
}

/** A delivery whose user's nodes (and counts) are known already. */
export interface LocatedDelivery {
  uid: string;
  messages: MessageView[];
  nodes: string[];
  unread?: Pick<UnreadCounts, 'total' | 'counts'>;
}

export class Publisher {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly logger: Logger,
    private readonly clock: Clock,
    /** A node whose heartbeat is older than this is dead (PMQ_NODE_TTL_MS). */
    private readonly nodeTtlMs: number,
  ) {}

  /**
   * Delivers messages whose counts did not change (redeliveries, drains) to every
   * node of each user; resolves to the uids that were online.
   */
  async deliver(deliveries: Delivery[]): Promise<Set<string>> {
    if (deliveries.length === 0) return new Set();
    const nodes = await this.nodesOf(deliveries.map((d) => d.uid));
    return this.send(deliveries.map((d, i) => ({ uid: d.uid, messages: d.messages, nodes: nodes[i]! })));
  }

  /** Delivers where the nodes are known; resolves to the uids that were online. */
  async send(deliveries: LocatedDelivery[]): Promise<Set<string>> {
    const byNode = new Map<string, UserFrames<string>[]>();
    const online = new Set<string>();
    for (const d of deliveries) {
      if (d.nodes.length === 0 || d.messages.length === 0) continue;
      online.add(d.uid);
      // Built once, shared by every node of the user. The last message carries
      // the counts after the push: one frame per message, not one more.
      const last = d.messages.length - 1;
      const frames = d.messages.map((m, i) => messageFrameText(m, i === last ? d.unread : undefined));
      const entry = { uid: d.uid, frames };
      for (const node of d.nodes) push(byNode, node, entry);
    }
    const sentAt = Date.now();
    await this.publish(byNode, (users) => ({ type: 'deliver', users, sent_at: sentAt }));
    return online;
  }

  /**
   * The chat's frames, each user's to every node that holds them (one lookup of
   * the users' nodes, one message per node); resolves to the uids that were
   * online. A user on no node gets nothing here: what they missed reaches them
   * at their next sign-in (ops/chat-welcome.ts).
   */
  async chat(users: UserFrames<string>[]): Promise<Set<string>> {
    const wanted = users.filter((u) => u.frames.length > 0);
    if (wanted.length === 0) return new Set();
    const nodes = await this.nodesOf(wanted.map((u) => u.uid));
    const byNode = new Map<string, UserFrames<string>[]>();
    const online = new Set<string>();
    wanted.forEach((u, i) => {
      for (const node of nodes[i]!) push(byNode, node, u);
      if (nodes[i]!.length > 0) online.add(u.uid);
    });
    await this.publish(byNode, (list) => ({ type: 'chat', users: list }));
    return online;
  }

  /** The gateway nodes that hold each user, in one round trip per Redis master. */
  private async nodesOf(uids: string[]): Promise<string[][]> {
    return (await execEach(
      this.redis,
      uids.map((uid): KeyedCommand => {
        const key = this.keys.user(uid).nodes;
        return [key, (p) => p.hkeys(key)];
      }),
    )) as string[][];
  }

  /** Sends a user's new counts to every node that holds them. */
  async unread(uid: string, unread: UnreadCounts): Promise<void> {
    const nodes = await this.redis.hkeys(this.keys.user(uid).nodes);
    const byNode = new Map<string, UserFrames<string>[]>();
    const entry = { uid, frames: [unreadFrame(unread)] };
    for (const node of nodes) push(byNode, node, entry);
    await this.publish(byNode, (users) => ({ type: 'unread', users }));
  }

  /**
   * One message per node, all in one round trip per Redis master: PUBLISH on one
   * Redis, SPUBLISH on a cluster (a classic PUBLISH would be broadcast to every
   * node of the cluster; a sharded one goes to the master of its channel's slot).
   *
   * A channel that nobody heard may belong to a node that is gone. Its registry
   * entries for these users are removed at once (rather than left for the sweep)
   * only when its heartbeat says so too: a count of 0 is not proof on a cluster,
   * where a SPUBLISH sent to a master that has just been failed over reaches
   * nobody, nor anywhere while a live node's subscriber reconnects.
   */
  private async publish(byNode: Map<string, UserFrames<string>[]>, message: (users: UserFrames<string>[]) => NodeMessage) {
    if (byNode.size === 0) return;
    const nodes = [...byNode.keys()];
    const sharded = isCluster(this.redis);
    const receivers = (await execEach(
      this.redis,
      nodes.map((node): KeyedCommand => {
        const channel = this.keys.nodeChannel(node);
        const payload = encodeNodeMessage(message(byNode.get(node)!));
        return [channel, (p) => (sharded ? p.spublish(channel, payload) : p.publish(channel, payload))];
      }),
    )) as number[];
    const unheard = nodes.filter((_, i) => receivers[i] === 0);
    if (unheard.length === 0) return;
    const beats = await this.redis.zmscore(this.keys.nodes, ...unheard);
    const deadBefore = this.clock.now() - this.nodeTtlMs;
    const cleanup: KeyedCommand[] = [];
    unheard.forEach((node, i) => {
      const beat = beats[i];
      if (beat !== null && beat !== undefined && Number(beat) >= deadBefore) return;
      for (const u of byNode.get(node)!) {
        const key = this.keys.user(u.uid).nodes;
        cleanup.push([key, (p) => p.hdel(key, node)]);
      }
      this.logger.debug({ deadNode: node }, 'no gateway listens on this node channel and its heartbeat stopped: registry entries removed');
    });
    if (cleanup.length > 0) await execEach(this.redis, cleanup);
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
