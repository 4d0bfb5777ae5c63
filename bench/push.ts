// npm run bench:push -- [--connections 10000] [--rates 5000,20000] [--seconds 10]
//                       [--saturate-seconds 10] [--json]
//
// Push through the durable path: HTTP POST -> events queue -> worker (Lua) ->
// registry -> node channel -> gateway -> socket. This process holds the sockets
// (one core at most: it is one Node process) and posts the events; unless
// PMQ_URL is given it starts its own redis-server and `pmq all` and stops them.
//
// Phases, in order:
//   idle      C sockets connected and idle: the service's memory per socket
//   fan-out   one event to each of C users: time from the first POST to the last frame
//   rate R    R deliveries/s for --seconds: latency POST -> frame, p50/p99/max
//   saturate  POSTs as fast as the service takes them: deliveries/s
// Every socket acks what it receives, as the client library does.
//
// JSON on stdout (the last line), a table on stderr.
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Authenticator } from '../src/api/auth.js';
import { systemClock } from '../src/events/clock.js';
import WebSocket from 'ws';
import { ensureBuilt, makeTempDir, processCpuSeconds, startRedis, startService, type Child } from './lib/processes.js';
import { percentile, round } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: process.env.PMQ_BENCH_CONNECTIONS ?? '10000' },
    rates: { type: 'string', default: process.env.PMQ_BENCH_RATES ?? '5000,20000' },
    seconds: { type: 'string', default: process.env.PMQ_BENCH_SECONDS ?? '10' },
    'saturate-seconds': { type: 'string', default: process.env.PMQ_BENCH_SATURATE_SECONDS ?? '10' },
    json: { type: 'boolean', default: false },
  },
});

const C = Number(args.connections);
const RATES = args.rates!.split(',').map(Number).filter((n) => n > 0);
const SECONDS = Number(args.seconds);
const SATURATE_SECONDS = Number(args['saturate-seconds']);
const API_KEY = process.env.PMQ_API_KEY ?? 'bench-api-key';
const SECRET = process.env.PMQ_TOKEN_SECRET ?? 'bench-token-secret-0123456789abcdef012345';
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  let url = process.env.PMQ_URL;
  let servicePid: number | undefined;
  let redisPid: number | undefined;
  const temp = makeTempDir();
  try {
    if (!url) {
      ensureBuilt(log);
      const redis = await startRedis(temp.dir);
      children.push(redis);
      redisPid = redis.pid;
      const service = await startService({
        role: 'all',
        mode: 'dist',
        // e.g. PMQ_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the service
        nodeArgs: (process.env.PMQ_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
        env: {
          // The service's own settings pass through (PMQ_REDELIVER_MAX=0 ...).
          ...Object.fromEntries(
            Object.entries(process.env).filter(([k]) => k.startsWith('PMQ_') && !/^PMQ_(BENCH_|URL$|API_KEY$)/.test(k)),
          ),
          PATH: process.env.PATH,
          REDIS_URL: redis.url,
          PMQ_API_KEYS: API_KEY,
          PMQ_TOKEN_SECRET: SECRET,
          LOG_LEVEL: 'warn',
          PMQ_RATE_LIMIT_PER_KEY: '0',
        },
        logFile: join(temp.dir, 'service.log'),
      });
      children.push(service);
      url = service.url;
      servicePid = service.pid;
    }
    const base: string = url ?? '';
    const result = await run(base, `${base.replace(/^http/, 'ws')}/ws`, servicePid, redisPid);
    log(table(result));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const c of children.reverse()) await c.stop();
    temp.remove();
  }
}

