// npm run bench:push -- [--connections 10000] [--rates 5000,20000] [--seconds 10]
//                       [--saturate-seconds 10] [--topology all|split]
//                       [--settle-seconds 3] [--json]
//
// Push through the durable path: HTTP POST -> events queue -> worker (Lua) ->
// registry -> node channel -> gateway -> socket. This process holds the sockets
// (one core at most: it is one Node process) and posts the events; unless
// PMQ_URL is given it starts its own redis-server and the service, and stops them:
//   --topology all    one `pmq all` process (the default; PMQ_BENCH_TOPOLOGY)
//   --topology split  `pmq api`, `pmq worker` and `pmq gateway`, a process each, as
//                     deployed on more cores: POSTs go to the api, sockets to the gateway
// With PMQ_URL the bench posts there and opens its sockets on PMQ_WS_URL (default:
// PMQ_URL's /ws), with PMQ_API_KEY and tokens signed with PMQ_TOKEN_SECRET.
// PMQ_* variables other than the bench's pass through to a spawned service.
//
// Phases, in order:
//   idle      C sockets connected and idle, in two halves: the memory per socket of
//             the process that holds them (`all`, or the gateway), from zero and
//             marginal, each reading --settle-seconds after its burst and after a
//             full GC of that process (lib/inspector-gc.ts)
//   fan-out   one event to each of C users: time from the first POST to the last frame
//   rate R    R deliveries/s for --seconds: latency POST -> frame, p50/p99/max
//   saturate  POSTs as fast as the service takes them: deliveries/s
// Every socket acks what it receives, as the client library does. Each phase gives
// the CPU of the bench, of each service process and their sum, and of Redis: as %
// of one core, and per delivery (the bench's figure is what the load itself costs).
//
// JSON on stdout (the last line), a table on stderr.
import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Authenticator } from '../src/auth/authenticator.js';
import { systemClock } from '../src/events/clock.js';
import WebSocket from 'ws';
import { freePort } from '../test/helpers/redis-server.js';
import { ackMessages } from './lib/acking-load.js';
import { Completion } from './lib/completion.js';
import { collectGarbage } from './lib/inspector-gc.js';
import {
  ensureBuilt,
  makeTempDir,
  processCpuSeconds,
  startRedis,
  startService,
  tail,
  type Child,
  type ServiceChild,
  type ServiceRole,
} from './lib/processes.js';
import { percentile, round } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: process.env.PMQ_BENCH_CONNECTIONS ?? '10000' },
    rates: { type: 'string', default: process.env.PMQ_BENCH_RATES ?? '5000,20000' },
    seconds: { type: 'string', default: process.env.PMQ_BENCH_SECONDS ?? '10' },
    'saturate-seconds': { type: 'string', default: process.env.PMQ_BENCH_SATURATE_SECONDS ?? '10' },
    topology: { type: 'string', default: process.env.PMQ_BENCH_TOPOLOGY ?? 'all' },
    'settle-seconds': { type: 'string', default: process.env.PMQ_BENCH_SETTLE_SECONDS ?? '3' },
    json: { type: 'boolean', default: false },
  },
});

const C = Number(args.connections);
const RATES = args.rates!.split(',').map(Number).filter((n) => n > 0);
const SECONDS = Number(args.seconds);
const SATURATE_SECONDS = Number(args['saturate-seconds']);
const TOPOLOGY = args.topology!;
const API_KEY = process.env.PMQ_API_KEY ?? 'bench-api-key';
const SECRET = process.env.PMQ_TOKEN_SECRET ?? 'bench-token-secret-0123456789abcdef012345';
/** After a burst of connections, before RSS is read: the same wait for every reading. */
const SETTLE_MS = Number(args['settle-seconds']) * 1000;
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!Number.isInteger(C) || C < 1) usage(`--connections: must be a whole number from 1, got "${args.connections}"`);
if (TOPOLOGY !== 'all' && TOPOLOGY !== 'split') usage(`--topology: must be all or split, got "${TOPOLOGY}"`);

