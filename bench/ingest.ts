// npm run bench:ingest: events per second through POST /v1/events until every
// unread counter is applied, and the latency of each batch POST.
//
// Self-contained by default (a private redis-server and PMQ service on free ports);
// with PMQ_URL it targets a running service. `--help` lists the options; the
// figures and how to read them are in docs/performance.md.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Completion } from './lib/completion.js';
import { buildWorkload, postAll } from './lib/load.js';
import { USAGE, parseOptions, type BenchOptions } from './lib/options.js';
import {
  ensureBuilt,
  gitState,
  machineCpuSeconds,
  makeTempDir,
  processCpuSeconds,
  startCluster,
  startRedis,
  startService,
  tail,
  waitForIdleMachine,
  type ServiceChild,
} from './lib/processes.js';
import { cpuPerEvent, cpuPercents, percentile, round, table, type BenchResult, type CpuFigures } from './lib/report.js';

const BENCH_API_KEY = 'bench-api-key-0123456789';
const BENCH_TOKEN_SECRET = 'bench-token-secret-0123456789abcdef0123456789';

interface Target {
  url: string;
  apiKey: string;
  redisUrl: string;
  /** The seed nodes of the cluster the bench started (--cluster); undefined on one Redis. */
  cluster: { host: string; port: number }[] | undefined;
  keyPrefix: string;
  /** The service processes the bench started: one `all`, or an `api` and a `worker`. */
  services: ServiceChild[];
  /** The pids whose CPU time is the service's: those started here, or PMQ_BENCH_SERVICE_PIDS. */
  servicePids: number[];
  /** The Redis processes the bench started (one, or each node of the cluster). */
  redisPids: number[];
}

let quiet = false;
const log = (line: string) => {
  if (!quiet) process.stderr.write(`${line}\n`);
};

