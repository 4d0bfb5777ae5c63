// A private Redis Cluster for the tests: redis-server processes with
// --cluster-enabled on free ports (data and cluster bus) in a temp dir, the
// slots spread evenly over the masters, each master with its replicas, and
// the whole stopped after. Built by hand (CLUSTER ADDSLOTSRANGE, MEET,
// REPLICATE) rather than `redis-cli --cluster create`: the bus ports are free
// ports, not port + 10000, and each step can be waited on.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, kill, untilItAnswers } from './redis-server.js';

export interface ClusterNode {
  port: number;
  busPort: number;
  id: string;
  process: ChildProcess;
}

export interface TestCluster {
  /** Seed nodes, as PMQ_REDIS_CLUSTER_NODES takes them: every master. */
  seeds: { host: string; port: number }[];
  /** `host:port,host:port`: the seeds for PMQ_REDIS_CLUSTER_NODES. */
  seedList: string;
  dir: string;
  nodes: ClusterNode[];
  /** The nodes that are masters now, as the cluster sees it. */
  masters(): Promise<ClusterNode[]>;
  /** The replicas of the master on `port`, as the cluster sees it. */
  replicasOf(port: number): Promise<ClusterNode[]>;
  /** The master that serves a slot now. */
  masterOfSlot(slot: number): Promise<ClusterNode>;
  /** A coordinated failover: a replica of the master on `port` takes over; resolves once every node agrees. */
  failover(port: number): Promise<ClusterNode>;
  /** SIGKILLs the master on `port` and resolves once a replica serves its slots, as every live node agrees. */
  killMaster(port: number): Promise<ClusterNode>;
  /**
   * Moves a slot and its keys to the master on `toPort`, as a resharding does
   * (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE); resolves once every node agrees.
   */
  moveSlot(slot: number, toPort: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  appendonly?: boolean;
  /** cluster-node-timeout: how long until an unreachable master is failed over. */
  nodeTimeoutMs?: number;
}

const SLOTS = 16384;

export async function startRedisCluster(opts: ClusterOptions = {}): Promise<TestCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'pmq-cluster-'));
  const nodes: ClusterNode[] = [];
  const admin = new Map<number, Redis>();
  const conn = (port: number) => {
    let c = admin.get(port);
    if (!c) {
      c = new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
      c.on('error', () => {});
      admin.set(port, c);
    }
    return c;
  };
  const alive = () => nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);

  const stop = async () => {
    for (const c of admin.values()) c.disconnect();
    await Promise.all(nodes.map((n) => kill(n.process)));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freePort();
      const busPort = await freePort();
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const child = spawn(
        'redis-server',
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--dir', nodeDir,
          '--save', '',
          '--appendonly', opts.appendonly ? 'yes' : 'no',
          '--maxmemory-policy', 'noeviction',
          '--cluster-enabled', 'yes',
          '--cluster-port', String(busPort),
          '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000),
        ],
        { stdio: 'ignore' },
      );
      await untilItAnswers(child, port, 'redis-server --cluster-enabled');
      const id = (await conn(port).call('CLUSTER', 'MYID')) as string;
      nodes.push({ port, busPort, id, process: child });
    }

    const primaries = nodes.slice(0, masters);
    for (const [i, m] of primaries.entries()) {
      const from = Math.floor((i * SLOTS) / masters);
      const to = Math.floor(((i + 1) * SLOTS) / masters) - 1;
      await conn(m.port).call('CLUSTER', 'ADDSLOTSRANGE', from, to);
    }
    for (const n of nodes.slice(1)) await conn(nodes[0]!.port).call('CLUSTER', 'MEET', '127.0.0.1', n.port, n.busPort);
    await until(async () => (await Promise.all(nodes.map((n) => knownNodes(conn(n.port))))).every((k) => k === nodes.length));
    for (const [i, r] of nodes.slice(masters).entries()) {
      await conn(r.port).call('CLUSTER', 'REPLICATE', primaries[i % masters]!.id);
    }
    await untilAgreed(alive(), conn);
    if (replicas > 0) await untilReplicasInSync(nodes.slice(masters), conn);
  } catch (err) {
    await stop();
    throw err;
  }

  const byId = (id: string) => nodes.find((n) => n.id === id)!;
  const shards = async () => slotOwners(conn(alive()[0]!.port));
  const replicasOf = async (port: number) => {
    const master = nodes.find((n) => n.port === port)!;
    const lines = ((await conn(alive().find((n) => n.port !== port)!.port).call('CLUSTER', 'NODES')) as string).split('\n');
    return lines
      .map((l) => l.split(' '))
      .filter((f) => f[3] === master.id && !f[2]!.includes('fail'))
      .map((f) => byId(f[0]!));
  };

  return {
    seeds: nodes.slice(0, masters).map((n) => ({ host: '127.0.0.1', port: n.port })),
    seedList: nodes
      .slice(0, masters)
      .map((n) => `127.0.0.1:${n.port}`)
      .join(','),
    dir,
    nodes,
    masters: async () => [...new Set((await shards()).map((s) => s.master))].map(byId),
    replicasOf,
    masterOfSlot: async (slot) => byId((await shards()).find((s) => s.from <= slot && slot <= s.to)!.master),
    failover: async (port) => {
      const [replica] = await replicasOf(port);
      if (!replica) throw new Error(`master ${port} has no replica to fail over to`);
      await conn(replica.port).call('CLUSTER', 'FAILOVER');
      await until(async () => (await role(conn(replica.port))) === 'master');
      await untilAgreed(alive(), conn);
      return replica;
    },
    killMaster: async (port) => {
      const master = nodes.find((n) => n.port === port)!;
      const before = await replicasOf(port);
      if (before.length === 0) throw new Error(`master ${port} has no replica to take over`);
      await kill(master.process);
      admin.get(port)?.disconnect();
      admin.delete(port);
      let promoted: ClusterNode | undefined;
      await until(async () => {
        for (const r of before) if ((await role(conn(r.port))) === 'master') promoted = r;
        return promoted !== undefined;
      }, 30_000);
      await untilAgreed(alive(), conn);
      return promoted!;
    },
    moveSlot: async (slot, toPort) => {
      const from = byId((await shards()).find((r) => r.from <= slot && slot <= r.to)!.master);
      const to = nodes.find((n) => n.port === toPort)!;
      if (from.port === to.port) return;
      await conn(to.port).call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
      await conn(from.port).call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
      for (;;) {
        const keys = (await conn(from.port).call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
        if (keys.length === 0) break;
        await conn(from.port).call('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...keys);
      }
      // The new owner first, then the old, then the rest: the order redis-cli uses.
      const others = [...new Set((await shards()).map((r) => r.master))].map(byId).filter((n) => n !== to && n !== from);
      for (const n of [to, from, ...others]) {
        await conn(n.port).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
      }
      await untilAgreed(alive(), conn);
    },
    stop,
  };
}

interface SlotRange {
  from: number;
  to: number;
  master: string;
}

async function slotOwners(c: Redis): Promise<SlotRange[]> {
  const slots = (await c.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  return slots.map(([from, to, [, , id]]) => ({ from, to, master: id })).sort((a, b) => a.from - b.from);
}

async function knownNodes(c: Redis): Promise<number> {
  const info = (await c.call('CLUSTER', 'INFO')) as string;
  return Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1] ?? 0);
}