function usage(message: string): never {
  log(`bench:push: ${message}`);
  process.exit(2);
}

/** The service as the load sees it: where to post, where to connect, which processes to watch. */
interface Target {
  url: string;
  wsUrl: string;
  /** What the JSON calls it: the layout spawned, or PMQ_URL. */
  description: string;
  /** The service's processes (none for PMQ_URL): their CPU time is the service's. */
  processes: { role: ServiceRole; pid: number }[];
  /** The process that holds the sockets (`all` or the gateway): its RSS is the memory per socket. */
  socketPid: number | undefined;
  /** Its inspector port, to collect its garbage before RSS is read (see lib/inspector-gc.ts). */
  socketInspectPort: number | undefined;
  redisPid: number | undefined;
}

interface Sock {
  ws: WebSocket;
  uid: string;
}

/** Every message frame received: when, and how long after its POST. */
let deliveries = 0;
let latencies: number[] = [];
let recording = false;

async function main(): Promise<void> {
  const children: Child[] = [];
  const temp = makeTempDir();
  try {
    let target: Target;
    if (process.env.PMQ_URL) {
      const url = process.env.PMQ_URL.replace(/\/+$/, '');
      const wsUrl = process.env.PMQ_WS_URL ?? `${url.replace(/^http/, 'ws')}/ws`;
      target = { url, wsUrl, description: url, processes: [], socketPid: undefined, socketInspectPort: undefined, redisPid: undefined };
    } else {
      target = await spawnService(temp.dir, children);
    }
    const result = await run(target);
    log(table(result));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const c of children.reverse()) await c.stop();
    temp.remove();
  }
}

/** A private redis-server and the service on it, in the layout of --topology. */
async function spawnService(dir: string, children: Child[]): Promise<Target> {
  ensureBuilt(log);
  const redis = await startRedis(dir);
  children.push(redis);
  const keyPrefix = process.env.PMQ_KEY_PREFIX || 'pmq';
  // One environment for every process: they share the Redis, the API key, and the
  // token secret (the gateway checks the tokens this process signs).
  const env: NodeJS.ProcessEnv = {
    // The service's own settings pass through (PMQ_REDELIVER_MAX=0 ...).
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k.startsWith('PMQ_') && !/^PMQ_(BENCH_|URL$|WS_URL$|API_KEY$)/.test(k)),
    ),
    PATH: process.env.PATH,
    REDIS_URL: redis.url,
    PMQ_API_KEYS: API_KEY,
    PMQ_TOKEN_SECRET: SECRET,
    PMQ_KEY_PREFIX: keyPrefix,
    LOG_LEVEL: 'warn',
    PMQ_RATE_LIMIT_PER_KEY: '0',
  };
  // No `pmq cron` in split: it only enqueues maintenance on a schedule (tier moves
  // after PMQ_FAST_TIER_SECONDS, a day by default; purges at the end of retention;
  // the sweep of dead gateways), and no delivery of a run waits for any of them.
  // In `all` it is there but idle: a leader-lock renewal every 10 s.
  const roles: ServiceRole[] = TOPOLOGY === 'all' ? ['all'] : ['api', 'worker', 'gateway'];
  const services: ServiceChild[] = [];
  // The inspector of the socket holder, on loopback, idle but for the GCs of the idle phase.
  const inspectPort = await freePort();
  for (const role of roles) {
    const logFile = join(dir, `service-${role}.log`);
    const holdsSockets = role === 'all' || role === 'gateway';
    const service = await startService({
      role,
      mode: 'dist',
      // e.g. PMQ_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the service
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
        if (code !== 0) log(`bench:push: pmq ${role} exited with ${code}:\n${tail(logFile, 20)}`);
      },
    });
    log(`pmq ${role} pid ${service.pid}${service.url ? ` on ${service.url}` : ''}`);
  }
  // /readyz answers before the workers start (in `all` too), and a lone worker has
  // no port at all: it is up once BullMQ lists it on the events queue. A fan-out
  // posted before that would time the worker's start.
  const completion = new Completion(redis.url, keyPrefix);
  try {
    await completion.waitForWorker(60_000);
  } catch (err) {
    const worker = services.find((s) => s.role === 'worker' || s.role === 'all')!;
    throw new Error(`${(err as Error).message}:\n${tail(worker.logFile, 20)}`);
  } finally {
    await completion.close();
  }
  const socketHolder = services.find((s) => s.wsUrl !== undefined)!;
  return {
    url: services.find((s) => s.role === 'api' || s.role === 'all')!.url!,
    wsUrl: socketHolder.wsUrl!,
    description: TOPOLOGY === 'all' ? 'spawned pmq all' : `spawned ${roles.map((r) => `pmq ${r}`).join(' + ')}`,
    processes: services.map((s) => ({ role: s.role, pid: s.pid })),
    socketPid: socketHolder.pid,
    socketInspectPort: inspectPort,
    redisPid: redis.pid,
  };
}

