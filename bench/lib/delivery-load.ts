// The push load, for any server that takes POST /v1/events and pushes each event to
// its recipient's socket: PMQ (bench:push, bench:peers) and the peers of bench:peers.
// One process holds every socket (one core at most) and posts the events; what a
// socket does with a frame (ack it or not) is the target's connect().
//
// Phases, in order:
//   idle      C sockets connected and idle, in two halves: the memory per socket of
//             the process that holds them, from zero and marginal, each reading
//             settleMs after its burst and after a full GC of that process
//   fan-out   one event to each of C users: time from the first POST to the last frame
//   rate R    R deliveries/s for `seconds` (a POST every 10 ms): latency POST -> frame
//   saturate  POSTs of 500 as fast as the server takes them, `saturateInFlight` at once
// Each phase gives the CPU of the load, of each server process and their sum, and of
// Redis: as % of one core, and per delivery.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import type { LoadMessage } from './acking-load.js';
import { collectGarbage } from './inspector-gc.js';
import { processCpuSeconds } from './processes.js';
import { percentile, round } from './report.js';

export type { LoadMessage };

export interface LoadSocket {
  close(): void;
}

/** A server as the load sees it: where to post, how to connect, which processes to watch. */
export interface Target {
  /** What the JSON calls it: the layout spawned, or the URL. */
  description: string;
  /** Base URL of POST /v1/events. */
  url: string;
  apiKey: string;
  /** The server's processes (none for one the bench did not start): their CPU time is the server's. */
  processes: { role: string; pid: number }[];
  /** The process that holds the sockets: its RSS is the memory per socket. */
  socketPid: number | undefined;
  /** Its inspector port, to collect its garbage before RSS is read (see inspector-gc.ts). */
  socketInspectPort: number | undefined;
  /** Redis' processes (one redis-server, or each node of a cluster): their CPU is summed. */
  redisPids: number[];
  /** Opens `uid`'s socket, resolved once a POST to `uid` would reach it; each delivered event goes to onMessage. */
  connect(uid: string, onMessage: (m: LoadMessage) => void): Promise<LoadSocket>;
}