async function role(c: Redis): Promise<string> {
  const [r] = (await c.call('ROLE')) as [string];
  return r;
}

/** Every node says the cluster is ok, and every node sees the same master for every slot. */
async function untilAgreed(nodes: ClusterNode[], conn: (port: number) => Redis): Promise<void> {
  await until(async () => {
    const views = await Promise.all(
      nodes.map(async (n) => {
        const info = (await conn(n.port).call('CLUSTER', 'INFO')) as string;
        if (!info.includes('cluster_state:ok')) return null;
        const owners = await slotOwners(conn(n.port));
        const covered = owners.reduce((sum, s) => sum + (s.to - s.from + 1), 0);
        return covered === SLOTS ? JSON.stringify(owners) : null;
      }),
    );
    return views[0] !== null && views.every((v) => v === views[0]);
  }, 30_000);
}

async function untilReplicasInSync(replicas: ClusterNode[], conn: (port: number) => Redis): Promise<void> {
  await until(async () => {
    for (const r of replicas) {
      const info = (await conn(r.port).call('INFO', 'replication')) as string;
      if (!info.includes('master_link_status:up')) return false;
    }
    return true;
  }, 30_000);
}

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // A node that is busy changing roles may refuse a moment: ask again.
    }
    if (Date.now() > deadline) throw new Error('the test cluster did not settle in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
