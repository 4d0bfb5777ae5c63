// The result: one JSON object (for scripts and docs/performance.md) and the same
// figures as a short table for a person.

export interface CpuFigures {
  /** Wall seconds the CPU figures cover: first POST to drained. */
  window_s: number;
  bench_s: number;
  service_s: number | null;
  redis_s: number | null;
  /** Busy core-seconds of the whole machine, and what is left once ours are taken out. */
  machine_busy_s: number | null;
  other_s: number | null;
}

export interface BenchResult {
  bench: 'ingest';
  date: string;
  ok: boolean;
  machine: { cpus: number; cpu_model: string; node: string; redis: string | null; loadavg_1m_before: number; busy_before_percent: number | null };
  /** The code measured, for a spawned service: a dirty tree is not that commit. */
  git: { commit: string | null; dirty: boolean | null } | null;
  config: {
    events: number;
    batch: number;
    concurrency: number;
    users: number;
    warmup: number;
    ingest_chunk: number | null;
    worker_concurrency: number | null;
    service: 'spawned-dist' | 'spawned-tsx' | 'external';
    /** all: one `pmq all` process; split: a `pmq api` and a `pmq worker` process. */
    topology: 'all' | 'split' | null;
    /** The spawned Redis: one redis-server, or a cluster of three masters (--cluster). */
    redis: 'single' | 'cluster-3-masters' | null;
    seed: number;
  };
  result: {
    /** Events from the first POST until the queue was drained: the headline figure. */
    events_per_s: number;
    duration_s: number;
    /** Events per second of the HTTP side alone: first POST to last 202. */
    accepted_events_per_s: number;
    accept_duration_s: number;
    drain_after_last_202_s: number;
    batches: number;
    retries: number;
    latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number };
    /** The most jobs seen waiting or running at once while posting. */
    backlog_max_jobs: number;
    /**
     * Redis memory added per event by the run: the user's state plus what BullMQ
     * keeps of finished jobs (removeOnComplete), which holds every event's JSON again.
     */
    redis_memory_bytes_per_event: number | null;
  };
  /**
   * percent_of_one_core shows what saturates; us_per_event is the cost of an event
   * in each process, which other load on the machine does not change much: it is
   * the figure to compare between runs on a busy box.
   */
  cpu: CpuFigures & { percent_of_one_core: Record<string, number | null>; us_per_event: Record<string, number | null> };
  /** Each Redis process the bench started (one, or each master of a cluster): where Redis' CPU went. */
  redis_nodes: { pid: number; cpu_s: number | null; us_per_event: number | null }[];
  /** Top Redis commands by time over the run; those run inside Lua are also in EVALSHA's time. */
  redis_commands: { name: string; calls: number; usec_total: number; usec_per_call: number; calls_per_event: number }[];
  verify: { expected: number; unread_sum: number; failed_jobs_added: number; warmup_expected: number; warmup_unread_sum: number };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function cpuPercents(c: CpuFigures): Record<string, number | null> {
  const pct = (s: number | null) => (s === null || c.window_s <= 0 ? null : round((100 * s) / c.window_s, 0));
  return {
    bench: pct(c.bench_s),
    service: pct(c.service_s),
    redis: pct(c.redis_s),
    machine: pct(c.machine_busy_s),
    other: pct(c.other_s),
  };
}

export function cpuPerEvent(c: CpuFigures, events: number): Record<string, number | null> {
  const us = (s: number | null) => (s === null ? null : round((s * 1e6) / events, 1));
  return { bench: us(c.bench_s), service: us(c.service_s), redis: us(c.redis_s) };
}

export function table(r: BenchResult): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const s = (x: number | null) => (x === null ? '   n/a' : `${x.toFixed(1).padStart(6)} s`);
  const p = (x: number | null | undefined) => (x === null || x === undefined ? '' : `${String(x).padStart(4)}%`);
  const c = r.config;
  const cpu = r.cpu;
  const pc = cpu.percent_of_one_core;
  const ue = cpu.us_per_event;
  const u = (x: number | null | undefined) => (x === null || x === undefined ? '' : `  ${x.toFixed(1).padStart(5)} µs/event`);
  return [
    `PMQ ingest bench, ${r.date}, ${r.machine.cpus} cores (${r.machine.cpu_model}), node ${r.machine.node}, redis ${r.machine.redis ?? '?'}, load before ${r.machine.loadavg_1m_before}`,
    `  ${n(c.events)} events in batches of ${c.batch}, ${c.concurrency} POSTs in flight, ${n(c.users)} users; ` +
      `service ${c.service}${c.topology === 'split' ? ' (api + worker processes)' : ''}${c.redis === 'cluster-3-masters' ? ', Redis Cluster of 3 masters' : ''}, PMQ_INGEST_CHUNK ${c.ingest_chunk ?? 'default'}, PMQ_WORKER_CONCURRENCY ${c.worker_concurrency ?? 'default'}`,
    `  end to end  ${n(r.result.events_per_s).padStart(8)} events/s  (${r.result.duration_s} s, first POST to last counter applied)`,
    `  accepted    ${n(r.result.accepted_events_per_s).padStart(8)} events/s  (${r.result.accept_duration_s} s to the last 202; drain after it ${r.result.drain_after_last_202_s} s; backlog max ${n(r.result.backlog_max_jobs)} jobs)`,
    `  POST of ${c.batch}  p50 ${r.result.latency_ms.p50} ms  p90 ${r.result.latency_ms.p90} ms  p99 ${r.result.latency_ms.p99} ms  max ${r.result.latency_ms.max} ms  (${r.result.batches} batches, ${r.result.retries} retries)`,
    `  CPU over ${cpu.window_s} s (100% = one core of ${r.machine.cpus}):`,
    `    bench (load generator) ${s(cpu.bench_s)} ${p(pc.bench)}${u(ue.bench)}`,
    `    PMQ service            ${s(cpu.service_s)} ${p(pc.service)}${u(ue.service)}`,
    `    redis-server           ${s(cpu.redis_s)} ${p(pc.redis)}${u(ue.redis)}`,
    ...(r.redis_nodes.length > 1
      ? [`      per node: ${r.redis_nodes.map((x) => `pid ${x.pid} ${x.cpu_s ?? '?'} s (${x.us_per_event ?? '?'} µs/event)`).join(', ')}`]
      : []),
    `    rest of the machine    ${s(cpu.other_s)} ${p(pc.other)}`,
    `  redis time per event by command: ${r.redis_commands
      .slice(0, 6)
      .map((x) => `${x.name} ${((x.usec_total / c.events)).toFixed(1)} µs (${x.calls_per_event}/event)`)
      .join(', ')}`,
    `  redis memory grew by ${r.result.redis_memory_bytes_per_event ?? '?'} bytes per event`,
    `  verify ${r.ok ? 'ok' : 'FAILED'}: unread sum ${n(r.verify.unread_sum)} for ${n(r.verify.expected)} events sent; ` +
      `${r.verify.failed_jobs_added} failed jobs`,
  ].join('\n');
}