async function run(url: string, wsUrl: string, servicePid: number | undefined, redisPid: number | undefined) {
  const prefix = `b${Date.now().toString(36)}`;
  const uids = Array.from({ length: C }, (_, i) => `${prefix}u${i}`);

  await sleep(1000);
  const rssBefore = servicePid ? rssBytes(servicePid) : undefined;
  log(`connecting ${C} sockets ...`);
  const t0 = performance.now();
  const socks = await connectAll(wsUrl, uids);
  const connectSeconds = (performance.now() - t0) / 1000;
  await sleep(3000);
  const rssAfter = servicePid ? rssBytes(servicePid) : undefined;
  const bytesPerConnection = rssBefore !== undefined && rssAfter !== undefined ? Math.round((rssAfter - rssBefore) / C) : null;
  log(`  ${C} connected in ${round(connectSeconds, 1)} s; service RSS ${mb(rssBefore)} -> ${mb(rssAfter)} MB`);

  // Fan-out: one event to each user.
  log('fan-out ...');
  deliveries = 0;
  const fanStart = performance.now();
  await postAll(url, uids.map((to, i) => event(`${prefix}f${i}`, to)), 1000, 4);
  await waitUntil(() => deliveries >= C, 60_000);
  const fanOutSeconds = (performance.now() - fanStart) / 1000;
  log(`  ${C} users reached in ${round(fanOutSeconds, 2)} s`);

  const rates = [];
  let n = 0;
  for (const rate of RATES) {
    log(`rate ${rate}/s for ${SECONDS} s ...`);
    const r = await atRate(url, uids, rate, SECONDS, () => `${prefix}r${n++}`, servicePid, redisPid);
    rates.push(r);
    log(`  delivered ${r.deliveries_per_s}/s  p50 ${r.latency_ms.p50} ms  p99 ${r.latency_ms.p99} ms  max ${r.latency_ms.max} ms`);
  }

  log(`saturate for ${SATURATE_SECONDS} s ...`);
  const sat = await saturate(url, uids, SATURATE_SECONDS, () => `${prefix}s${n++}`, servicePid, redisPid);
  log(`  delivered ${sat.deliveries_per_s}/s`);

  for (const s of socks) s.ws.terminate();
  return {
    bench: 'push',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '?', node: process.version },
    load_process: 'one Node process (at most one core): holds the sockets, posts the events, acks every message',
    config: { connections: C, rates: RATES, seconds: SECONDS, saturate_seconds: SATURATE_SECONDS, service: servicePid ? 'spawned pmq all' : url },
    idle: { connect_s: round(connectSeconds, 2), service_rss_bytes_per_connection: bytesPerConnection },
    fan_out: { users: C, seconds: round(fanOutSeconds, 3) },
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
  // Acks of one moment in one frame, as the client library sends them.
  let acks: string[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    if (!text.startsWith('{"type":"message"')) return;
    const frame = JSON.parse(text) as { id: string; data: { t: number } };
    deliveries++;
    if (recording) latencies.push(Date.now() - frame.data.t);
    if (acks.push(frame.id) === 1) {
      setTimeout(() => {
        ws.send(JSON.stringify({ type: 'ack', ids: acks }));
        acks = [];
      }, 0);
    }
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
async function atRate(
  url: string,
  uids: string[],
  rate: number,
  seconds: number,
  nextId: () => string,
  servicePid: number | undefined,
  redisPid: number | undefined,
) {
  const tickMs = 10;
  const perTick = rate / (1000 / tickMs);
  latencies = [];
  recording = true;
  const cpu0 = cpuNow(servicePid, redisPid);
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
      const p = post(url, events).finally(() => inflight.delete(p));
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
  const sorted = latencies.sort((a, b) => a - b);
  return {
    target_per_s: rate,
    deliveries: deliveries - d0,
    deliveries_per_s: Math.round((deliveries - d0) / elapsed),
    latency_ms: latencySummary(sorted),
    cpu_percent_of_one_core: cpuSince(cpu0, servicePid, redisPid, elapsed),
  };
}

/** As fast as the service takes it: 8 POSTs of 500 in flight for `seconds`. */
async function saturate(
  url: string,
  uids: string[],
  seconds: number,
  nextId: () => string,
  servicePid: number | undefined,
  redisPid: number | undefined,
) {
  latencies = [];
  recording = true;
  const cpu0 = cpuNow(servicePid, redisPid);
  const start = performance.now();
  const d0 = deliveries;
  let posted = 0;
  const lane = async () => {
    while (performance.now() - start < seconds * 1000) {
      const events = Array.from({ length: 500 }, () => event(nextId(), uids[Math.floor(Math.random() * uids.length)]!));
      await post(url, events);
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
    cpu_percent_of_one_core: cpuSince(cpu0, servicePid, redisPid, elapsed),
  };
}

function latencySummary(sorted: number[]) {
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? 0 };
}

function cpuNow(servicePid: number | undefined, redisPid: number | undefined) {
  const u = process.cpuUsage();
  return {
    bench: (u.user + u.system) / 1e6,
    service: servicePid ? processCpuSeconds(servicePid) : undefined,
    redis: redisPid ? processCpuSeconds(redisPid) : undefined,
  };
}

function cpuSince(before: ReturnType<typeof cpuNow>, servicePid: number | undefined, redisPid: number | undefined, seconds: number) {
  const now = cpuNow(servicePid, redisPid);
  const pct = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? null : Math.round((100 * (b - a)) / seconds));
  return { bench: pct(before.bench, now.bench), service: pct(before.service, now.service), redis: pct(before.redis, now.redis) };
}

function rssBytes(pid: number): number {
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
  const lines = [
    `PMQ push bench, ${r.date}, ${r.machine.cpus} cores, node ${r.machine.node}; ${r.load_process}`,
    `  idle      ${r.config.connections} sockets, ${r.idle.service_rss_bytes_per_connection ?? '?'} bytes of service RSS each (connected in ${r.idle.connect_s} s)`,
    `  fan-out   one event to each of ${r.fan_out.users} users: all delivered in ${r.fan_out.seconds} s`,
    ...r.rates.map(
      (x) =>
        `  rate      ${String(x.target_per_s).padStart(6)}/s -> ${String(x.deliveries_per_s).padStart(6)}/s delivered  ` +
        `p50 ${x.latency_ms.p50} ms  p99 ${x.latency_ms.p99} ms  max ${x.latency_ms.max} ms  ` +
        `cpu% bench ${x.cpu_percent_of_one_core.bench} service ${x.cpu_percent_of_one_core.service} redis ${x.cpu_percent_of_one_core.redis}`,
    ),
    `  saturate  posted ${r.saturate.posted_per_s}/s, delivered ${r.saturate.deliveries_per_s}/s  ` +
      `p50 ${r.saturate.latency_ms.p50} ms  p99 ${r.saturate.latency_ms.p99} ms  ` +
      `cpu% bench ${r.saturate.cpu_percent_of_one_core.bench} service ${r.saturate.cpu_percent_of_one_core.service} redis ${r.saturate.cpu_percent_of_one_core.redis}`,
  ];
  return lines.join('\n');
}


main().catch((err: unknown) => {
  log(`bench:push failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
