// The bench's options: flags first, then PMQ_BENCH_* variables, then defaults.
// Every knob is both a flag (for one-off runs) and a variable (for sweeps in a shell
// loop), so that a recorded result can be replayed with the same words.
import { parseArgs } from 'node:util';

export interface BenchOptions {
  events: number;
  batch: number;
  concurrency: number;
  users: number;
  /** Events posted and drained before the clock starts, so that the JIT and the pools are warm. */
  warmup: number;
  /** PMQ_INGEST_CHUNK of the spawned service; undefined keeps the service's default. */
  chunk: number | undefined;
  /** PMQ_WORKER_CONCURRENCY of the spawned service; undefined keeps the service's default. */
  workerConcurrency: number | undefined;
  /** How the spawned service runs: the compiled dist/ (built when stale) or src/ through tsx. */
  service: 'dist' | 'tsx';
  /** all: one `pmq all` process; split: `pmq api` and `pmq worker`, as deployed on more cores. */
  topology: 'all' | 'split';
  /** Spawned Redis: one redis-server, or a Redis Cluster of three masters (no replicas). */
  cluster: boolean;
  /** Extra node flags for the spawned service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
  serviceNodeArgs: string[];
  /** Seconds to wait for the queue to drain after the last 202 before giving up. */
  drainTimeoutS: number;
  seed: number;
  /** Seconds to wait, before the measured run, for other load on the machine to settle; 0: don't. */
  waitIdleS: number;
  quiet: boolean;
  /** Set: target this running service instead of spawning one. */
  target: { url: string; apiKey: string; redisUrl: string; keyPrefix: string; servicePids: number[] } | undefined;
}

