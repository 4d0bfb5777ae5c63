// npm run bench:push -- [--connections 10000] [--rates 5000,20000] [--seconds 10]
//                       [--saturate-seconds 10] [--topology all|split]
//                       [--settle-seconds 3] [--cluster] [--json] [--help]
//
// Push through the durable path: HTTP POST -> events queue -> worker (Lua) ->
// registry -> node channel -> gateway -> socket. This process holds the sockets
// (one core at most: it is one Node process) and posts the events; unless
// PMQ_URL is given it starts its own redis-server and the service, and stops them
// (lib/pmq-target.ts has the layouts of --topology). The phases (idle memory,
// fan-out, each rate, saturation) and their CPU accounting are lib/delivery-load.ts';
// every socket acks what it receives, as the client library does.
//
// JSON on stdout (the last line), progress and a table on stderr (--json: the JSON only).
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { cpuText, runPhases, type Target } from './lib/delivery-load.js';
import { externalPmq, spawnPmq } from './lib/pmq-target.js';
import { makeTempDir, type Child } from './lib/processes.js';

const USAGE = `usage: npm run bench:push -- [options]

  --connections N        sockets, one user each          (PMQ_BENCH_CONNECTIONS, 10000)
  --rates R,R            deliveries/s of the rate phases  (PMQ_BENCH_RATES, 5000,20000)
  --seconds S            length of each rate phase        (PMQ_BENCH_SECONDS, 10)
  --saturate-seconds S   length of the saturation phase, 8 POSTs of 500 in flight
                                                          (PMQ_BENCH_SATURATE_SECONDS, 10)
  --topology all|split   one \`pmq all\`, or \`pmq api\` + \`pmq worker\` + \`pmq gateway\`
                                                          (PMQ_BENCH_TOPOLOGY, all)
  --settle-seconds S     wait after a burst of connections before reading RSS
                                                          (PMQ_BENCH_SETTLE_SECONDS, 3)
  --cluster              a local Redis Cluster of three masters, not one redis-server
                                                          (PMQ_BENCH_CLUSTER=1)
  --json                 print the JSON line only (no progress, no table)
  --help                 this text

Without PMQ_URL the bench starts its own redis-server and PMQ (dist/, rebuilt when
stale) and stops them. PMQ_BENCH_NODE_ARGS adds node flags to the service, other
PMQ_* variables pass through to it. With PMQ_URL it posts there and opens its
sockets on PMQ_WS_URL (default: PMQ_URL's /ws), with PMQ_API_KEY and tokens signed
with PMQ_TOKEN_SECRET.

Output: one JSON line on stdout (its last line), progress and a table on stderr.`;

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: process.env.PMQ_BENCH_CONNECTIONS ?? '10000' },
    rates: { type: 'string', default: process.env.PMQ_BENCH_RATES ?? '5000,20000' },
    seconds: { type: 'string', default: process.env.PMQ_BENCH_SECONDS ?? '10' },
    'saturate-seconds': { type: 'string', default: process.env.PMQ_BENCH_SATURATE_SECONDS ?? '10' },
    topology: { type: 'string', default: process.env.PMQ_BENCH_TOPOLOGY ?? 'all' },
    'settle-seconds': { type: 'string', default: process.env.PMQ_BENCH_SETTLE_SECONDS ?? '3' },
    cluster: { type: 'boolean', default: process.env.PMQ_BENCH_CLUSTER === '1' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const C = Number(args.connections);
const RATES = args.rates!.split(',').map(Number).filter((n) => n > 0);
const SECONDS = Number(args.seconds);
const SATURATE_SECONDS = Number(args['saturate-seconds']);
const TOPOLOGY = args.topology!;
const SETTLE_MS = Number(args['settle-seconds']) * 1000;
const log = args.json ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);

if (!Number.isInteger(C) || C < 1) usage(`--connections: must be a whole number from 1, got "${args.connections}"`);
if (args.cluster && process.env.PMQ_URL) usage('--cluster starts a cluster for the spawned service: it means nothing with PMQ_URL');
if (TOPOLOGY !== 'all' && TOPOLOGY !== 'split') usage(`--topology: must be all or split, got "${TOPOLOGY}"`);

function usage(message: string): never {
  process.stderr.write(`bench:push: ${message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const children: Child[] = [];
  const temp = makeTempDir();
  try {
    const target = process.env.PMQ_URL ? externalPmq() : await spawnPmq(TOPOLOGY as 'all' | 'split', temp.dir, children, log, { cluster: args.cluster });
    const result = await run(target);
    log(table(result));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const c of children.reverse()) await c.stop();
    temp.remove();
  }
}

async function run(target: Target) {
  const phases = await runPhases(target, {
    connections: C,
    rates: RATES,
    seconds: SECONDS,
    saturateSeconds: SATURATE_SECONDS,
    saturateInFlight: 8,
    settleMs: SETTLE_MS,
    log,
  });
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
      /** The spawned Redis: one redis-server, or a cluster of three masters. */
      redis: spawned ? (args.cluster ? 'cluster-3-masters' : 'single') : null,
    },
    ...phases,
  };
}

function table(r: Awaited<ReturnType<typeof run>>): string {
  const topology = r.config.topology === null ? r.config.service : `topology ${r.config.topology} (${r.config.service}, redis ${r.config.redis})`;
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
  process.stderr.write(`bench:push failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
