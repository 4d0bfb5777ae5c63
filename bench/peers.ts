// npm run bench:peers -- [--servers pmq,pmq-split,socketio,ws] [--connections 5000]
//                        [--seconds 10] [--rate 5000] [--settle-seconds 3]
//                        [--wait-idle 0] [--json] [--help]
//
// PMQ beside its peers, one after another in one run, under the same load
// (lib/delivery-load.ts): C sockets of one user each held by this process, fan-out,
// POSTs of 50 events every 10 ms, then 4 POSTs of 500 in flight as fast as they go.
// Each server is started here and stopped before the next (lib/pmq-target.ts,
// peers/spawn.ts); PMQ's sockets ack every message, the peers' ack nothing.
// The headline: CPU of the server's processes and of Redis per delivery at saturation.
//
// JSON on stdout (the last line), progress and a table on stderr (--json: the JSON only).
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runPhases, type PhaseResults, type Target } from './lib/delivery-load.js';
import { spawnPmq } from './lib/pmq-target.js';
import { gitState, makeTempDir, waitForIdleMachine, type Child } from './lib/processes.js';
import { round } from './lib/report.js';
import { PEERS, spawnPeer, type Peer } from './peers/spawn.js';

const SERVERS = ['pmq', 'pmq-split', 'socketio', 'ws', 'pmq-noack', 'pmq-cluster'] as const;
type Server = (typeof SERVERS)[number];
/** A default run: PMQ as deployed (acked) beside its peers; pmq-noack on request. */
const DEFAULT_SERVERS: Server[] = ['pmq', 'pmq-split', 'socketio', 'ws'];

const DESCRIBE: Record<Server, string> = {
  pmq: 'PMQ, one `pmq all` process (dist/) on a private redis-server; each message acked by the client',
  'pmq-split': 'PMQ, `pmq api` + `pmq worker` + `pmq gateway` on a private redis-server; each message acked',
  socketio: 'Socket.IO 4 + @socket.io/redis-adapter on a private redis-server, websocket transport; emit to the user\'s room, no acks',
  ws: 'bare `ws`, in memory: a Map of user -> sockets, one frame per event, no acks',
  'pmq-cluster': 'as pmq, on a private Redis Cluster of three masters (no replicas) instead of one redis-server',
  'pmq-noack':
    'as pmq, but its sockets never ack (PMQ_REDELIVER_MAX=0): everything stored and counted, delivery fire and forget, as for the peers',
};

const USAGE = `usage: npm run bench:peers -- [options]

  --servers LIST         which, in this order, of: ${SERVERS.join(',')}
                         (default ${DEFAULT_SERVERS.join(',')})
  --connections N        sockets, one user each                    (5000)
  --seconds S            length of the rate phase and of saturation (10)
  --rate R               deliveries/s of the rate phase, a POST every 10 ms (5000)
  --settle-seconds S     wait after a burst of connections before reading RSS (3)
  --wait-idle S          before each server, wait up to S s for an idle machine (0)
  --json                 print the JSON line only (no progress, no table)
  --help                 this text

The servers:
${SERVERS.map((s) => `  ${s.padEnd(10)} ${DESCRIBE[s]}`).join('\n')}

The load, for each: one Node process holds the sockets and posts {"events": [...]}
to POST /v1/events. Memory per idle socket after a full GC of the server; fan-out:
one event to each user, time to the last frame; rate: latency POST -> frame;
saturation: 4 POSTs of 500 in flight, delivered/s and CPU per delivery of the
server's processes and of Redis. Nothing else should run on the machine meanwhile.

A default run takes roughly 5 minutes on 2 cores; each run prints its own estimate first.

Output: one JSON line on stdout (its last line), progress and a table on stderr.
Exit code 1 when any server failed (the others still run).`;

