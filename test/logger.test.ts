// What the logs look like to who reads them: a person at a terminal gets one
// readable line per entry, a pipe (a collector) gets JSON; both name the node.
// The terminal is a real pseudo-terminal, from util-linux' `script`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testEnv, waitFor } from './helpers/service.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Runs `pmq api` until it has started, then stops it; its output, colours removed. */
async function logsOf(env: Record<string, string>, opts: { tty: boolean }): Promise<string> {
  const fullEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...testEnv(), LOG_LEVEL: 'info', ...env };
  const pmq = `${process.execPath} --import tsx src/cli.ts api`;
  const child = opts.tty
    ? spawn('script', ['-qec', pmq, '/dev/null'], { cwd: ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'api'], { cwd: ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(() => out.includes('pmq started'), 20_000, `"pmq started" in:\n${out}`);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  // eslint-disable-next-line no-control-regex
  return out.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');
}

const startedLine = (out: string) => out.split('\n').find((l) => l.includes('pmq started'))!;

describe('logs', () => {
  it('are readable lines on a terminal, with the level as a word and the node id', async () => {
    const line = startedLine(await logsOf({ PMQ_NODE_ID: 'node-tty' }, { tty: true }));
    expect(line).not.toMatch(/^\s*\{/);
    expect(line).toMatch(/INFO.*\[node-tty\] pmq started/);
  });

  it('are JSON through a pipe, with the node id', async () => {
    const line = startedLine(await logsOf({ PMQ_NODE_ID: 'node-pipe' }, { tty: false }));
    expect(JSON.parse(line)).toMatchObject({ level: 30, node: 'node-pipe', msg: 'pmq started' });
  });

  it('follow PMQ_LOG_FORMAT over the guess, and are JSON in production', async () => {
    const json = startedLine(await logsOf({ PMQ_NODE_ID: 'node-j', PMQ_LOG_FORMAT: 'json' }, { tty: true }));
    expect(JSON.parse(json)).toMatchObject({ node: 'node-j', msg: 'pmq started' });
    const prod = startedLine(await logsOf({ PMQ_NODE_ID: 'node-p', NODE_ENV: 'production' }, { tty: true }));
    expect(JSON.parse(prod)).toMatchObject({ node: 'node-p', msg: 'pmq started' });
    const pretty = startedLine(await logsOf({ PMQ_NODE_ID: 'node-q', PMQ_LOG_FORMAT: 'pretty' }, { tty: false }));
    expect(pretty).toMatch(/INFO.*\[node-q\] pmq started/);
  });
});
