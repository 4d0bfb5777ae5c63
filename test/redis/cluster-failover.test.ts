// A cluster of its own (three masters, two replicas each) changed under load,
// with PMQ_REDIS_WAIT_REPLICAS=1: each master in turn handed to a replica
// (CLUSTER FAILOVER); the slots of a node's channel and of a user's keys moved
// to another master, as a resharding does; then a master killed outright
// (SIGKILL; a replica takes over after cluster-node-timeout). Two replicas, as
// docs/operations.md asks: a master promoted from a killed one's replica still
// has one to WAIT on.
//
// The test is the main site: it posts batches, posts again, unchanged, a batch
// that got anything but 202, and holds a batch accepted at its 202. At the end
// each user's counts and feed are what the model says: nothing accepted is lost,
// nothing counted twice. A user online throughout still gets pushes: the node's
// channel followed its slot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotOf } from '../../src/redis/slot-groups.js';
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';
import { CATEGORIES, UnreadModel, compareWithModel, generateBatches, seededRandom, testSeed, type TestEvent } from '../helpers/unread-model.js';
import { connectUser, type RecordingClient } from '../helpers/ws-client.js';

const seed = testSeed();
let cluster: TestCluster;
let t: TestService;
const clients: RecordingClient[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 2, nodeTimeoutMs: 2000 });
  t = await startTestService({
    roles: ['api', 'gateway', 'worker'],
    env: { PMQ_REDIS_CLUSTER_NODES: cluster.seedList, PMQ_REDIS_WAIT_REPLICAS: '1', PMQ_RATE_LIMIT_PER_KEY: '0' },
  });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.stop();
  await cluster?.stop();
});

/** What the main site does: post until a 202, then the batch is accepted. */
async function postUntilAccepted(batch: TestEvent[], model: UnreadModel, refused: { n: number }): Promise<void> {
  // Past a minute of refusals the cluster is not coming back: fail, do not hang.
  await waitFor(
    async () => {
      const r = await t.http('POST', '/v1/events', { body: { events: batch } }).catch(() => ({ status: 0, body: null }));
      if (r.status === 202) return true;
      refused.n++;
      return false;
    },
    60_000,
    'a batch accepted',
  );
  for (const e of batch) model.apply(e);
}

/**
 * Posts `batches` three at a time, from before `disrupt` starts until it has
 * ended and a few more were accepted after it; unposted batches are left (the
 * model holds only what was accepted). Resolves once the queue has drained.
 * `during`: the batches that were in flight while the disruption ran (started
 * before it ended, accepted after it began): a kill can hold them all.
 */
async function underLoad(batches: TestEvent[][], model: UnreadModel, disrupt: () => Promise<void>): Promise<{ refused: number; during: number }> {
  const refused = { n: 0 };
  let disruptedFrom = Infinity;
  let disruptedUntil = Infinity;
  let next = 0;
  let accepted = 0;
  let during = 0;
  let after = 0;
  const lane = async () => {
    while (after < 6) {
      const batch = batches[next++];
      if (batch === undefined) throw new Error('the workload ran out before the disruption ended: generate more');
      const startedAt = performance.now();
      await postUntilAccepted(batch, model, refused);
      const acceptedAt = performance.now();
      accepted++;
      if (startedAt < disruptedUntil && acceptedAt > disruptedFrom) during++;
      if (startedAt > disruptedUntil) after++;
    }
  };
  const load = Promise.all([lane(), lane(), lane()]);
  await waitFor(() => accepted >= 10, 30_000, 'load before the disruption');
  disruptedFrom = performance.now();
  await disrupt();
  disruptedUntil = performance.now();
  await load;
  await drained(t, 60_000);
  return { refused: refused.n, during };
}

async function expectModel(model: UnreadModel): Promise<void> {
  const problems = await waitFor(
    async () => {
      const p = await compareWithModel(t, model, model.users(), { feeds: true });
      return p.length === 0 ? p : undefined;
    },
    30_000,
    'every user as the model says',
  ).catch(async () => compareWithModel(t, model, model.users(), { feeds: true }));
  expect(problems.slice(0, 10)).toEqual([]);
}