const { values: args } = parseArgs({
  options: {
    servers: { type: 'string', default: DEFAULT_SERVERS.join(',') },
    connections: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '5000' },
    'settle-seconds': { type: 'string', default: '3' },
    'wait-idle': { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

function usage(message: string): never {
  process.stderr.write(`bench:peers: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const number = (name: string, raw: string, min: number): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) usage(`--${name}: must be a number from ${min}, got "${raw}"`);
  return n;
};
const servers = args.servers.split(',').filter(Boolean) as Server[];
for (const s of servers) if (!SERVERS.includes(s)) usage(`--servers: unknown server "${s}"`);
if (servers.length === 0) usage('--servers: name at least one');
const C = number('connections', args.connections, 1);
if (!Number.isInteger(C)) usage(`--connections: must be a whole number, got "${args.connections}"`);
const SECONDS = number('seconds', args.seconds, 1);
const RATE = number('rate', args.rate, 100);
const SETTLE_MS = number('settle-seconds', args['settle-seconds'], 0) * 1000;
const WAIT_IDLE_S = number('wait-idle', args['wait-idle'], 0);
const SATURATE_IN_FLIGHT = 4;
const log = args.json ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);

/**
 * Rough wall time of a run, from smoke runs on 2 cores: per server, start and
 * readiness (~5 s, three processes in split), the idle readings (1 s + 4 settles),
 * connecting (~500 sockets/s on a busy box), fan-out, each phase plus what is left to
 * deliver after it (PMQ's backlog at saturation: about as long again).
 */
function estimateSeconds(): number {
  return servers.length * (8 + 1 + (4 * SETTLE_MS) / 1000 + C / 500 + 2 + 2 * SECONDS + SECONDS) + WAIT_IDLE_S * servers.length;
}

interface ServerRun {
  server: Server;
  description: string;
  /** What was started, as the target names it. */
  target: string | null;
  wall_s: number;
  /** The machine's busy share just before, with --wait-idle. */
  machine_busy_before_percent: number | null;
  error?: string;
  phases?: PhaseResults;
}

async function main(): Promise<boolean> {
  const started = performance.now();
  log(`bench:peers: ${servers.join(', ')}; ${C} sockets, ${SECONDS} s per phase: roughly ${Math.ceil(estimateSeconds() / 60)} min`);
  const runs: ServerRun[] = [];
  const temp = makeTempDir();
  try {
    for (const server of servers) {
      const busy = WAIT_IDLE_S > 0 ? await waitForIdleMachine(WAIT_IDLE_S) : undefined;
      log(`\n== ${server}: ${DESCRIBE[server]}`);
      const t0 = performance.now();
      const children: Child[] = [];
      const run: ServerRun = { server, description: DESCRIBE[server], target: null, wall_s: 0, machine_busy_before_percent: busy ?? null };
      try {
        const dir = join(temp.dir, server);
        mkdirSync(dir);
        const target = await start(server, dir, children);
        run.target = target.description;
        run.phases = await runPhases(target, {
          connections: C,
          rates: [RATE],
          seconds: SECONDS,
          saturateSeconds: SECONDS,
          saturateInFlight: SATURATE_IN_FLIGHT,
          settleMs: SETTLE_MS,
          log,
        });
      } catch (err) {
        run.error = (err as Error).message;
        process.stderr.write(`bench:peers: ${server} failed: ${(err as Error).stack ?? String(err)}\n`);
      } finally {
        for (const c of children.reverse()) await c.stop();
      }
      run.wall_s = round((performance.now() - t0) / 1000, 1);
      runs.push(run);
    }
  } finally {
    temp.remove();
  }
  const result = {
    bench: 'peers',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '?', node: process.version },
    git: gitState(),
    load_process: 'one Node process (at most one core): holds the sockets, posts the events; acks every message for PMQ only',
    config: { servers, connections: C, rate: RATE, seconds: SECONDS, saturate_seconds: SECONDS, saturate_in_flight: SATURATE_IN_FLIGHT, batch_at_saturation: 500 },
    wall_s: round((performance.now() - started) / 1000, 1),
    headline: runs.map(headline),
    servers: runs,
  };
  log(`\n${table(result)}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return runs.every((r) => r.error === undefined);
}

function start(server: Server, dir: string, children: Child[]): Promise<Target> {
  if (server === 'pmq') return spawnPmq('all', dir, children, log);
  if (server === 'pmq-split') return spawnPmq('split', dir, children, log);
  if (server === 'pmq-noack') return spawnPmq('all', dir, children, log, { ack: false });
  if (server === 'pmq-cluster') return spawnPmq('all', dir, children, log, { cluster: true });
  if ((PEERS as readonly string[]).includes(server)) return spawnPeer(server as Peer, dir, children, log);
  throw new Error(`no such server: ${server}`);
}

/** The figures of the issue's table, one row per server. */
function headline(r: ServerRun) {
  const p = r.phases;
  const rate = p?.rates[0];
  const kb = (b: number | null | undefined) => (b === null || b === undefined ? null : round(b / 1024, 1));
  return {
    server: r.server,
    ok: r.error === undefined,
    kb_per_idle_socket: kb(p?.idle.service_rss_bytes_per_connection),
    kb_per_idle_socket_marginal: kb(p?.idle.service_rss_bytes_per_connection_marginal),
    rate_per_s: RATE,
    rate_delivered_per_s: rate?.deliveries_per_s ?? null,
    rate_p50_ms: rate?.latency_ms.p50 ?? null,
    rate_p99_ms: rate?.latency_ms.p99 ?? null,
    saturation_delivered_per_s: p?.saturate.deliveries_per_s ?? null,
    saturation_p99_ms: p?.saturate.latency_ms.p99 ?? null,
    /** µs of CPU per delivery at saturation: every process of the server, Redis, and the load. */
    saturation_cpu_us_per_delivery: {
      server: p?.saturate.cpu_us_per_delivery.service ?? null,
      redis: p?.saturate.cpu_us_per_delivery.redis ?? null,
      load: p?.saturate.cpu_us_per_delivery.bench ?? null,
    },
    fan_out_ms: p ? Math.round(p.fan_out.seconds * 1000) : null,
    /** Posted in the rate and saturation phases and not delivered before the bench gave up waiting: should be 0. */
    undelivered: p ? p.rates.reduce((a, x) => a + x.posted - x.deliveries, 0) + p.saturate.posted - p.saturate.deliveries : null,
  };
}

function table(r: { date: string; machine: { cpus: number; node: string }; config: { connections: number; rate: number; seconds: number }; wall_s: number; headline: ReturnType<typeof headline>[] }): string {
  const d = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toLocaleString('en-US'));
  const head = ['server', 'KB/idle socket', `p50/p99 at ${d(r.config.rate)}/s`, 'saturation/s', 'p99 sat.', 'CPU µs/delivery at sat.: server + redis (load)', `fan-out to ${d(r.config.connections)}`];
  const rows = r.headline.map((h) =>
    h.ok
      ? [
          h.server,
          `${d(h.kb_per_idle_socket)} (${d(h.kb_per_idle_socket_marginal)} marg.)`,
          `${d(h.rate_p50_ms)} / ${d(h.rate_p99_ms)} ms`,
          d(h.saturation_delivered_per_s),
          `${d(h.saturation_p99_ms)} ms`,
          `${d(h.saturation_cpu_us_per_delivery.server)} + ${d(h.saturation_cpu_us_per_delivery.redis)} (${d(h.saturation_cpu_us_per_delivery.load)})`,
          `${d(h.fan_out_ms)} ms`,
        ]
      : [h.server, 'FAILED', '', '', '', '', ''],
  );
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lost = r.headline.filter((h) => (h.undelivered ?? 0) > 0).map((h) => `${h.server} ${d(h.undelivered)}`);
  return [
    `bench:peers, ${r.date}, ${r.machine.cpus} cores, node ${r.machine.node}; ${d(r.config.connections)} sockets, ${r.config.seconds} s per phase; ${r.wall_s} s in all`,
    line(head),
    ...rows.map(line),
    ...(lost.length > 0 ? [`events posted and never delivered: ${lost.join(', ')}`] : []),
  ].join('\n');
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err: unknown) => {
    process.stderr.write(`bench:peers failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