async function run(target: Target) {
  const { url, wsUrl } = target;
  const prefix = `b${Date.now().toString(36)}`;
  const uids = Array.from({ length: C }, (_, i) => `${prefix}u${i}`);

  // Memory per idle socket, two ways. From zero, (RSS at C - RSS before any) / C, is
  // what a node pays per socket at this C, fixed costs included. Marginal, (RSS at C
  // - RSS at C/2) / (C/2), leaves out what does not grow with the sockets: what one
  // more socket costs, the figure that scales. It needs the fixed costs paid within
  // the first half, so thousands of sockets.
  // Each reading is taken SETTLE_MS after its burst and after a full GC of the
  // holder (lib/inspector-gc.ts): without it the readings hold the burst's garbage
  // for as long as V8 leaves it, which varied from 2 to 9 KB per socket between
  // runs. The last reading is also taken before its GC, and reported.
  const settle = async (): Promise<number | undefined> => {
    await sleep(SETTLE_MS);
    if (target.socketInspectPort !== undefined) await collectGarbage(target.socketInspectPort);
    return rssBytes(target.socketPid);
  };
  await sleep(1000);
  const half = Math.floor(C / 2);
  const rss0 = await settle();
  log(`connecting ${C} sockets, in two halves ...`);
  let t0 = performance.now();
  const socks = await connectAll(wsUrl, uids.slice(0, half));
  let connectMs = performance.now() - t0;
  const rssHalf = await settle();
  t0 = performance.now();
  socks.push(...(await connectAll(wsUrl, uids.slice(half))));
  connectMs += performance.now() - t0;
  await sleep(SETTLE_MS);
  const rssAllBeforeGc = rssBytes(target.socketPid);
  const rssAll = await settle();
  const perSocket = (from: number | undefined, to: number | undefined, n: number) =>
    from === undefined || to === undefined || n === 0 ? null : Math.round((to - from) / n);
  const holder = target.processes.find((p) => p.pid === target.socketPid)?.role;
  log(`  ${C} connected in ${round(connectMs / 1000, 1)} s; ${holder ? `pmq ${holder}` : 'service'} RSS ${mb(rss0)} -> ${mb(rssHalf)} (${half}) -> ${mb(rssAll)} MB`);

  // Fan-out: one event to each user.
  log('fan-out ...');
  deliveries = 0;
  const fanCpu0 = cpuNow(target);
  const fanStart = performance.now();
  await postAll(url, uids.map((to, i) => event(`${prefix}f${i}`, to)), 1000, 4);
  await waitUntil(() => deliveries >= C, 60_000);
  const fanOutSeconds = (performance.now() - fanStart) / 1000;
  const fanCpu = cpuSince(fanCpu0, target, fanOutSeconds, deliveries);
  log(`  ${C} users reached in ${round(fanOutSeconds, 2)} s  ${cpuText(fanCpu)}`);

  const rates = [];
  let n = 0;
  for (const rate of RATES) {
    log(`rate ${rate}/s for ${SECONDS} s ...`);
    const r = await atRate(target, uids, rate, SECONDS, () => `${prefix}r${n++}`);
    rates.push(r);
    log(
      `  delivered ${r.deliveries_per_s}/s  p50 ${r.latency_ms.p50} ms  p99 ${r.latency_ms.p99} ms  max ${r.latency_ms.max} ms  ` +
        `load delay p99 ${r.load_event_loop_delay_ms.p99} max ${r.load_event_loop_delay_ms.max} ms  ${cpuText(r)}`,
    );
  }

  log(`saturate for ${SATURATE_SECONDS} s ...`);
  const sat = await saturate(target, uids, SATURATE_SECONDS, () => `${prefix}s${n++}`);
  log(`  delivered ${sat.deliveries_per_s}/s  ${cpuText(sat)}`);

  for (const s of socks) s.ws.terminate();
  const spawned = target.processes.length > 0;
  return {
    bench: 'push',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '?', node: process.version },
    load_process: 'one Node process (at most one core): holds the sockets, posts the events, acks every message',
    config: {
      connections: C,
      rates: RATES,
      seconds: SECONDS,
      saturate_seconds: SATURATE_SECONDS,
      service: target.description,
      /** all: one `pmq all`; split: `pmq api`, `pmq worker`, `pmq gateway`; null: PMQ_URL's. */
      topology: spawned ? TOPOLOGY : null,
    },
    idle: {
      connect_s: round(connectMs / 1000, 2),
      /** The process whose RSS these are: the one holding the sockets. */
      rss_process: holder ?? null,
      service_rss_bytes: { before: rss0 ?? null, at_half: rssHalf ?? null, at_all: rssAll ?? null, at_all_before_gc: rssAllBeforeGc ?? null, half_connections: half },
      /** Readings after a full GC (none when the service is not the bench's own). */
      gc_before_readings: target.socketInspectPort !== undefined,
      service_rss_bytes_per_connection: perSocket(rss0, rssAll, C),
      service_rss_bytes_per_connection_before_gc: perSocket(rss0, rssAllBeforeGc, C),
      service_rss_bytes_per_connection_marginal: perSocket(rssHalf, rssAll, C - half),
    },
    fan_out: { users: C, seconds: round(fanOutSeconds, 3), ...fanCpu },
    rates,
    saturate: sat,
  };
}