export interface PhaseOptions {
  connections: number;
  rates: number[];
  seconds: number;
  saturateSeconds: number;
  /** POSTs of 500 in flight at saturation. */
  saturateInFlight: number;
  /** After a burst of connections, before RSS is read: the same wait for every reading. */
  settleMs: number;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type PhaseResults = Awaited<ReturnType<typeof runPhases>>;

export async function runPhases(target: Target, opts: PhaseOptions) {
  const { log } = opts;
  const C = opts.connections;
  const prefix = `b${Date.now().toString(36)}`;
  const uids = Array.from({ length: C }, (_, i) => `${prefix}u${i}`);
  // Every message frame received, and how long after its POST while recording.
  const counts = { deliveries: 0, latencies: [] as number[], recording: false };
  const onMessage = (m: LoadMessage) => {
    counts.deliveries++;
    if (counts.recording) counts.latencies.push(Date.now() - m.data.t);
  };

  // Memory per idle socket, two ways. From zero, (RSS at C - RSS before any) / C, is
  // what a node pays per socket at this C, fixed costs included. Marginal, (RSS at C
  // - RSS at C/2) / (C/2), leaves out what does not grow with the sockets: what one
  // more socket costs, the figure that scales. It needs the fixed costs paid within
  // the first half, so thousands of sockets.
  // Each reading is taken settleMs after its burst and after a full GC of the
  // holder (inspector-gc.ts): without it the readings hold the burst's garbage
  // for as long as V8 leaves it, which varied from 2 to 9 KB per socket between
  // runs. The last reading is also taken before its GC, and reported.
  const settle = async (): Promise<number | undefined> => {
    await sleep(opts.settleMs);
    if (target.socketInspectPort !== undefined) await collectGarbage(target.socketInspectPort);
    return rssBytes(target.socketPid);
  };
  await sleep(1000);
  const half = Math.floor(C / 2);
  const rss0 = await settle();
  log(`connecting ${C} sockets, in two halves ...`);
  let t0 = performance.now();
  const socks = await connectAll(target, uids.slice(0, half), onMessage);
  let connectMs = performance.now() - t0;
  const rssHalf = await settle();
  t0 = performance.now();
  socks.push(...(await connectAll(target, uids.slice(half), onMessage)));
  connectMs += performance.now() - t0;
  await sleep(opts.settleMs);
  const rssAllBeforeGc = rssBytes(target.socketPid);
  const rssAll = await settle();
  const perSocket = (from: number | undefined, to: number | undefined, n: number) =>
    from === undefined || to === undefined || n === 0 ? null : Math.round((to - from) / n);
  const holder = target.processes.find((p) => p.pid === target.socketPid)?.role;
  log(`  ${C} connected in ${round(connectMs / 1000, 1)} s; ${holder ?? 'server'} RSS ${mb(rss0)} -> ${mb(rssHalf)} (${half}) -> ${mb(rssAll)} MB`);

  try {
    // Fan-out: one event to each user.
    log('fan-out ...');
    counts.deliveries = 0;
    const fanCpu0 = cpuNow(target);
    const fanStart = performance.now();
    await postAll(target, uids.map((to, i) => event(`${prefix}f${i}`, to)), 1000, 4);
    await waitUntil(() => counts.deliveries >= C, 60_000);
    const fanOutSeconds = (performance.now() - fanStart) / 1000;
    const fanCpu = cpuSince(fanCpu0, target, fanOutSeconds, counts.deliveries);
    log(`  ${C} users reached in ${round(fanOutSeconds, 2)} s  ${cpuText(fanCpu)}`);

    const rates = [];
    let n = 0;
    const nextId = () => `${prefix}r${n++}`;
    for (const rate of opts.rates) {
      log(`rate ${rate}/s for ${opts.seconds} s ...`);
      const r = await atRate(target, counts, uids, rate, opts.seconds, nextId);
      rates.push(r);
      log(
        `  delivered ${r.deliveries_per_s}/s  p50 ${r.latency_ms.p50} ms  p99 ${r.latency_ms.p99} ms  max ${r.latency_ms.max} ms  ` +
          `load delay p99 ${r.load_event_loop_delay_ms.p99} max ${r.load_event_loop_delay_ms.max} ms  ${cpuText(r)}`,
      );
    }

    log(`saturate for ${opts.saturateSeconds} s, ${opts.saturateInFlight} POSTs of 500 in flight ...`);
    const sat = await saturate(target, counts, uids, opts.saturateSeconds, opts.saturateInFlight, nextId);
    log(`  delivered ${sat.deliveries_per_s}/s  ${cpuText(sat)}`);

    return {
      idle: {
        connect_s: round(connectMs / 1000, 2),
        /** The process whose RSS these are: the one holding the sockets. */
        rss_process: holder ?? null,
        service_rss_bytes: { before: rss0 ?? null, at_half: rssHalf ?? null, at_all: rssAll ?? null, at_all_before_gc: rssAllBeforeGc ?? null, half_connections: half },
        /** Readings after a full GC (none when the server is not the bench's own). */
        gc_before_readings: target.socketInspectPort !== undefined,
        service_rss_bytes_per_connection: perSocket(rss0, rssAll, C),
        service_rss_bytes_per_connection_before_gc: perSocket(rss0, rssAllBeforeGc, C),
        service_rss_bytes_per_connection_marginal: perSocket(rssHalf, rssAll, C - half),
      },
      fan_out: { users: C, seconds: round(fanOutSeconds, 3), ...fanCpu },
      rates,
      saturate: sat,
    };
  } finally {
    for (const s of socks) s.close();
  }
}

function event(id: string, to: string) {
  return { id, type: 'notice', to, title: 'bench', data: { t: Date.now() } };
}

async function connectAll(target: Target, uids: string[], onMessage: (m: LoadMessage) => void): Promise<LoadSocket[]> {
  const socks: LoadSocket[] = [];
  const CONCURRENT = 200;
  for (let i = 0; i < uids.length; i += CONCURRENT) {
    const part = await Promise.all(uids.slice(i, i + CONCURRENT).map((uid) => target.connect(uid, onMessage)));
    socks.push(...part);
  }
  return socks;
}

async function post(target: Target, events: object[]): Promise<void> {
  for (;;) {
    const res = await fetch(`${target.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    await res.arrayBuffer();
    if (res.status === 202) return;
    if (res.status !== 503 && res.status !== 429) throw new Error(`POST /v1/events: ${res.status}`);
    await sleep(50);
  }
}

async function postAll(target: Target, events: object[], batch: number, inFlight: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < events.length) {
      const start = next;
      next += batch;
      await post(target, events.slice(start, start + batch));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

interface Counts {
  deliveries: number;
  latencies: number[];
  recording: boolean;
}

/** Posts `rate` events per second (a batch every 10 ms) for `seconds`, to random users. */
async function atRate(target: Target, counts: Counts, uids: string[], rate: number, seconds: number, nextId: () => string) {
  const tickMs = 10;
  const perTick = rate / (1000 / tickMs);
  counts.latencies = [];
  counts.recording = true;
  // A late frame may be the load's own doing (a GC of the process holding 10,000
  // client sockets stamps every frame behind it late): its event-loop delay says.
  const loadDelay = monitorEventLoopDelay({ resolution: 1 });
  loadDelay.enable();
  const cpu0 = cpuNow(target);
  const start = performance.now();
  const d0 = counts.deliveries;
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
      const p = post(target, events).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    const due = start + (tick + 1) * tickMs;
    await sleep(Math.max(0, due - performance.now()));
  }
  await Promise.all(inflight);
  // Timers run late under load: count what was posted, not what was meant to be.
  await waitUntil(() => counts.deliveries - d0 >= posted, 30_000).catch(() => undefined);
  const elapsed = (performance.now() - start) / 1000;
  counts.recording = false;
  loadDelay.disable();
  const delivered = counts.deliveries - d0;
  return {
    target_per_s: rate,
    posted,
    deliveries: delivered,
    deliveries_per_s: Math.round(delivered / elapsed),
    latency_ms: latencySummary(counts.latencies.sort((a, b) => a - b)),
    load_event_loop_delay_ms: { p99: round(loadDelay.percentile(99) / 1e6, 1), max: round(loadDelay.max / 1e6, 1) },
    ...cpuSince(cpu0, target, elapsed, delivered),
  };
}

/** As fast as the server takes it: `inFlight` POSTs of 500 for `seconds`. */
async function saturate(target: Target, counts: Counts, uids: string[], seconds: number, inFlight: number, nextId: () => string) {
  counts.latencies = [];
  counts.recording = true;
  const cpu0 = cpuNow(target);
  const start = performance.now();
  const d0 = counts.deliveries;
  let posted = 0;
  const lane = async () => {
    while (performance.now() - start < seconds * 1000) {
      const events = Array.from({ length: 500 }, () => event(nextId(), uids[Math.floor(Math.random() * uids.length)]!));
      await post(target, events);
      posted += events.length;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const postedSeconds = (performance.now() - start) / 1000;
  const inWindow = counts.deliveries - d0;
  await waitUntil(() => counts.deliveries - d0 >= posted, 60_000).catch(() => undefined);
  const elapsed = (performance.now() - start) / 1000;
  counts.recording = false;
  const delivered = counts.deliveries - d0;
  return {
    posted,
    posted_per_s: Math.round(posted / postedSeconds),
    deliveries: delivered,
    /** Deliveries from the first POST until the last one arrived. */
    deliveries_per_s: Math.round(delivered / elapsed),
    deliveries_in_posting_window_per_s: Math.round(inWindow / postedSeconds),
    latency_ms: latencySummary(counts.latencies.sort((a, b) => a - b)),
    ...cpuSince(cpu0, target, elapsed, delivered),
  };
}

function latencySummary(sorted: number[]) {
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? 0 };
}

function sumOrUndefined(values: (number | undefined)[]): number | undefined {
  return values.some((v) => v === undefined) ? undefined : values.reduce<number>((a, b) => a + b!, 0);
}

/** CPU seconds so far: the bench's, each server process' (in target.processes' order), Redis'. */
export function cpuNow(target: Target) {
  const u = process.cpuUsage();
  return {
    bench: (u.user + u.system) / 1e6,
    processes: target.processes.map((p) => processCpuSeconds(p.pid)),
    redis: target.redisPids.length > 0 ? sumOrUndefined(target.redisPids.map(processCpuSeconds)) : undefined,
  };
}

/**
 * The CPU of a phase: as % of one core (what saturates) and in µs per delivery
 * (what a delivery costs each party; the bench's is the price of the load). The
 * server is the sum of its processes; `processes` has each one by role, so
 * `all` keeps the one-process figures of older results. Server and Redis figures
 * come from /proc in clock ticks (10 ms): coarse for short phases.
 */
export function cpuSince(before: ReturnType<typeof cpuNow>, target: Target, seconds: number, delivered: number) {
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

export function cpuText(x: ReturnType<typeof cpuSince>): string {
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
