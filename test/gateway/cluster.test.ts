// The gateway across nodes, with real processes: the API and the workers run in
// this process; gateway nodes run as `pmq gateway` child processes on the same
// Redis and key prefix, each with its own node id and port: two shared by every
// test (A and B, never stopped), and one of its own for each test that stops one. Pushes cross
// nodes through Redis pub/sub; a node killed outright leaves registry entries
// until the sweep; a node swept while stalled registers its users again when it
// runs again; a node stopped with SIGTERM leaves the registry first (sockets
// whose auth finishes meanwhile included), closes its sockets with 1012 and exits
// 0, and its clients resume on another node (through a stand-in load balancer),
// losing nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execEach } from '../../src/redis/slot-groups.js';
import { runMaintenance } from '../helpers/maintenance.js';
import { beforeMarker, postMarker } from '../helpers/marker.js';
import { drained, startTestService, testEnv, waitFor, type TestService } from '../helpers/service.js';
import { killAllRoles } from '../helpers/spawn-role.js';
import { registryState, spawnGateway, startTcpProxy, wireClient, type GatewayNode } from '../helpers/cluster.js';
import { mintToken, rawSocket, recordingClient, type RecordingClient } from '../helpers/ws-client.js';

const NODE_TTL_MS = 2000;

let t: TestService;
let env: Record<string, string>;
let A: GatewayNode;
let B: GatewayNode;
/** What the running test opened, closed when it ends (passed or not), so that a failure stays in its test. */
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  env = testEnv({ PMQ_NODE_TTL_MS: String(NODE_TTL_MS) });
  t = await startTestService({ roles: ['api', 'worker'], env });
  [A, B] = await Promise.all([spawnGateway(env, `${env.PMQ_KEY_PREFIX}-a`), spawnGateway(env, `${env.PMQ_KEY_PREFIX}-b`)]);
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

afterAll(async () => {
  await killAllRoles();
  await t?.stop();
});

/**
 * A gateway node for the running test alone, to stop or kill. When the test ends
 * it is stopped if still running, and its registry entries go even if it died
 * unswept: the next test's sweep counts its own node only.
 */
async function ownNode(name: string): Promise<GatewayNode> {
  const node = await spawnGateway(env, `${env.PMQ_KEY_PREFIX}-${name}`);
  closers.push(async () => {
    const { child } = node.proc;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT'); // a failed test may have left it stopped
      await node.proc.kill('SIGTERM');
    }
    const { redis, keys } = t.service.ctx;
    await execEach(redis, [
      [keys.nodes, (p) => p.zrem(keys.nodes, node.nodeId)],
      [keys.nodeUsers(node.nodeId), (p) => p.del(keys.nodeUsers(node.nodeId))],
    ]);
  });
  return node;
}

function client(url: string, uid: string, opts: Parameters<typeof recordingClient>[2] = {}): RecordingClient {
  const rec = recordingClient(url, () => mintToken(t, uid), opts);
  closers.push(() => rec.close());
  return rec;
}

async function wire(url: string, uid: string, opts: Parameters<typeof wireClient>[2] = {}) {
  const w = await wireClient(url, await mintToken(t, uid), opts);
  closers.push(() => w.ws.terminate());
  return w;
}

async function post(body: unknown): Promise<void> {
  const r = await t.http('POST', '/v1/events', { body });
  expect(r.status).toBe(202);
}

const registry = (node: GatewayNode, uids: string[]) => registryState(t.service.ctx.redis, t.service.ctx.keys, node.nodeId, uids);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('push across nodes', () => {
  it('reaches a user whose socket is on another node: a message frame, then an unread frame', async () => {
    const b = client(B.wsUrl, 'x1');
    expect(await b.ready).toMatchObject({ uid: 'x1', node: B.nodeId, recovered: true, unread: { total: 0 } });
    expect((await registry(B, ['x1'])).userHasNode).toEqual({ x1: true });

    await post({ id: 'x1-1', type: 'comment', to: 'x1', from: 'bob', title: 'hi', body: 'there' });
    const [m] = await b.waitForMessages(1);
    expect(m).toMatchObject({ type: 'message', id: 'x1-1', seq: 1, category: 'comment', from: 'bob', title: 'hi', body: 'there' });
    await waitFor(() => b.unread.at(-1)?.total === 1, 5000, 'an unread frame with total 1');
    expect(b.unread.at(-1)).toEqual({ total: 1, counts: { comment: 1 } });
  });

  it('reaches both sockets of a user on two nodes; a read on one node updates the counts on the other', async () => {
    const a = client(A.wsUrl, 'x2');
    const b = client(B.wsUrl, 'x2');
    expect((await a.ready).node).toBe(A.nodeId);
    expect((await b.ready).node).toBe(B.nodeId);

    await post({ events: [{ id: 'x2-1', type: 'comment', to: 'x2', from: 'y' }, { id: 'x2-2', type: 'notice', to: 'x2' }] });
    for (const c of [a, b]) {
      expect((await c.waitForMessages(2)).map((m) => m.id)).toEqual(['x2-1', 'x2-2']);
      await waitFor(() => c.client.unread.total === 2, 5000, 'unread 2');
    }
    a.client.read({ category: 'comment' });
    // Each socket's own new counts: the one on A comes through Redis as B's does.
    await waitFor(() => a.client.unread.total === 1, 5000, 'A to see its own read');
    await waitFor(() => b.client.unread.total === 1, 5000, 'B to see the read made on A');
    expect(b.client.unread).toEqual({ total: 1, counts: { notice: 1 } });
    expect(a.client.unread).toEqual({ total: 1, counts: { notice: 1 } });

    // A read over HTTP (the API process) reaches both nodes.
    await t.http('POST', '/v1/users/x2/read', { body: {} });
    await waitFor(() => a.client.unread.total === 0 && b.client.unread.total === 0, 5000, 'both nodes to show 0');
    // No message came but the two: a marker posted now is the next one on both.
    const marker = await postMarker(t, 'x2');
    for (const c of [a, b]) expect((await beforeMarker(() => c.messages, marker)).map((m) => m.id)).toEqual(['x2-1', 'x2-2']);

    // The last socket of the user on a node closes: that node leaves the user's entry.
    a.close();
    await waitFor(async () => !(await registry(A, ['x2'])).userHasNode.x2, 5000, 'A to leave x2');
    expect((await registry(A, ['x2'])).nodeUsers).not.toContain('x2');
    expect((await registry(B, ['x2'])).userHasNode).toEqual({ x2: true });
    b.close();
    await waitFor(async () => !(await registry(B, ['x2'])).userHasNode.x2, 5000, 'B to leave x2');
  });
});

