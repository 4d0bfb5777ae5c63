// The processes of a self-contained run: a private redis-server and the PMQ service,
// each on a free port, stopped at the end. Never the Redis on 6379: that one may
// hold somebody's data, and its load would blur the figures.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startRedisCluster } from '../../test/helpers/redis-cluster.js';
import { freePort, startRedisServer } from '../../test/helpers/redis-server.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Child {
  pid: number;
  /** Undefined for what is more than one process (a cluster: `pid` is its first node). */
  process?: ChildProcess;
  stop(): Promise<void>;
}

export function makeTempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pmq-bench-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `signal`, then SIGKILL if the process has not gone after `graceMs`. */
function stopProcess(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill(signal);
  });
}

/**
 * The tests' private redis-server (free port, persistence off: the bench measures
 * PMQ and Redis' memory work, not the disk of this box).
 */
export async function startRedis(dir: string): Promise<Child & { url: string; port: number }> {
  const redis = await startRedisServer({ dir });
  return { pid: redis.process.pid!, process: redis.process, url: redis.url, port: redis.port, stop: redis.stop };
}

/** A Redis Cluster of three masters without replicas, as the tests start it (`--cluster`). */
export async function startCluster(): Promise<{ pids: number[]; nodes: { host: string; port: number }[]; seedList: string; stop(): Promise<void> }> {
  const cluster = await startRedisCluster({ masters: 3 });
  return {
    pids: cluster.nodes.map((n) => n.process.pid!),
    nodes: cluster.seeds,
    seedList: cluster.seedList,
    stop: () => cluster.stop(),
  };
}

function newestMtime(path: string, match: (name: string) => boolean): number {
  let newest = 0;
  const st = statSync(path);
  if (!st.isDirectory()) return match(path) ? st.mtimeMs : 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name), match));
  return newest;
}

/**
 * Builds dist/ when a source is newer than its entry point: a bench of yesterday's
 * build would measure code that is no longer there.
 */
export function ensureBuilt(log: (line: string) => void): void {
  const entry = join(ROOT, 'dist', 'src', 'cli.js');
  const sources = Math.max(
    newestMtime(join(ROOT, 'src'), (f) => /\.(ts|lua)$/.test(f)),
    newestMtime(join(ROOT, 'workers'), (f) => f.endsWith('.ts')),
    ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => (existsSync(join(ROOT, f)) ? statSync(join(ROOT, f)).mtimeMs : 0)),
  );
  if (existsSync(entry) && statSync(entry).mtimeMs >= sources) return;
  log('dist/ is missing or older than src/: npm run build');
  // The build's chatter goes to stderr: stdout carries only the JSON result.
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error('npm run build failed (try --service tsx to run src/ directly)');
}

export type ServiceRole = 'all' | 'api' | 'worker' | 'gateway';

export interface ServiceChild extends Child {
  process: ChildProcess;
  role: ServiceRole;
  /** Undefined for a role without HTTP (worker). */
  url: string | undefined;
  /** The WebSocket endpoint of a role that serves one (all, gateway). */
  wsUrl: string | undefined;
  logFile: string;
}

/**
 * Starts `pmq <role>` and waits for /readyz where the role serves HTTP, and for /ws
 * to take a handshake where it serves that. A `worker` has no port: the caller
 * waits for it to show up as a BullMQ worker instead.
 */
export async function startService(opts: {
  role: ServiceRole;
  mode: 'dist' | 'tsx';
  nodeArgs: string[];
  env: NodeJS.ProcessEnv;
  logFile: string;
}): Promise<ServiceChild> {
  const port = opts.role === 'worker' ? 0 : await freePort();
  const entry = opts.mode === 'dist' ? ['dist/src/cli.js'] : ['--import', 'tsx', 'src/cli.ts'];
  const out = openSync(opts.logFile, 'a');
  // Spawned straight as node (not through npm) so that its pid is the service's
  // own and /proc/<pid>/stat is its CPU time.
  const child = spawn(process.execPath, [...opts.nodeArgs, ...entry, opts.role], {
    cwd: ROOT,
    env: { ...opts.env, PORT: String(port) },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  await new Promise<void>((done, fail) => {
    child.once('spawn', () => done());
    child.once('error', fail);
  });
  const url = opts.role === 'worker' ? undefined : `http://127.0.0.1:${port}`;
  const wsUrl = opts.role === 'all' || opts.role === 'gateway' ? `ws://127.0.0.1:${port}/ws` : undefined;
  const deadline = Date.now() + 60_000;
  while (url !== undefined) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the PMQ service (${opts.role}) exited (${child.exitCode ?? child.signalCode}) while starting:\n${tail(opts.logFile)}`);
    }
    // The HTTP server listens (and answers /readyz) before the gateway has attached
    // to it: a socket opened in between would be refused.
    const ready =
      (await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )) && (wsUrl === undefined || (await takesHandshake(wsUrl)));
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the PMQ service (${opts.role}) was not ready within 60 s:\n${tail(opts.logFile)}`);
    }
    await sleep(100);
  }
  // SIGTERM first: the service drains its workers and, under --cpu-prof, writes the profile.
  return {
    pid: child.pid!,
    process: child,
    role: opts.role,
    url,
    wsUrl,
    logFile: opts.logFile,
    stop: () => stopProcess(child, 'SIGTERM', 15_000),
  };
}

/**
 * Whether `wsUrl` completes a WebSocket handshake. Without a token the gateway
 * takes the socket and waits for an auth frame; it is closed at once.
 */
function takesHandshake(wsUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false, handshakeTimeout: 2000 });
    ws.once('open', () => {
      ws.terminate();
      resolve(true);
    });
    // `on`, not `once`: a second error must not go unhandled.
    ws.on('error', () => resolve(false));
  });
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const CLOCK_TICKS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** User + system CPU seconds of a process so far, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its ")" do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Busy and total core-seconds of the whole machine so far, from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, ...nums] = line.trim().split(/\s+/);
    const v = nums.map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/**
 * Waits until the machine was idle (under `maxBusyPercent` of one core) for one
 * second, or `timeoutS` passed; returns the busy share last seen. On a shared box
 * somebody's test run would otherwise be measured along with PMQ.
 */
export async function waitForIdleMachine(timeoutS: number, maxBusyPercent = 20): Promise<number | undefined> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const a = machineCpuSeconds();
    await sleep(1000);
    const b = machineCpuSeconds();
    if (!a || !b) return undefined;
    const busy = (100 * (b.busy - a.busy)) / Math.max(0.001, (b.total - a.total) / cpuCount());
    if (busy <= maxBusyPercent || Date.now() >= deadline) return Math.round(busy);
  }
}

function cpuCount(): number {
  return Math.max(1, availableParallelism());
}

/** The commit the service was built from, and whether src/ or workers/ differ from it. */
export function gitState(): { commit: string | null; dirty: boolean | null } {
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (rev.status !== 0) return { commit: null, dirty: null };
  const st = spawnSync('git', ['status', '--porcelain', '--', 'src', 'workers', 'package.json'], { cwd: ROOT, encoding: 'utf8' });
  return { commit: rev.stdout.trim(), dirty: st.status === 0 ? st.stdout.trim() !== '' : null };
}
