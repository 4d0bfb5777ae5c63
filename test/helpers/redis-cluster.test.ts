// The cluster the Cluster tests run on: three masters that split the slots,
// replicas that take over, and nothing left behind.
import { existsSync } from 'node:fs';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotOf } from '../../src/redis/slot-groups.js';
import { startRedisCluster, type TestCluster } from './redis-cluster.js';

describe('startRedisCluster', () => {
  let cluster: TestCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    client = new Cluster(cluster.seeds, { clusterRetryStrategy: (n) => (n > 20 ? null : 200) });
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('spreads the slots over three masters, each with a replica', async () => {
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    for (const m of masters) expect(await cluster.replicasOf(m.port)).toHaveLength(1);
    expect(cluster.nodes).toHaveLength(6);
  });

  it('serves keys of every master to a cluster client', async () => {
    const keys = ['{u:1}', '{u:2}', '{u:3}', '{u:4}', '{u:5}', '{u:6}'];
    const owners = new Set<number>();
    for (const k of keys) {
      await client.set(k, k);
      owners.add((await cluster.masterOfSlot(slotOf(k))).port);
    }
    expect(owners.size).toBeGreaterThan(1);
    for (const k of keys) expect(await client.get(k)).toBe(k);
  });

  it('fails a master over to its replica, and the data goes with it', async () => {
    const key = '{u:failover}';
    await client.set(key, 'kept');
    const master = await cluster.masterOfSlot(slotOf(key));
    await client.call('WAIT', 1, 5000);
    const promoted = await cluster.failover(master.port);
    expect((await cluster.masterOfSlot(slotOf(key))).port).toBe(promoted.port);
    expect(await client.get(key)).toBe('kept');
  });

  it('moves a slot and its keys to another master', async () => {
    const key = '{moved}:k';
    const slot = slotOf(key);
    await client.set(key, 'v');
    const from = await cluster.masterOfSlot(slot);
    const to = (await cluster.masters()).find((m) => m.port !== from.port)!;
    await cluster.moveSlot(slot, to.port);
    expect((await cluster.masterOfSlot(slot)).port).toBe(to.port);
    expect(await client.get(key)).toBe('v');
  });

  it('promotes a replica when a master is killed', async () => {
    const key = '{u:killed}';
    const master = await cluster.masterOfSlot(slotOf(key));
    const promoted = await cluster.killMaster(master.port);
    expect(promoted.port).not.toBe(master.port);
    expect((await cluster.masterOfSlot(slotOf(key))).port).toBe(promoted.port);
    await client.set(key, 'after');
    expect(await client.get(key)).toBe('after');
  });

  it('removes its directory when stopped', async () => {
    const other = await startRedisCluster({ masters: 3 });
    expect(existsSync(other.dir)).toBe(true);
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
  });
});
