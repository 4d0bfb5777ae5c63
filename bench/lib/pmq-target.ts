// PMQ as a target of the push load (delivery-load.ts): spawned on a private
// redis-server in one of two layouts, or a running one (PMQ_URL). Its sockets ack
// every message, as the client library does (acking-load.ts).
//   all    one `pmq all` process
//   split  `pmq api`, `pmq worker` and `pmq gateway`, a process each, as deployed on
//          more cores: POSTs go to the api, sockets to the gateway
import { join } from 'node:path';
import WebSocket from 'ws';
import { Authenticator } from '../../src/auth/authenticator.js';
import { systemClock } from '../../src/events/clock.js';
import { freePort } from '../../test/helpers/redis-server.js';
import { ackMessages } from './acking-load.js';
import { Completion } from './completion.js';
import type { LoadMessage, LoadSocket, Target } from './delivery-load.js';
import { ensureBuilt, startCluster, startRedis, startService, tail, type Child, type ServiceChild, type ServiceRole } from './processes.js';

export type Topology = 'all' | 'split';

const API_KEY = process.env.PMQ_API_KEY ?? 'bench-api-key';
const SECRET = process.env.PMQ_TOKEN_SECRET ?? 'bench-token-secret-0123456789abcdef012345';

/** A running PMQ: PMQ_URL, PMQ_WS_URL (default PMQ_URL's /ws), PMQ_API_KEY, PMQ_TOKEN_SECRET. */
export function externalPmq(): Target {
  const url = process.env.PMQ_URL!.replace(/\/+$/, '');
  const wsUrl = process.env.PMQ_WS_URL ?? `${url.replace(/^http/, 'ws')}/ws`;
  return {
    description: url,
    url,
    apiKey: API_KEY,
    processes: [],
    socketPid: undefined,
    socketInspectPort: undefined,
    redisPids: [],
    connect: (uid, onMessage) => connectPmq(wsUrl, uid, onMessage),
  };
}

/**
 * A private redis-server and PMQ on it, in the layout of `topology`; what it starts
 * is pushed on `children`, for the caller to stop (in reverse). `PMQ_*` variables
 * other than the bench's pass through to the service; PMQ_BENCH_NODE_ARGS adds node
 * flags (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof').
 */
