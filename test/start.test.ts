// The front door as the README gives it, in a copy of the project (its own
// dist/, this project's node_modules): `npm start` builds and runs the service,
// and a SIGTERM to npm stops the service, not just npm; the `pmq` bin runs
// from the build, by npx and from a project that installed PMQ.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv, waitFor } from './helpers/service.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const copy = mkdtempSync(join(tmpdir(), 'pmq-start-'));
/** Every process the tests saw under npm: killed (by pid) after, should one outlive its test. */
const seen = new Set<number>();
const dirs = [copy];

beforeAll(() => {
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'workers', 'web']) {
    cpSync(join(ROOT, f), join(copy, f), { recursive: true });
  }
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(copy, 'node_modules'));
});

afterAll(() => {
  for (const pid of seen) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already, as it should be
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `pid` and all its descendants, from /proc. */
function tree(pid: number): number[] {
  const out = [pid];
  for (const task of safeReaddir(`/proc/${pid}/task`)) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of children.split(' ').filter(Boolean)) out.push(...tree(Number(c)));
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  // The copy serves the pages it built itself.
  const { PMQ_WEB_DIR: _, ...service } = testEnv();
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...service, LOG_LEVEL: 'info', ...extra };
}

function build(): void {
  const r = spawnSync('npm', ['run', 'build'], { cwd: copy, env: env(), encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}

describe('npm start', () => {
  it('builds and runs the service and its pages; SIGTERM to npm stops the service itself', async () => {
    const npm: ChildProcess = spawn('npm', ['start'], { cwd: copy, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    npm.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const npmExited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));

    await waitFor(() => out.includes('"pmq started"'), 120_000, `"pmq started" from npm start:\n${out}`);
    const port = (JSON.parse(out.split('\n').find((l) => l.includes('"http listening"'))!) as { port: number }).port;
    const pids = tree(npm.pid!);
    for (const p of pids) seen.add(p);
    expect(await portOpen(port)).toBe(true);
    // The pages were built too, and are served.
    for (const path of ['/', '/console', '/admin', '/widget', '/widget.js']) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(res.status, path).toBe(200);
    }

    npm.kill('SIGTERM');
    await waitFor(() => pids.every((p) => !alive(p)), 20_000, `npm and every process under it (${pids.join(', ')}) to exit:\n${out}`);
    await npmExited;
    expect(await portOpen(port)).toBe(false);
    // Stopped by the signal, in order: not killed with npm.
    expect(out).toMatch(/"msg":"pmq stopped"/);
  });
});

describe('the pmq bin', () => {
  beforeAll(() => {
    // Built by `npm start` above when it ran; else built here.
    if (!existsSync(join(copy, 'dist/src/cli.js'))) build();
  });

  const expectHelp = (r: { status: number | null; stdout: string; stderr: string }) => {
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: pmq <role>/);
    expect(r.stdout).toMatch(/^ {2}gateway /m);
  };

  it('is an executable script with a shebang after the build', () => {
    const cli = join(copy, 'dist/src/cli.js');
    expect(readFileSync(cli, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(statSync(cli).mode & 0o111).toBe(0o111);
    expectHelp(spawnSync(cli, ['--help'], { cwd: copy, env: env(), encoding: 'utf8' }));
  });

  it('runs as `npx pmq` in the project', () => {
    expectHelp(spawnSync('npx', ['--no-install', 'pmq', '--help'], { cwd: copy, env: env(), encoding: 'utf8', timeout: 60_000 }));
  });

  it('runs as `npx pmq` in a project that installed PMQ', () => {
    const app = mkdtempSync(join(tmpdir(), 'pmq-consumer-'));
    dirs.push(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    // A folder installs as a link, with its own node_modules: nothing is fetched.
    const install = spawnSync('npm', ['install', '--no-save', '--offline', '--no-audit', '--no-fund', copy], {
      cwd: app,
      env: env(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(install.status, install.stdout + install.stderr).toBe(0);
    expectHelp(spawnSync('npx', ['--no-install', 'pmq', '--help'], { cwd: app, env: env(), encoding: 'utf8', timeout: 60_000 }));
  });
});
