// The publisher's cleanup of a channel nobody heard, on the run's Redis (one, or
// the cluster, where the channels are sharded). Nothing listens on the channels
// of the made-up nodes here, so every publish to them reaches nobody: what the
// registry keeps then depends on the node's heartbeat alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/events/stored-message.js';
import { Publisher } from '../../src/push/publisher.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
let publisher: Publisher;
const TTL_MS = 60_000;

beforeAll(async () => {
  t = await startTestService({ roles: ['api'] });
  const { redis, keys, logger, clock } = t.service.ctx;
  publisher = new Publisher(redis, keys, logger, clock, TTL_MS);
});
afterAll(async () => t?.stop());

async function registerOn(node: string, uid: string, heartbeatAgoMs: number | null): Promise<void> {
  const { redis, keys } = t.service.ctx;
  await redis.hset(keys.user(uid).nodes, node, 1);
  if (heartbeatAgoMs !== null) await redis.zadd(keys.nodes, Date.now() - heartbeatAgoMs, node);
}

const nodesOf = (uid: string) => t.service.ctx.redis.hkeys(t.service.ctx.keys.user(uid).nodes);

describe('Publisher, a channel that nobody heard', () => {
  it("keeps the entries of a node whose heartbeat is fresh (a subscriber between two connections, a failover), drops those of a dead or unknown node", async () => {
    await registerOn('pub-live', 'pu1', 1000);
    await registerOn('pub-dead', 'pu1', TTL_MS + 5000);
    await registerOn('pub-gone', 'pu2', null);

    const message: MessageView = {
      id: 'x1',
      seq: 1,
      category: 'notice',
      from: null,
      title: null,
      body: null,
      data: null,
      created_at: new Date().toISOString(),
      state: 'pending',
      tier: 'fast',
    };
    const online = await publisher.deliver([
      { uid: 'pu1', messages: [message] },
      { uid: 'pu2', messages: [message] },
    ]);

    // Both were online by the registry's word when the push went out.
    expect([...online].sort()).toEqual(['pu1', 'pu2']);
    expect(await nodesOf('pu1')).toEqual(['pub-live']);
    expect(await nodesOf('pu2')).toEqual([]);
  });

  it('does the same for a change of counts alone', async () => {
    await registerOn('pub-live', 'pu3', 1000);
    await registerOn('pub-dead', 'pu3', TTL_MS + 5000);
    await publisher.unread('pu3', { uid: 'pu3', total: 1, counts: { notice: 1 } });
    expect(await nodesOf('pu3')).toEqual(['pub-live']);
  });
});