export async function spawnPmq(
  topology: Topology,
  dir: string,
  children: Child[],
  log: (line: string) => void,
  opts: { ack?: boolean; cluster?: boolean } = {},
): Promise<Target> {
  // Sockets that never ack leave every message pending: without redelivery off,
  // each would come again after PMQ_ACK_TIMEOUT_MS.
  const ack = opts.ack ?? true;
  ensureBuilt(log);
  const redis = opts.cluster ? await spawnCluster(children, log) : await spawnRedis(dir, children, log);
  const keyPrefix = process.env.PMQ_KEY_PREFIX || 'pmq';
  // One environment for every process: they share the Redis, the API key, and the
  // token secret (the gateway checks the tokens this process signs).
  const env: NodeJS.ProcessEnv = {
    // The service's own settings pass through (PMQ_REDELIVER_MAX=0 ...).
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k.startsWith('PMQ_') && !/^PMQ_(BENCH_|URL$|WS_URL$|API_KEY$)/.test(k)),
    ),
    PATH: process.env.PATH,
    ...redis.env,
    PMQ_API_KEYS: API_KEY,
    PMQ_TOKEN_SECRET: SECRET,
    PMQ_KEY_PREFIX: keyPrefix,
    LOG_LEVEL: 'warn',
    PMQ_RATE_LIMIT_PER_KEY: '0',
    ...(!ack && { PMQ_REDELIVER_MAX: '0' }),
  };
  // No `pmq cron` in split: it only enqueues maintenance on a schedule (tier moves
  // after PMQ_FAST_TIER_SECONDS, a day by default; purges at the end of retention;
  // the sweep of dead gateways), and no delivery of a run waits for any of them.
  // In `all` it is there but idle: a leader-lock renewal every 10 s.
  const roles: ServiceRole[] = topology === 'all' ? ['all'] : ['api', 'worker', 'gateway'];
  const services: ServiceChild[] = [];
  // The inspector of the socket holder, on loopback, idle but for the GCs of the idle phase.
  const inspectPort = await freePort();
  for (const role of roles) {
    const logFile = join(dir, `service-${role}.log`);
    const holdsSockets = role === 'all' || role === 'gateway';
    const service = await startService({
      role,
      mode: 'dist',
      nodeArgs: [
        ...(process.env.PMQ_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
        ...(holdsSockets ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
      ],
      env,
      logFile,
    });
    services.push(service);
    children.push({
      ...service,
      stop: async () => {
        await service.stop();
        const code = service.process.exitCode ?? service.process.signalCode;
        // A service that died is why a run went wrong: say so, with its last words.
        if (code !== 0) log(`pmq ${role} exited with ${code}:\n${tail(logFile, 20)}`);
      },
    });
    log(`pmq ${role} pid ${service.pid}${service.url ? ` on ${service.url}` : ''}`);
  }
  // /readyz answers before the workers start (in `all` too), and a lone worker has
  // no port at all: it is up once BullMQ lists it on the events queue. A fan-out
  // posted before that would time the worker's start.
  const completion = new Completion(redis.env.REDIS_URL ?? '', keyPrefix, redis.cluster);
  try {
    await completion.waitForWorker(60_000);
  } catch (err) {
    const worker = services.find((s) => s.role === 'worker' || s.role === 'all')!;
    throw new Error(`${(err as Error).message}:\n${tail(worker.logFile, 20)}`);
  } finally {
    await completion.close();
  }
  const socketHolder = services.find((s) => s.wsUrl !== undefined)!;
  const wsUrl = socketHolder.wsUrl!;
  return {
    description: topology === 'all' ? 'spawned pmq all' : `spawned ${roles.map((r) => `pmq ${r}`).join(' + ')}`,
    url: services.find((s) => s.role === 'api' || s.role === 'all')!.url!,
    apiKey: API_KEY,
    processes: services.map((s) => ({ role: s.role, pid: s.pid })),
    socketPid: socketHolder.pid,
    socketInspectPort: inspectPort,
    redisPids: redis.pids,
    connect: (uid, onMessage) => connectPmq(wsUrl, uid, onMessage, ack),
  };
}

interface SpawnedRedis {
  pids: number[];
  /** REDIS_URL, or PMQ_REDIS_CLUSTER_NODES. */
  env: Record<string, string>;
  cluster: { host: string; port: number }[] | undefined;
}

async function spawnRedis(dir: string, children: Child[], log: (line: string) => void): Promise<SpawnedRedis> {
  const redis = await startRedis(dir);
  children.push(redis);
  log(`redis-server pid ${redis.pid} on ${redis.url}`);
  return { pids: [redis.pid], env: { REDIS_URL: redis.url }, cluster: undefined };
}

async function spawnCluster(children: Child[], log: (line: string) => void): Promise<SpawnedRedis> {
  const cluster = await startCluster();
  children.push({ pid: cluster.pids[0]!, stop: cluster.stop });
  log(`redis cluster of three masters on ${cluster.seedList}`);
  return { pids: cluster.pids, env: { PMQ_REDIS_CLUSTER_NODES: cluster.seedList }, cluster: cluster.nodes };
}

/** A user token as POST /v1/tokens mints it, signed here with the service's secret. */
const minter = new Authenticator([], SECRET, systemClock);

/** A token for `uid`, as the main site gets it from POST /v1/tokens (bench:chat's visitors). */
export async function mintToken(uid: string, ttlSeconds = 3600): Promise<string> {
  return (await minter.mint(uid, ttlSeconds)).token;
}

/** `uid`'s socket, open once the hello frame arrived (the gateway has registered it by then). */
async function connectPmq(wsUrl: string, uid: string, onMessage: (m: LoadMessage) => void, ack = true): Promise<LoadSocket> {
  const { token } = await minter.mint(uid, 3600);
  const ws = new WebSocket(`${wsUrl}?token=${token}`, { perMessageDeflate: false });
  ackMessages(ws, onMessage, ack);
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve()); // hello
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`socket closed ${code} before hello`)));
  });
  return { close: () => ws.terminate() };
}
