// `pmq <role>` as an operator runs it: a real process, real signals.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from './helpers/service.js';
import { killAllRoles, spawnRole } from './helpers/spawn-role.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

afterAll(async () => {
  await killAllRoles();
});

function runCli(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('pmq', () => {
  it('runs all roles in one process and exits 0 on SIGTERM', async () => {
    const env = testEnv();
    const p = await spawnRole('all', env);
    const port = (JSON.parse(p.output().split('\n').find((l) => l.includes('http listening'))!) as { port: number }).port;
    const r = await fetch(`http://127.0.0.1:${port}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.PMQ_API_KEYS}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'cli-1', type: 'notice', to: 'u1' }),
    });
    expect(r.status).toBe(202);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const exit = await p.kill('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(p.output()).toMatch(/"msg":"pmq stopped"/);
  });

  it('exits 0 on SIGINT too', async () => {
    const p = await spawnRole('api', testEnv());
    expect(await p.kill('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('refuses a wrong configuration with one line per wrong value', () => {
    const r = runCli(['all'], { ...testEnv(), PORT: 'x', LOG_LEVEL: 'loud', PMQ_INGEST_CHUNK: '0' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid configuration/);
    expect(r.stderr).toMatch(/^ {2}- PORT: /m);
    expect(r.stderr).toMatch(/^ {2}- LOG_LEVEL: /m);
    expect(r.stderr).toMatch(/^ {2}- PMQ_INGEST_CHUNK: must be at least 1/m);
  });

  it('prints its roles and main settings for --help, and exits 0 without needing any', () => {
    for (const flag of ['--help', '-h']) {
      // NODE_ENV=production without keys would make any role exit 1: help needs none.
      const r = runCli([flag], { NODE_ENV: 'production' });
      expect(r.status, r.stderr).toBe(0);
      for (const role of ['all', 'api', 'gateway', 'worker', 'cron']) expect(r.stdout).toMatch(new RegExp(`^ {2}${role} `, 'm'));
      for (const v of ['PORT', 'REDIS_URL', 'PMQ_API_KEYS', 'PMQ_TOKEN_SECRET', 'NODE_ENV', 'LOG_LEVEL']) expect(r.stdout).toContain(v);
      expect(r.stdout).toMatch(/share PMQ_TOKEN_SECRET/);
    }
  });

  it('warns of a one-off token secret or API key only in the roles that use them', async () => {
    const env = testEnv();
    delete env.PMQ_TOKEN_SECRET;
    delete env.PMQ_API_KEYS;
    const warnings = (out: string) =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level === 40 && /PMQ_TOKEN_SECRET|PMQ_API_KEYS/.test(l.msg))
        .map((l) => l.msg.split(' ')[0]);
    // The warnings come before "pmq started", which spawnRole waits for.
    const expected: Record<string, string[]> = {
      worker: [],
      cron: [],
      gateway: ['PMQ_TOKEN_SECRET'],
      api: ['PMQ_API_KEYS', 'PMQ_TOKEN_SECRET'],
    };
    for (const [role, want] of Object.entries(expected)) {
      const p = await spawnRole(role, env);
      expect(warnings(p.output()), role).toEqual(want);
      expect(await p.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    }
  });

  it('refuses an unknown role with its usage', () => {
    const r = runCli(['gateway-x'], testEnv());
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown role "gateway-x"[\s\S]*usage: pmq <all\|api\|gateway\|worker\|cron>/);
  });
});
