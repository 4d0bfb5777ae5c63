// The README's client snippet as a newcomer uses it: it is examples/client.ts
// word for word, it type-checks as it is (with `ws`, and the browser's WebSocket
// fits the client too), and it runs: against a real service it prints the
// pushed message and the badge.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, drained, startTestService, waitFor, type TestService } from './helpers/service.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const EXAMPLE = 'examples/client.ts';

/** The fenced ```ts blocks of the README. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** tsc --noEmit on `files` with these compiler options, from a tsconfig in a temp dir inside the project. */
function typecheck(files: string[], compilerOptions: Record<string, unknown>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(ROOT, '.typecheck-'));
  try {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          ...compilerOptions,
        },
        files: files.map((f) => (f.startsWith('/') ? f : join(ROOT, f))),
      }),
    );
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status, output: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the README's client snippet", () => {
  it('is examples/client.ts, word for word', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(tsBlocks(readme)).toContain(readFileSync(join(ROOT, EXAMPLE), 'utf8'));
  });

  it('type-checks as it is, with the WebSocket of `ws`', () => {
    const r = typecheck([EXAMPLE], { types: ['node'] });
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it("and the client takes the browser's WebSocket as it is", () => {
    const dir = mkdtempSync(join(ROOT, '.browser-'));
    try {
      const file = join(dir, 'browser.ts');
      writeFileSync(
        file,
        [
          "import { PmqClient } from '../src/client/index.js';",
          "declare const token: string;",
          "new PmqClient({ url: 'wss://pmq.example/ws', token, WebSocket }).connect();",
          '',
        ].join('\n'),
      );
      // The DOM's own types, and nothing of Node's.
      const r = typecheck([file], { lib: ['ES2022', 'DOM'], types: [] });
      expect(r.output).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('examples/client.ts', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ roles: ['api', 'worker', 'gateway'] });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('runs as shown: the pending message and the badge come', async () => {
    await t.http('POST', '/v1/events', {
      body: { id: 'c-1', type: 'comment', to: '42', from: '7', title: 'New comment', body: 'Nice post' },
    });
    await drained(t);
    const child = spawn(process.execPath, ['--import', 'tsx', EXAMPLE], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', KEY: API_KEY, PMQ_URL: t.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitFor(() => /^New comment$/m.test(out) && /^badge 1$/m.test(out), 20_000, `the output:\n${out}`);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