describe('a gateway that stalls past its TTL (SIGSTOP)', () => {
  it('is swept, and once it runs again it registers its users again: pushes reach them', async () => {
    const S = await ownNode('stalled');
    const p = client(S.wsUrl, 'p1');
    await p.ready;
    process.kill(S.proc.pid, 'SIGSTOP');
    try {
      const beat = (await registry(S, [])).heartbeat!;
      await waitFor(() => Date.now() - beat > NODE_TTL_MS + 50, NODE_TTL_MS + 2000, "the node's heartbeat to grow older than the TTL");
      expect(await runMaintenance(t, 'node-sweep')).toMatchObject({ nodes: 1 });
      expect(await registry(S, ['p1'])).toEqual({ heartbeat: null, nodeUsers: [], userHasNode: { p1: false } });
    } finally {
      process.kill(S.proc.pid, 'SIGCONT');
    }
    await waitFor(async () => (await registry(S, ['p1'])).userHasNode.p1, 5000, 'the node to register p1 again');
    expect((await registry(S, ['p1'])).nodeUsers).toEqual(['p1']);
    await post({ id: 'p1-1', type: 'notice', to: 'p1' });
    expect((await p.waitForMessages(1, 5000)).map((m) => m.id)).toEqual(['p1-1']);
    p.close();
    await waitFor(async () => !(await registry(S, ['p1'])).userHasNode.p1, 5000, 'the node to leave p1');
  });
});