function event(id: string, to: string) {
  return { id, type: 'notice', to, title: 'bench', data: { t: Date.now() } };
}

/** A user token as POST /v1/tokens mints it, signed here with the service's secret. */
const minter = new Authenticator([], SECRET, systemClock);
async function token(uid: string): Promise<string> {
  return (await minter.mint(uid, 3600)).token;
}

async function connectAll(wsUrl: string, uids: string[]): Promise<Sock[]> {
  const socks: Sock[] = [];
  const CONCURRENT = 200;
  for (let i = 0; i < uids.length; i += CONCURRENT) {
    const part = await Promise.all(uids.slice(i, i + CONCURRENT).map((uid) => connectOne(wsUrl, uid)));
    socks.push(...part);
  }
  return socks;
}

async function connectOne(wsUrl: string, uid: string): Promise<Sock> {
  const ws = new WebSocket(`${wsUrl}?token=${await token(uid)}`, { perMessageDeflate: false });
  ackMessages(ws, (m) => {
    deliveries++;
    if (recording) latencies.push(Date.now() - m.data.t);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve()); // hello
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`socket closed ${code} before hello`)));
  });
  return { ws, uid };
}

async function post(url: string, events: object[]): Promise<void> {
  for (;;) {
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    await res.arrayBuffer();
    if (res.status === 202) return;
    if (res.status !== 503 && res.status !== 429) throw new Error(`POST /v1/events: ${res.status}`);
    await sleep(50);
  }
}

