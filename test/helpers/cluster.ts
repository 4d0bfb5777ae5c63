// Gateway nodes as real child processes (`pmq gateway`), a TCP "load balancer"
// in front of them that a test can point elsewhere, and a raw client that counts
// every message frame on the wire (PmqClient drops duplicates by id; a test of
// exactness must see them).
import { connect, createServer, type Socket } from 'node:net';
import type { RedisClient } from '../../src/redis/client.js';
import type { Keys } from '../../src/redis/keys.js';
import { execEach, type KeyedCommand } from '../../src/redis/slot-groups.js';
import { waitFor } from './service.js';
import { spawnRole, type RoleProcess } from './spawn-role.js';
import { rawSocket, type RawSocket } from './ws-client.js';

export interface GatewayNode {
  proc: RoleProcess;
  nodeId: string;
  port: number;
  /** ws://127.0.0.1:<port>/ws */
  wsUrl: string;
}

/** The port of a role process, from its "http listening" log line. */
export function listeningPort(proc: RoleProcess): number {
  for (const line of proc.output().split('\n')) {
    try {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === 'http listening' && typeof entry.port === 'number') return entry.port;
    } catch {
      // not a JSON log line
    }
  }
  throw new Error(`no "http listening" line in the output:\n${proc.output().slice(-2000)}`);
}

/** Spawns `pmq gateway` with `env` and its own node id; resolves once it listens. */
export async function spawnGateway(env: Record<string, string>, nodeId: string): Promise<GatewayNode> {
  const proc = await spawnRole('gateway', { ...env, PMQ_NODE_ID: nodeId });
  const port = listeningPort(proc);
  return { proc, nodeId, port, wsUrl: `ws://127.0.0.1:${port}/ws` };
}

/** What the registry in Redis says about one node and some users. */
export async function registryState(
  redis: RedisClient,
  keys: Keys,
  nodeId: string,
  uids: string[],
): Promise<{ heartbeat: number | null; nodeUsers: string[]; userHasNode: Record<string, boolean> }> {
  const replies = await execEach(redis, [
    [keys.nodes, (p) => p.zscore(keys.nodes, nodeId)],
    [keys.nodeUsers(nodeId), (p) => p.smembers(keys.nodeUsers(nodeId))],
    ...uids.map((uid): KeyedCommand => [keys.user(uid).nodes, (p) => p.hexists(keys.user(uid).nodes, nodeId)]),
  ]);
  const score = replies[0] as string | null;
  return {
    heartbeat: score === null ? null : Number(score),
    nodeUsers: (replies[1] as string[]).sort(),
    userHasNode: Object.fromEntries(uids.map((uid, i) => [uid, replies[i + 2] === 1])),
  };
}

/** A TCP forwarder standing in for the load balancer; `target` sets where new connections go. */
export interface TcpProxy {
  port: number;
  wsUrl: string;
  target(port: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let target = targetPort;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    open.add(client).add(upstream);
    // One side ending ends the other once what it sent is flushed (a close frame
    // must get through); an error drops both.
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const [s, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      s.on('error', drop);
      s.on('close', () => {
        open.delete(s);
        other.end();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    target: (p) => {
      target = p;
    },
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Frame = { type: string; [k: string]: unknown };

/** A raw socket authenticated by URL, acking each message (unless told not to), counting frames on the wire. */
export interface WireClient extends RawSocket {
  hello: Frame;
  /** Every message frame received, duplicates included, in arrival order. */
  messages(): { id: string; seq: number; index: number }[];
  waitForMessages(n: number, timeoutMs?: number): Promise<{ id: string; seq: number; index: number }[]>;
}

export async function wireClient(baseUrl: string, token: string, opts: { since?: number; ack?: boolean } = {}): Promise<WireClient> {
  const url = new URL(baseUrl);
  url.searchParams.set('token', token);
  if (opts.since !== undefined) url.searchParams.set('since', String(opts.since));
  const raw = await rawSocket(url.toString());
  if (opts.ack !== false) {
    // Whatever came in the same read as the upgrade answer is already recorded.
    const early = raw.frames.filter((f) => f.type === 'message').map((f) => f.id as string);
    if (early.length > 0) raw.send({ type: 'ack', ids: early });
    raw.ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as Frame;
      if (f.type === 'message') raw.send({ type: 'ack', ids: [f.id] });
    });
  }
  const hello = await raw.waitForFrame('hello');
  const messages = () =>
    raw.frames.flatMap((f, index) => (f.type === 'message' ? [{ id: f.id as string, seq: f.seq as number, index }] : []));
  return {
    ...raw,
    hello,
    messages,
    waitForMessages: (n, timeoutMs = 10_000) =>
      waitFor(() => messages().length >= n && messages(), timeoutMs, `${n} message frames (have ${messages().length})`),
  };
}
