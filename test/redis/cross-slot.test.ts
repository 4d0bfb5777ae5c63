// No CROSSSLOT, ever: PMQ under load on a cluster of its own (three masters),
// every path that spans users taken (the apply of chunks of many users, the acks
// of many users in one flush, reads, pending pages of the redelivery sweep and
// the login drains, tier moves, purges, the node sweep), and then Redis' own
// error tally, on every master, says that not one command was refused for
// touching two slots. The tally is first shown to count: one cross-slot command
// sent on purpose.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMaintenance } from '../helpers/maintenance.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { drained, pushesIdle, startTestService, waitFor, type TestService } from '../helpers/service.js';
import { CATEGORIES, UnreadModel, compareWithModel, generateBatches, mapLimit, postBatches, seededRandom, testSeed } from '../helpers/unread-model.js';
import { connectUser, type RecordingClient } from '../helpers/ws-client.js';

const DAY = 24 * 3600_000;
const USERS = 200;

let cluster: TestCluster;
let t: TestService;
const clock = new ManualClock();
const clients: RecordingClient[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  t = await startTestService({
    roles: ['api', 'gateway', 'worker'],
    clock,
    env: {
      PMQ_REDIS_CLUSTER_NODES: cluster.seedList,
      PMQ_RATE_LIMIT_PER_KEY: '0',
      PMQ_ACK_TIMEOUT_MS: '200',
      // Small pages and rounds, so that each path takes many calls.
      PMQ_PAGE_SIZE: '5',
      PMQ_MAINT_USERS_PER_ROUND: '17',
    },
  });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.stop();
  await cluster?.stop();
});

/** Per master: CROSSSLOT errors so far, and script calls served. */
async function tallies(): Promise<{ port: number; crossSlot: number; scripts: number }[]> {
  return Promise.all(
    (await cluster.masters()).map(async ({ port }) => {
      const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
      try {
        const errors = (await r.info('errorstats')) as string;
        const commands = (await r.info('commandstats')) as string;
        const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(commands)?.[1] ?? 0);
        return {
          port,
          crossSlot: Number(/errorstat_CROSSSLOT:count=(\d+)/.exec(errors)?.[1] ?? 0),
          scripts: calls('evalsha') + calls('eval'),
        };
      } finally {
        r.disconnect();
      }
    }),
  );
}

describe('on Redis Cluster', () => {
  it('the tally counts a command that spans slots', async () => {
    const [master] = await cluster.masters();
    const r = new Redis({ port: master!.port, host: '127.0.0.1' });
    await expect(r.mset('{probe-a}:x', '1', '{probe-b}:y', '2')).rejects.toThrow(/CROSSSLOT/);
    r.disconnect();
    expect((await tallies()).find((x) => x.port === master!.port)!.crossSlot).toBe(1);
  });

  it('PMQ sends none under load, on every path that spans users', async () => {
    const before = await tallies();
    const rand = seededRandom(testSeed());
    const model = new UnreadModel();

    // Online users: half ack what they get, half never do (redeliveries, pending pages).
    const online = Array.from({ length: 40 }, (_, i) => `u${i * 5}`);
    for (const [i, uid] of online.entries()) clients.push(await connectUser(t, uid, { autoAck: i % 2 === 0 }));

    // Batches of up to 500 events over 200 users: every chunk spans many slots.
    const batches = generateBatches(rand, { events: 4000, users: USERS, categories: CATEGORIES, maxBatch: 500 });
    await postBatches(t, model, batches, 4);
    await drained(t);
    await pushesIdle(t);

    // Reads of every kind, for many users at once.
    const users = model.users();
    await mapLimit(users, 8, async (uid, i) => {
      const ids = model.messageIds(uid).slice(0, 2);
      const body = i % 3 === 0 ? {} : i % 3 === 1 ? { category: 'comment' } : { ids };
      expect((await t.http('POST', `/v1/users/${uid}/read`, { body })).status).toBe(200);
      if (i % 3 === 0) model.readAll(uid);
      else if (i % 3 === 1) model.readCategories(uid, ['comment']);
      else model.readIds(uid, ids);
      expect((await t.http('GET', `/v1/users/${uid}/unread`)).body).toEqual(model.counts(uid));
    });

    // A reconnect of every online user: a drain each, pages of five.
    for (const c of clients.splice(0)) c.close();
    for (const uid of online.slice(0, 20)) clients.push(await connectUser(t, uid));
    await waitFor(async () => (await compareWithModel(t, model, users, { feeds: false })).length === 0, 30_000, 'counts as the model says');

    // Redeliveries come and go (the ack timeout is 200 ms): a sweep of every shard.
    const unacked = clients[1]!;
    await waitFor(() => unacked.messages.length > 0, 15_000, 'pushes to a user who reconnected');

    // Maintenance over every user: tier moves, purges, the sweep of nodes.
    clock.advance(DAY + 1000);
    expect((await runMaintenance(t, 'tier-move')).moved).toBeGreaterThan(0);
    clock.advance(15 * DAY);
    expect((await runMaintenance(t, 'purge')).purged).toBeGreaterThan(0);
    await runMaintenance(t, 'node-sweep');

    const after = await tallies();
    for (const m of after) {
      const was = before.find((b) => b.port === m.port)!;
      expect({ port: m.port, crossSlot: m.crossSlot - was.crossSlot }).toEqual({ port: m.port, crossSlot: 0 });
      // The load reached every master.
      expect(m.scripts - was.scripts).toBeGreaterThan(100);
    }
  });
});
