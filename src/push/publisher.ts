// Sends updates to the gateway nodes that hold the users concerned: looks up the
// registry ({u}:nodes), groups by node, and publishes one message per node.
// Used by the events worker (new messages, nodes known from the apply step), the
// redelivery sweep and the drains (nodes looked up here), and reads (counts).
import type { RedisClient } from '../redis/client.js';
import type { MessageView } from '../events/stored-message.js';
import { encodeNodeMessage, type NodeMessage, type UserFrames } from '../protocol/node-message.js';
import { messageFrameText, unreadFrame } from '../protocol/server-frames.js';
import type { Logger } from '../logger.js';
import type { Keys } from '../redis/keys.js';
import { pipelineResults } from '../redis/pipeline.js';
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
  ) {}

  /**
   * Delivers messages whose counts did not change (redeliveries, drains) to every
   * node of each user; resolves to the uids that were online.
   */
  async deliver(deliveries: Delivery[]): Promise<Set<string>> {
    if (deliveries.length === 0) return new Set();
    const nodes = (await execEach(
      this.redis,
      deliveries.map((d): KeyedCommand => {
        const key = this.keys.user(d.uid).nodes;
        return [key, (p) => p.hkeys(key)];
      }),
    )) as string[][];
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

  /** Sends a user's new counts to every node that holds them. */
  async unread(uid: string, unread: UnreadCounts): Promise<void> {
    const nodes = await this.redis.hkeys(this.keys.user(uid).nodes);
    const byNode = new Map<string, UserFrames<string>[]>();
    const entry = { uid, frames: [unreadFrame(unread)] };
    for (const node of nodes) push(byNode, node, entry);
    await this.publish(byNode, (users) => ({ type: 'unread', users }));
  }

  /**
   * One PUBLISH per node, in one round trip. A channel nobody listens on belongs to
   * a node that is gone: its registry entries for these users are removed at once
   * rather than left for the sweep.
   */
  private async publish(byNode: Map<string, UserFrames<string>[]>, message: (users: UserFrames<string>[]) => NodeMessage) {
    if (byNode.size === 0) return;
    const nodes = [...byNode.keys()];
    const pipeline = this.redis.pipeline();
    for (const node of nodes) pipeline.publish(this.keys.nodeChannel(node), encodeNodeMessage(message(byNode.get(node)!)));
    const receivers = await pipelineResults(pipeline);
    const cleanup: KeyedCommand[] = [];
    nodes.forEach((node, i) => {
      if (receivers[i] !== 0) return;
      for (const u of byNode.get(node)!) {
        const key = this.keys.user(u.uid).nodes;
        cleanup.push([key, (p) => p.hdel(key, node)]);
      }
      this.logger.debug({ deadNode: node }, 'no gateway listens on this node channel: registry entries removed');
    });
    if (cleanup.length > 0) await execEach(this.redis, cleanup);
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