describe('a gateway killed outright (SIGKILL)', () => {
  it('leaves its registry entries until the sweep; what was posted meanwhile reaches the users on another node, once and in order', async () => {
    const K = await ownNode('killed');
    const k1 = client(K.wsUrl, 'k1', { reconnect: false });
    const k2 = client(K.wsUrl, 'k2', { reconnect: false });
    await Promise.all([k1.ready, k2.ready]);
    const atStart = await registry(K, ['k1', 'k2']);
    expect(atStart.nodeUsers).toEqual(['k1', 'k2']);
    expect(atStart.userHasNode).toEqual({ k1: true, k2: true });

    expect(await K.proc.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    await waitFor(() => k1.closes.length > 0 && k2.closes.length > 0, 5000, 'the sockets to drop');
    // Nobody cleaned up: the entries are still there.
    const afterKill = await registry(K, ['k1', 'k2']);
    expect(afterKill.nodeUsers).toEqual(['k1', 'k2']);
    expect(afterKill.userHasNode).toEqual({ k1: true, k2: true });

    // Posted while the registry still points at the dead node.
    await post({ events: [1, 2, 3].map((i) => ({ id: `k1-${i}`, type: 'notice', to: 'k1' })) });
    await drained(t);
    // k2 got nothing: its entries wait for the sweep.
    expect((await registry(K, ['k2'])).userHasNode).toEqual({ k2: true });

    const beat = (await registry(K, [])).heartbeat!;
    await waitFor(() => Date.now() - beat > NODE_TTL_MS + 50, NODE_TTL_MS + 2000, "the node's heartbeat to grow older than the TTL");
    const swept = await runMaintenance(t, 'node-sweep');
    expect(swept).toMatchObject({ nodes: 1 });
    const afterSweep = await registry(K, ['k1', 'k2']);
    expect(afterSweep).toEqual({ heartbeat: null, nodeUsers: [], userHasNode: { k1: false, k2: false } });
    expect(await t.service.ctx.redis.exists(t.service.ctx.keys.nodeUsers(K.nodeId))).toBe(0);
    // The live nodes were left alone.
    expect((await registry(A, [])).heartbeat).not.toBeNull();
    expect((await registry(B, [])).heartbeat).not.toBeNull();

    await post({ events: [4, 5, 6].flatMap((i) => ['k1', 'k2'].map((to) => ({ id: `${to}-${i}`, type: 'comment', from: 'z', to }))) });
    await drained(t);

    const w1 = await wire(B.wsUrl, 'k1');
    const w2 = await wire(B.wsUrl, 'k2');
    expect(w1.hello).toMatchObject({ node: B.nodeId, unread: { total: 6 } });
    await w1.waitForMessages(6);
    await w2.waitForMessages(3);
    // No duplicate: a marker posted to each user now is the next frame after these.
    const [m1, m2] = [await postMarker(t, 'k1'), await postMarker(t, 'k2')];
    const [got1, got2] = await Promise.all([beforeMarker(w1.messages, m1), beforeMarker(w2.messages, m2)]);
    expect(got1.map((m) => m.id)).toEqual(['k1-1', 'k1-2', 'k1-3', 'k1-4', 'k1-5', 'k1-6']);
    expect(got2.map((m) => m.id)).toEqual(['k2-4', 'k2-5', 'k2-6']);
    expect(got2.map((m) => m.seq)).toEqual([1, 2, 3]);
  });
});

describe('a gateway stopped (SIGTERM)', () => {
  it('leaves the registry, then closes its sockets with 1012 and exits 0; the clients resume on another node and lose nothing', async () => {
    const C = await ownNode('stopped');
    const proxy = await startTcpProxy(C.port);
    closers.push(() => proxy.close());
    const uids = ['g1', 'g2'];
    const clients = uids.map((uid) => client(proxy.wsUrl, uid));
    for (const c of clients) expect((await c.ready).node).toBe(C.nodeId);
    expect((await registry(C, uids)).nodeUsers).toEqual(uids);

    // What Redis said the moment each client saw its socket close.
    const atClose: Promise<Awaited<ReturnType<typeof registry>>>[] = [];
    for (const c of clients) c.client.on('close', () => atClose.push(registry(C, uids)));

    // Sockets that finish their auth while the node is going down must not leave
    // an entry behind either: a storm of auth frames around the signal.
    const stormUids = Array.from({ length: 150 }, (_, i) => `storm${i}`);
    const stormTokens = await Promise.all(stormUids.map((uid) => mintToken(t, uid)));
    const storm = await Promise.all(stormUids.map(() => rawSocket(C.wsUrl)));
    closers.push(() => storm.forEach((s) => s.ws.terminate()));
    const authStorm = async () => {
      for (const [i, s] of storm.entries()) {
        if (s.ws.readyState === s.ws.OPEN) s.send({ type: 'auth', token: stormTokens[i] });
        await sleep(0);
      }
    };

    // Posts keep coming while the node goes down and the clients move.
    const sent: string[] = [];
    let stop = false;
    const posting = (async () => {
      for (let i = 0; !stop || i < 20; i++) {
        const events = uids.map((to) => ({ id: `${to}-s${i}`, type: 'notice', to }));
        await post({ events });
        sent.push(...events.map((e) => e.id));
        await sleep(20);
      }
    })();
    await waitFor(() => sent.length >= 10, 5000, 'a few posts');

    proxy.target(B.port);
    const exiting = C.proc.kill('SIGTERM');
    await authStorm();
    const exit = await exiting;
    stop = true;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(C.proc.output()).toMatch(/"msg":"pmq stopped"/);
    await posting;
    expect(new Set((await Promise.all(storm.map((s) => s.closed))).map((c) => c.code))).toEqual(new Set([1012]));
    expect(await registry(C, stormUids)).toEqual({
      heartbeat: null,
      nodeUsers: [],
      userHasNode: Object.fromEntries(stormUids.map((uid) => [uid, false])),
    });

    for (const c of clients) {
      expect(c.closes[0]?.code).toBe(1012);
      await waitFor(() => c.hellos.length === 2, 10_000, 'the reconnect');
      expect(c.hellos[1]!.node).toBe(B.nodeId);
    }
    for (const state of await Promise.all(atClose)) {
      expect(state).toEqual({ heartbeat: null, nodeUsers: [], userHasNode: { g1: false, g2: false } });
    }
    expect(await registry(C, uids)).toEqual({ heartbeat: null, nodeUsers: [], userHasNode: { g1: false, g2: false } });
    expect((await registry(B, uids)).userHasNode).toEqual({ g1: true, g2: true });

    await drained(t);
    for (const [i, uid] of uids.entries()) {
      const want = sent.filter((id) => id.startsWith(`${uid}-`));
      const got = await clients[i]!.waitForMessages(want.length);
      expect(got.map((m) => m.id).sort()).toEqual([...want].sort());
    }
    // Every message acked: none left pending.
    for (const uid of uids) {
      await waitFor(
        async () => {
          const r = await t.http('GET', `/v1/users/${uid}/messages?limit=100`);
          return r.body.messages.every((m: { state: string }) => m.state === 'delivered');
        },
        5000,
        `every message of ${uid} delivered`,
      );
    }
  });
});