export const USAGE = `usage: npm run bench:ingest -- [options]

  --events N              events in the measured run      (PMQ_BENCH_EVENTS, 200000)
  --batch N               events per POST                  (PMQ_BENCH_BATCH, 500)
  --concurrency N         POSTs in flight                  (PMQ_BENCH_CONCURRENCY, 8)
  --users N               distinct recipients              (PMQ_BENCH_USERS, 10000)
  --warmup N              untimed events posted first      (PMQ_BENCH_WARMUP, 10000)
  --chunk N               spawned service's PMQ_INGEST_CHUNK        (default: the service's)
  --worker-concurrency N  spawned service's PMQ_WORKER_CONCURRENCY  (default: the service's)
  --service dist|tsx      run dist/ (built when stale) or src/ via tsx (PMQ_BENCH_SERVICE, dist)
  --topology all|split    one \`pmq all\` process, or \`pmq api\` + \`pmq worker\` (PMQ_BENCH_TOPOLOGY, all)
  --cluster               a local Redis Cluster of three masters, not one redis-server (PMQ_BENCH_CLUSTER=1)
  --node-args="..."       extra node flags for the spawned service  (PMQ_BENCH_NODE_ARGS)
  --drain-timeout S       give up waiting for the workers after S s (PMQ_BENCH_DRAIN_TIMEOUT, 300)
  --seed N                recipient choice is reproducible per seed (PMQ_BENCH_SEED, 1)
  --wait-idle S           first wait up to S s for the machine to be idle (PMQ_BENCH_WAIT_IDLE, 0)
  --quiet                 no human table on stderr

Without PMQ_URL the bench starts its own redis-server and PMQ service and stops them
at the end. With PMQ_URL it targets that service: PMQ_API_KEY is required, and
REDIS_URL (its Redis) and PMQ_KEY_PREFIX (default pmq) for the completion check;
PMQ_BENCH_SERVICE_PIDS (comma-separated, same machine) adds the service's CPU time.

Output: the human table on stderr, one JSON line on stdout (its last line).
Exit code: 0 when every event was counted exactly once, 1 otherwise.`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string' },
      batch: { type: 'string' },
      concurrency: { type: 'string' },
      users: { type: 'string' },
      warmup: { type: 'string' },
      chunk: { type: 'string' },
      'worker-concurrency': { type: 'string' },
      service: { type: 'string' },
      'node-args': { type: 'string' },
      topology: { type: 'string' },
      'drain-timeout': { type: 'string' },
      seed: { type: 'string' },
      'wait-idle': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }

  const int = (name: string, raw: string | undefined, fallback: number | undefined, min: number, max: number) => {
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: must be a whole number from ${min} to ${max}, got "${raw}"`);
    return n;
  };

  const service = values.service ?? env.PMQ_BENCH_SERVICE ?? 'dist';
  if (service !== 'dist' && service !== 'tsx') throw new Error(`--service: must be dist or tsx, got "${service}"`);

  const topology = values.topology ?? env.PMQ_BENCH_TOPOLOGY ?? 'all';
  if (topology !== 'all' && topology !== 'split') throw new Error(`--topology: must be all or split, got "${topology}"`);

  let target: BenchOptions['target'];
  if (env.PMQ_URL) {
    if (!env.PMQ_API_KEY) throw new Error('PMQ_URL is set: PMQ_API_KEY must be set too');
    if (!env.REDIS_URL) throw new Error('PMQ_URL is set: REDIS_URL (the service\'s Redis) must be set too, for the completion check');
    target = {
      url: env.PMQ_URL.replace(/\/+$/, ''),
      apiKey: env.PMQ_API_KEY,
      redisUrl: env.REDIS_URL,
      keyPrefix: env.PMQ_KEY_PREFIX || 'pmq',
      servicePids: (env.PMQ_BENCH_SERVICE_PIDS ?? '')
        .split(',')
        .filter((p) => p.trim() !== '')
        .map((p) => {
          const pid = Number(p);
          if (!Number.isInteger(pid) || pid <= 0) throw new Error(`PMQ_BENCH_SERVICE_PIDS: "${p}" is not a process id`);
          return pid;
        }),
    };
  }
  const cluster = values.cluster || env.PMQ_BENCH_CLUSTER === '1';
  if (target && cluster) throw new Error('--cluster starts a cluster for the spawned service: it means nothing with PMQ_URL');
  const chunk = int('--chunk', values.chunk ?? env.PMQ_INGEST_CHUNK, undefined, 1, 1000);
  const workerConcurrency = int('--worker-concurrency', values['worker-concurrency'] ?? env.PMQ_WORKER_CONCURRENCY, undefined, 1, 256);
  if (target && (values.chunk !== undefined || values['worker-concurrency'] !== undefined)) {
    throw new Error('--chunk and --worker-concurrency set the spawned service: they mean nothing with PMQ_URL');
  }

  return {
    events: int('--events', values.events ?? env.PMQ_BENCH_EVENTS, 200_000, 1, 100_000_000)!,
    batch: int('--batch', values.batch ?? env.PMQ_BENCH_BATCH, 500, 1, 10_000)!,
    concurrency: int('--concurrency', values.concurrency ?? env.PMQ_BENCH_CONCURRENCY, 8, 1, 1024)!,
    users: int('--users', values.users ?? env.PMQ_BENCH_USERS, 10_000, 1, 10_000_000)!,
    warmup: int('--warmup', values.warmup ?? env.PMQ_BENCH_WARMUP, 10_000, 0, 100_000_000)!,
    // What an external service runs with is its own business; the JSON says null.
    chunk: target ? undefined : chunk,
    workerConcurrency: target ? undefined : workerConcurrency,
    service,
    topology,
    cluster,
    serviceNodeArgs: (values['node-args'] ?? env.PMQ_BENCH_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== ''),
    drainTimeoutS: int('--drain-timeout', values['drain-timeout'] ?? env.PMQ_BENCH_DRAIN_TIMEOUT, 300, 1, 86_400)!,
    seed: int('--seed', values.seed ?? env.PMQ_BENCH_SEED, 1, 0, 2 ** 31)!,
    waitIdleS: int('--wait-idle', values['wait-idle'] ?? env.PMQ_BENCH_WAIT_IDLE, 0, 0, 3600)!,
    quiet: values.quiet,
    target,
  };
}
