// Sends updates to the gateway nodes that hold the users concerned: looks up the
// registry ({u}:nodes), groups by node, and publishes one message per node.
// Used by the events worker (new messages), the fast and delayed workers
// (redelivery, drains) and reads (counts), from any process.
import type { Redis } from 'ioredis';
import type { MessageView } from '../events/stored-message.js';
import { messageFrame } from '../gateway/frames.js';
import type { NodeMessage, UserDelivery } from '../gateway/node-channel.js';
import type { Logger } from '../logger.js';
import type { Keys } from '../redis/keys.js';
import { pipelineResults } from '../store/pipeline.js';
import { toCounts, type UnreadCounts } from '../store/unread.js';

export interface Delivery {
  uid: string;
  messages: MessageView[];
  /** Send the user's counts along (new messages changed them). */
  withUnread: boolean;
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
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly logger: Logger,
  ) {}

  /** Delivers to every node of each user; resolves to the uids that were online. */
  async deliver(deliveries: Delivery[]): Promise<Set<string>> {
    if (deliveries.length === 0) return new Set();
    const pipeline = this.redis.pipeline();
    for (const d of deliveries) {
      const k = this.keys.user(d.uid);
      pipeline.hkeys(k.nodes);
      if (d.withUnread) pipeline.hgetall(k.unread);
    }
    const replies = await pipelineResults(pipeline);
    const located: LocatedDelivery[] = [];
    let r = 0;
    for (const d of deliveries) {
      const nodes = replies[r++] as string[];
      const unread = d.withUnread ? (replies[r++] as Record<string, string>) : undefined;
      located.push({ uid: d.uid, messages: d.messages, nodes, ...(unread && { unread: counts(d.uid, unread) }) });
    }
    return this.send(located);
  }

  /** Delivers where the nodes are known; resolves to the uids that were online. */
  async send(deliveries: LocatedDelivery[]): Promise<Set<string>> {
    const byNode = new Map<string, UserDelivery[]>();
    const online = new Set<string>();
    for (const d of deliveries) {
      if (d.nodes.length === 0 || d.messages.length === 0) continue;
      online.add(d.uid);
      const entry: UserDelivery = {
        uid: d.uid,
        messages: d.messages.map(messageFrame),
        ...(d.unread && { unread: { total: d.unread.total, counts: d.unread.counts } }),
      };
      for (const node of d.nodes) push(byNode, node, entry);
    }
    const sentAt = Date.now();
    await this.publish(byNode, (users) => ({ type: 'deliver', users, sent_at: sentAt }));
    return online;
  }

  /** Sends a user's new counts to every node that holds them. */
  async unread(uid: string, unread: UnreadCounts): Promise<void> {
    const nodes = await this.redis.hkeys(this.keys.user(uid).nodes);
    const byNode = new Map<string, { uid: string; unread: Pick<UnreadCounts, 'total' | 'counts'> }[]>();
    for (const node of nodes) push(byNode, node, { uid, unread: { total: unread.total, counts: unread.counts } });
    await this.publish(byNode, (users) => ({ type: 'unread', users }));
  }

  /**
   * One PUBLISH per node, in one round trip. A channel nobody listens on belongs to
   * a node that is gone: its registry entries for these users are removed at once
   * rather than left for the sweep.
   */
  private async publish<T extends { uid: string }>(byNode: Map<string, T[]>, message: (users: T[]) => NodeMessage) {
    if (byNode.size === 0) return;
    const nodes = [...byNode.keys()];
    const pipeline = this.redis.pipeline();
    for (const node of nodes) pipeline.publish(this.keys.nodeChannel(node), JSON.stringify(message(byNode.get(node)!)));
    const receivers = await pipelineResults(pipeline);
    const cleanup = this.redis.pipeline();
    nodes.forEach((node, i) => {
      if (receivers[i] !== 0) return;
      for (const u of byNode.get(node)!) cleanup.hdel(this.keys.user(u.uid).nodes, node);
      this.logger.debug({ deadNode: node }, 'no gateway listens on this node channel: registry entries removed');
    });
    if (cleanup.length > 0) await pipelineResults(cleanup);
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function counts(uid: string, flat: Record<string, string>): Pick<UnreadCounts, 'total' | 'counts'> {
  const { total, counts: c } = toCounts(uid, Object.entries(flat).flat());
  return { total, counts: c };
}