/** A push reaches the user online on this node: its channel is heard wherever its slot went. */
async function expectPushReaches(online: RecordingClient, uid: string, id: string): Promise<void> {
  const before = online.messages.length;
  expect((await t.http('POST', '/v1/events', { body: { id, type: 'notice', to: uid } })).status).toBe(202);
  await waitFor(() => online.messages.slice(before).some((m) => m.id === id), 20_000, `the push of ${id}`);
}

describe('a Redis Cluster that changes under load', () => {
  it('handed to its replica, each master in turn: nothing lost, nothing counted twice, pushes still arrive', async () => {
    const rand = seededRandom(seed);
    const model = new UnreadModel();
    const online = await connectUser(t, 'online-1');
    clients.push(online);
    const channelSlot = slotOf(t.service.ctx.keys.nodeChannel(t.config.nodeId));
    const channelMaster = (await cluster.masterOfSlot(channelSlot)).port;

    const batches = generateBatches(rand, { events: 200_000, users: 150, categories: CATEGORIES, maxBatch: 200 });
    const r = await underLoad(batches, model, async () => {
      for (const m of await cluster.masters()) await cluster.failover(m.port);
    });
    console.log(`cluster failover: ${r.during} batches in flight during it, ${r.refused} refused and posted again (seed ${seed})`);

    expect(r.during).toBeGreaterThan(0);
    expect((await cluster.masterOfSlot(channelSlot)).port).not.toBe(channelMaster);
    await expectModel(model);
    await expectPushReaches(online, 'online-1', 'after-failover');
  });

  it("moved to another master, the slot of a node's channel and of a user's keys: pushes follow, nothing lost", async () => {
    const rand = seededRandom(seed + 2);
    const model = new UnreadModel();
    const online = await connectUser(t, 'online-3');
    clients.push(online);
    const channelSlot = slotOf(t.service.ctx.keys.nodeChannel(t.config.nodeId));
    const userSlot = slotOf(t.service.ctx.keys.userBase('online-3'));
    const channelMaster = (await cluster.masterOfSlot(channelSlot)).port;

    const batches = generateBatches(rand, { events: 200_000, users: 150, categories: CATEGORIES, maxBatch: 200, userPrefix: 'm', idPrefix: 'm' });
    const r = await underLoad(batches, model, async () => {
      for (const slot of [channelSlot, userSlot]) {
        const owner = await cluster.masterOfSlot(slot);
        const target = (await cluster.masters()).find((m) => m.port !== owner.port)!;
        await cluster.moveSlot(slot, target.port);
      }
    });
    console.log(`cluster slot move: ${r.during} batches in flight during it, ${r.refused} refused and posted again (seed ${seed + 2})`);

    expect(r.during).toBeGreaterThan(0);
    expect((await cluster.masterOfSlot(channelSlot)).port).not.toBe(channelMaster);
    await expectModel(model);
    // The user's keys moved with their slot: their registry entry still names this node.
    await expectPushReaches(online, 'online-3', 'after-move');
  });

  it('killed outright, the master of the events queue: nothing accepted lost, nothing counted twice', async () => {
    const rand = seededRandom(seed + 1);
    const model = new UnreadModel();
    const online = await connectUser(t, 'online-2');
    clients.push(online);
    const queueSlot = slotOf(t.service.ctx.queues.events.toKey('meta'));
    const victim = await cluster.masterOfSlot(queueSlot);

    const batches = generateBatches(rand, { events: 200_000, users: 150, categories: CATEGORIES, maxBatch: 200, userPrefix: 'k', idPrefix: 'k' });
    const r = await underLoad(batches, model, async () => {
      await cluster.killMaster(victim.port);
    });
    console.log(`cluster kill: ${r.during} batches in flight during it, ${r.refused} refused and posted again (seed ${seed + 1})`);

    expect(r.during).toBeGreaterThan(0);
    expect((await cluster.masterOfSlot(queueSlot)).port).not.toBe(victim.port);
    await expectModel(model);
    await expectPushReaches(online, 'online-2', 'after-kill');
  });
});
