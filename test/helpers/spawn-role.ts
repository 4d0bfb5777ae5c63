// Runs one PMQ role as a child process, as production does (`pmq worker`), so that
// a test can kill it for real: `node --import tsx src/cli.ts <role>`, with the env
// of an in-process test service (same Redis, same key prefix).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RoleExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RoleProcess {
  child: ChildProcess;
  pid: number;
  /** stdout (JSON log lines) and stderr so far, for failure messages. */
  output(): string;
  /** Settles when the process has exited. */
  exited: Promise<RoleExit>;
  /** Sends `signal` and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<RoleExit>;
}

const running = new Set<RoleProcess>();

/**
 * Spawns `pmq <role>` with `env` (plus PATH and HOME) and LOG_LEVEL=info, and waits
 * for its "pmq started" log line. Fails, killing it, when the line does not come
 * within `timeoutMs` or the process exits first.
 */
export async function spawnRole(role: string, env: Record<string, string>, timeoutMs = 20_000): Promise<RoleProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let started = false;
  let onStarted: () => void = () => {};
  const startedP = new Promise<void>((resolve) => (onStarted = resolve));
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    if (out.length > 200_000) out = out.slice(-100_000);
    if (started) return;
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        if ((JSON.parse(line) as { msg?: string }).msg === 'pmq started') {
          started = true;
          onStarted();
        }
      } catch {
        // not a JSON log line
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const exited = new Promise<RoleExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const proc: RoleProcess = {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  running.add(proc);
  // Should the test process die first, its children must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => {
    running.delete(proc);
    process.off('exit', killOnExit);
  });

  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    startedP.then(() => 'started' as const),
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'started') {
    await proc.kill('SIGKILL');
    throw new Error(`pmq ${role} did not start (${outcome}):\n${out.slice(-4000)}`);
  }
  return proc;
}

/** SIGKILLs every role process this test file started that is still running. */
export async function killAllRoles(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')));
}