async function postAll(url: string, events: object[], batch: number, inFlight: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < events.length) {
      const start = next;
      next += batch;
      await post(url, events.slice(start, start + batch));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

/** Posts `rate` events per second (a batch every 10 ms) for `seconds`, to random users. */
async function atRate(target: Target, uids: string[], rate: number, seconds: number, nextId: () => string) {
  const tickMs = 10;
  const perTick = rate / (1000 / tickMs);
  latencies = [];
  recording = true;
  // A late frame may be the load's own doing (a GC of the process holding 10,000
  // client sockets stamps every frame behind it late): its event-loop delay says.
  const loadDelay = monitorEventLoopDelay({ resolution: 1 });
  loadDelay.enable();
  const cpu0 = cpuNow(target);
  const start = performance.now();
  const d0 = deliveries;
  let owed = 0;
  let posted = 0;
  const inflight = new Set<Promise<void>>();
  for (let tick = 0; performance.now() - start < seconds * 1000; tick++) {
    owed += perTick;
    const count = Math.floor(owed);
    owed -= count;
    if (count > 0) {
      const events = Array.from({ length: count }, () => event(nextId(), uids[Math.floor(Math.random() * uids.length)]!));
      posted += count;
      const p = post(target.url, events).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    const due = start + (tick + 1) * tickMs;
    await sleep(Math.max(0, due - performance.now()));
  }
  await Promise.all(inflight);
  // Timers run late under load: count what was posted, not what was meant to be.
  await waitUntil(() => deliveries - d0 >= posted, 30_000).catch(() => undefined);
  const elapsed = (performance.now() - start) / 1000;
  recording = false;
  loadDelay.disable();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    target_per_s: rate,
    deliveries: deliveries - d0,
    deliveries_per_s: Math.round((deliveries - d0) / elapsed),
    latency_ms: latencySummary(sorted),
    load_event_loop_delay_ms: { p99: round(loadDelay.percentile(99) / 1e6, 1), max: round(loadDelay.max / 1e6, 1) },
    ...cpuSince(cpu0, target, elapsed, deliveries - d0),
  };
}

/** As fast as the service takes it: 8 POSTs of 500 in flight for `seconds`. */
async function saturate(target: Target, uids: string[], seconds: number, nextId: () => string) {
  latencies = [];
  recording = true;
  const cpu0 = cpuNow(target);
  const start = performance.now();
  const d0 = deliveries;
  let posted = 0;
  const lane = async () => {
    while (performance.now() - start < seconds * 1000) {
      const events = Array.from({ length: 500 }, () => event(nextId(), uids[Math.floor(Math.random() * uids.length)]!));
      await post(target.url, events);
      posted += events.length;
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  const postedSeconds = (performance.now() - start) / 1000;
  const inWindow = deliveries - d0;
  await waitUntil(() => deliveries - d0 >= posted, 60_000).catch(() => undefined);
  const elapsed = (performance.now() - start) / 1000;
  recording = false;
  return {
    posted,
    posted_per_s: Math.round(posted / postedSeconds),
    /** Deliveries from the first POST until the last one arrived. */
    deliveries_per_s: Math.round((deliveries - d0) / elapsed),
    deliveries_in_posting_window_per_s: Math.round(inWindow / postedSeconds),
    latency_ms: latencySummary(latencies.sort((a, b) => a - b)),
    ...cpuSince(cpu0, target, elapsed, deliveries - d0),
  };
}

function latencySummary(sorted: number[]) {
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? 0 };
}

/** CPU seconds so far: the bench's, each service process' (in target.processes' order), Redis'. */
function cpuNow(target: Target) {
  const u = process.cpuUsage();
  return {
    bench: (u.user + u.system) / 1e6,
    processes: target.processes.map((p) => processCpuSeconds(p.pid)),
    redis: target.redisPid ? processCpuSeconds(target.redisPid) : undefined,
  };
}

/**
 * The CPU of a phase: as % of one core (what saturates) and in µs per delivery
 * (what a delivery costs each party; the bench's is the price of the load). The
 * service is the sum of its processes; `processes` has each one by role, so
 * `all` keeps the one-process figures of older results. Service and Redis figures
 * come from /proc in clock ticks (10 ms): coarse for short phases.
 */
function cpuSince(before: ReturnType<typeof cpuNow>, target: Target, seconds: number, delivered: number) {
  const now = cpuNow(target);
  const used = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : b - a);
  const perProcess = target.processes.map((_, i) => used(before.processes[i], now.processes[i]));
  const service =
    perProcess.length === 0 || perProcess.some((s) => s === undefined) ? undefined : perProcess.reduce<number>((a, b) => a + b!, 0);
  const bench = now.bench - before.bench;
  const redis = used(before.redis, now.redis);
  const pct = (s: number | undefined) => (s === undefined ? null : Math.round((100 * s) / seconds));
  const us = (s: number | undefined) => (s === undefined || delivered === 0 ? null : round((1e6 * s) / delivered, 1));
  return {
    cpu_percent_of_one_core: {
      bench: pct(bench),
      service: pct(service),
      redis: pct(redis),
      processes: Object.fromEntries(target.processes.map((p, i) => [p.role, pct(perProcess[i])])),
    },
    cpu_us_per_delivery: { bench: us(bench), service: us(service), redis: us(redis) },
  };
}

function cpuText(x: ReturnType<typeof cpuSince>): string {
  const pc = x.cpu_percent_of_one_core;
  const roles = Object.entries(pc.processes);
  const each = roles.length > 1 ? ` (${roles.map(([role, v]) => `${role} ${v}`).join(' ')})` : '';
  const ud = x.cpu_us_per_delivery;
  return `cpu% bench ${pc.bench} service ${pc.service}${each} redis ${pc.redis}; µs/delivery bench ${ud.bench} service ${ud.service} redis ${ud.redis}`;
}

/** Resident memory of a process (Linux); undefined without one. */
function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

function mb(n: number | undefined): string {
  return n === undefined ? '?' : (n / 1024 / 1024).toFixed(1);
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

function table(r: Awaited<ReturnType<typeof run>>): string {
  const topology = r.config.topology === null ? r.config.service : `topology ${r.config.topology} (${r.config.service})`;
  const idle = r.idle;
  const lines = [
    `PMQ push bench, ${r.date}, ${r.machine.cpus} cores, node ${r.machine.node}; ${topology}; ${r.load_process}`,
    `  idle      ${r.config.connections} sockets, bytes of ${idle.rss_process ? `pmq ${idle.rss_process}` : 'service'} RSS each: ` +
      `${idle.service_rss_bytes_per_connection ?? '?'} from zero, ${idle.service_rss_bytes_per_connection_marginal ?? '?'} marginal ` +
      `(${idle.service_rss_bytes.half_connections} -> ${r.config.connections}), after a full GC; ` +
      `${idle.service_rss_bytes_per_connection_before_gc ?? '?'} from zero before it (connected in ${idle.connect_s} s)`,
    `  fan-out   one event to each of ${r.fan_out.users} users: all delivered in ${r.fan_out.seconds} s  ${cpuText(r.fan_out)}`,
    ...r.rates.map(
      (x) =>
        `  rate      ${String(x.target_per_s).padStart(6)}/s -> ${String(x.deliveries_per_s).padStart(6)}/s delivered  ` +
        `p50 ${x.latency_ms.p50} ms  p99 ${x.latency_ms.p99} ms  max ${x.latency_ms.max} ms  ` +
        `(load's own event-loop delay p99 ${x.load_event_loop_delay_ms.p99} max ${x.load_event_loop_delay_ms.max} ms)  ${cpuText(x)}`,
    ),
    `  saturate  posted ${r.saturate.posted_per_s}/s, delivered ${r.saturate.deliveries_per_s}/s  ` +
      `p50 ${r.saturate.latency_ms.p50} ms  p99 ${r.saturate.latency_ms.p99} ms  ${cpuText(r.saturate)}`,
  ];
  return lines.join('\n');
}

main().catch((err: unknown) => {
  log(`bench:push failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