// Children are stopped on every way out, Ctrl-C included: a bench that leaves a
// redis-server behind skews the next run.
const cleanups: (() => Promise<void> | void)[] = [];
async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch (err) {
      process.stderr.write(`bench: cleanup: ${(err as Error).message}\n`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function setUp(opts: BenchOptions): Promise<Target> {
  if (opts.target) return { ...opts.target, cluster: undefined, services: [], redisPids: [] };

  const temp = makeTempDir();
  cleanups.push(() => temp.remove());
  let redisEnv: Record<string, string>;
  let redisPids: number[];
  let cluster: Target['cluster'];
  if (opts.cluster) {
    const c = await startCluster();
    cleanups.push(() => c.stop());
    log(`redis cluster of three masters on ${c.seedList}`);
    redisEnv = { PMQ_REDIS_CLUSTER_NODES: c.seedList };
    redisPids = c.pids;
    cluster = c.nodes;
  } else {
    const redis = await startRedis(temp.dir);
    cleanups.push(() => redis.stop());
    log(`redis-server pid ${redis.pid} on ${redis.url}`);
    redisEnv = { REDIS_URL: redis.url };
    redisPids = [redis.pid];
    cluster = undefined;
  }

  if (opts.service === 'dist') ensureBuilt(log);
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The bench's own variables and a REDIS_URL meant for somebody else's Redis stay out.
  for (const k of Object.keys(env)) if (k.startsWith('PMQ_BENCH_') || k === 'PMQ_URL' || k === 'PMQ_API_KEY') delete env[k];
  delete env.PMQ_INGEST_CHUNK;
  delete env.PMQ_WORKER_CONCURRENCY;
  Object.assign(env, {
    ...redisEnv,
    PMQ_API_KEYS: BENCH_API_KEY,
    PMQ_TOKEN_SECRET: BENCH_TOKEN_SECRET,
    PMQ_KEY_PREFIX: 'pmq',
    // Per-request logs would measure pino and the pipe, not PMQ.
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...(opts.chunk !== undefined && { PMQ_INGEST_CHUNK: String(opts.chunk) }),
    ...(opts.workerConcurrency !== undefined && { PMQ_WORKER_CONCURRENCY: String(opts.workerConcurrency) }),
  });
  const roles = opts.topology === 'all' ? (['all'] as const) : (['api', 'worker'] as const);
  const services: ServiceChild[] = [];
  for (const role of roles) {
    const logFile = join(temp.dir, `service-${role}.log`);
    const service = await startService({ role, mode: opts.service, nodeArgs: opts.serviceNodeArgs, env, logFile });
    services.push(service);
    cleanups.push(async () => {
      await service.stop();
      const code = service.process.exitCode ?? service.process.signalCode;
      // Always said, --quiet or not: a service that died is why a run failed.
      if (code !== 0) process.stderr.write(`bench: pmq ${role} exited with ${code}:\n${tail(logFile, 20)}\n`);
    });
    log(`pmq ${role} pid ${service.pid}${service.url ? ` on ${service.url}` : ''} (${opts.service})`);
  }
  const url = services.find((s) => s.url !== undefined)!.url!;
  return {
    url,
    apiKey: BENCH_API_KEY,
    redisUrl: redisEnv.REDIS_URL ?? '',
    cluster,
    keyPrefix: 'pmq',
    services,
    servicePids: services.map((s) => s.pid),
    redisPids,
  };
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  quiet = opts.quiet;
  const loadBefore = round(loadavg()[0] ?? 0, 2);
  const target = await setUp(opts);
  const completion = new Completion(target.redisUrl, target.keyPrefix, target.cluster);
  cleanups.push(() => completion.close());
  // A lone `worker` process has no /readyz: it is up once BullMQ lists it.
  if (target.services.some((s) => s.role === 'worker')) await completion.waitForWorker(60_000);
  const runId = `b${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

  // Warm-up: the first thousands of events pay for JIT compilation, script loading
  // and connection set-up; a steady state is what the figure should describe.
  let warmupSum = 0;
  let warmupUsers: string[] = [];
  if (opts.warmup > 0) {
    const w = buildWorkload(`${runId}w`, opts.warmup, opts.batch, Math.min(opts.users, opts.warmup), opts.seed + 1);
    log(`warm-up: ${w.events} events`);
    await postAll({ url: target.url, apiKey: target.apiKey, bodies: w.bodies, counts: w.counts, concurrency: opts.concurrency });
    await completion.waitDrained(opts.drainTimeoutS * 1000);
    warmupUsers = w.users;
  }

  let busyBefore: number | null = null;
  if (opts.waitIdleS > 0) {
    busyBefore = (await waitForIdleMachine(opts.waitIdleS)) ?? null;
    log(`machine busy ${busyBefore ?? '?'}% of one core before the run`);
  }

  const work = buildWorkload(`${runId}-`, opts.events, opts.batch, opts.users, opts.seed);
  log(`run ${runId}: ${work.events} events in ${work.bodies.length} batches, ${opts.concurrency} in flight`);
  const failedBefore = await completion.failed();

  const cmd0 = await completion.commandStats();
  const mem0 = await completion.usedMemory();
  const cpu0 = await snapshot(target, completion);
  const backlog = completion.sampleBacklog(100);
  const posted = await postAll({ url: target.url, apiKey: target.apiKey, bodies: work.bodies, counts: work.counts, concurrency: opts.concurrency });
  const backlogSeen = backlog.stop();
  const drainedAt = await completion.waitDrained(opts.drainTimeoutS * 1000);
  const cpu1 = await snapshot(target, completion);
  const cmd1 = await completion.commandStats();
  const mem1 = await completion.usedMemory();

  // Untimed: the proof that the figure is of events counted exactly once.
  const unreadSum = await completion.unreadSum(work.users);
  if (opts.warmup > 0) warmupSum = await completion.unreadSum(warmupUsers);
  const failedAdded = (await completion.failed()) - failedBefore;
  const ok = unreadSum === work.events && warmupSum === opts.warmup && failedAdded === 0;

  const durationS = (drainedAt - posted.startedAt) / 1000;
  const acceptS = (posted.lastAcceptedAt - posted.startedAt) / 1000;
  const sorted = [...posted.latenciesMs].sort((a, b) => a - b);
  const diff = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? null : round(b - a, 2));
  const cpuFigures: CpuFigures = {
    window_s: round(durationS, 2),
    bench_s: round((cpu1.bench - cpu0.bench) / 1e6, 2),
    service_s: diff(cpu0.service, cpu1.service),
    redis_s: diff(cpu0.redis, cpu1.redis),
    machine_busy_s: diff(cpu0.machine, cpu1.machine),
    other_s: null,
  };
  if (cpuFigures.machine_busy_s !== null && cpuFigures.service_s !== null && cpuFigures.redis_s !== null) {
    // Tick granularity can leave a hair below zero on a quiet machine.
    cpuFigures.other_s = Math.max(0, round(cpuFigures.machine_busy_s - cpuFigures.bench_s - cpuFigures.service_s - cpuFigures.redis_s, 2));
  }

  const result: BenchResult = {
    bench: 'ingest',
    date: new Date().toISOString(),
    ok,
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      redis: (await completion.redisVersion()) ?? null,
      loadavg_1m_before: loadBefore,
      busy_before_percent: busyBefore,
    },
    git: opts.target ? null : gitState(),
    config: {
      events: opts.events,
      batch: opts.batch,
      concurrency: opts.concurrency,
      users: opts.users,
      warmup: opts.warmup,
      ingest_chunk: opts.chunk ?? null,
      worker_concurrency: opts.workerConcurrency ?? null,
      service: opts.target ? 'external' : opts.service === 'dist' ? 'spawned-dist' : 'spawned-tsx',
      topology: opts.target ? null : opts.topology,
      redis: opts.target ? null : opts.cluster ? 'cluster-3-masters' : 'single',
      seed: opts.seed,
    },
    result: {
      events_per_s: Math.round(work.events / durationS),
      duration_s: round(durationS, 2),
      accepted_events_per_s: Math.round(work.events / acceptS),
      accept_duration_s: round(acceptS, 2),
      drain_after_last_202_s: round((drainedAt - posted.lastAcceptedAt) / 1000, 2),
      batches: work.bodies.length,
      retries: posted.retries,
      latency_ms: {
        p50: round(percentile(sorted, 0.5)),
        p90: round(percentile(sorted, 0.9)),
        p99: round(percentile(sorted, 0.99)),
        max: round(sorted[sorted.length - 1] ?? 0),
        mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
      },
      backlog_max_jobs: backlogSeen.max,
      redis_memory_bytes_per_event: mem0 === undefined || mem1 === undefined ? null : Math.round((mem1 - mem0) / work.events),
    },
    cpu: { ...cpuFigures, percent_of_one_core: cpuPercents(cpuFigures), us_per_event: cpuPerEvent(cpuFigures, work.events) },
    redis_nodes: target.redisPids.map((pid, i) => {
      const s = diff(cpu0.redisNodes[i], cpu1.redisNodes[i]);
      return { pid, cpu_s: s, us_per_event: s === null ? null : round((s * 1e6) / work.events, 1) };
    }),
    redis_commands: topCommands(cmd0, cmd1, work.events),
    verify: {
      expected: work.events,
      unread_sum: unreadSum,
      failed_jobs_added: failedAdded,
      warmup_expected: opts.warmup,
      warmup_unread_sum: warmupSum,
    },
  };

  log(table(result));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (!ok) process.stderr.write('bench: verification FAILED: the unread sums do not match the events sent, or jobs failed\n');
  return ok ? 0 : 1;
}

/** The commands Redis spent most time in during the run, per event sent. */
function topCommands(
  before: Map<string, { calls: number; usec: number }>,
  after: Map<string, { calls: number; usec: number }>,
  events: number,
): BenchResult['redis_commands'] {
  const rows = [...after].map(([name, a]) => {
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    const calls = a.calls - b.calls;
    const usec = a.usec - b.usec;
    return { name, calls, usec_total: usec, usec_per_call: calls > 0 ? round(usec / calls, 2) : 0, calls_per_event: round(calls / events, 3) };
  });
  return rows
    .filter((r) => r.calls > 0)
    .sort((x, y) => y.usec_total - x.usec_total)
    .slice(0, 12);
}

function sum(values: (number | undefined)[]): number | undefined {
  return values.some((v) => v === undefined) ? undefined : values.reduce<number>((a, b) => a + b!, 0);
}

/** CPU seconds so far of the bench, the service and Redis, and of the whole machine. */
async function snapshot(target: Target, completion: Completion) {
  const usage = process.cpuUsage();
  return {
    bench: usage.user + usage.system,
    service: target.servicePids.length > 0 ? sum(target.servicePids.map(processCpuSeconds)) : undefined,
    // /proc where the bench started Redis; INFO otherwise (same figure, one round trip).
    redis: target.redisPids.length > 0 ? sum(target.redisPids.map(processCpuSeconds)) : await completion.redisCpuSeconds(),
    machine: machineCpuSeconds()?.busy,
    redisNodes: target.redisPids.map(processCpuSeconds),
  };
}

main()
  .then(
    async (code) => {
      await cleanup();
      process.exit(code);
    },
    async (err: unknown) => {
      process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
      await cleanup();
      process.exit(1);
    },
  );
