// The Redis of `npm start` without REDIS_URL: found, started, or a clear refusal.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { RedisNotFoundError, answersPing, resolveRedis } from '../../src/redis/local-server.js';
import { freePort } from '../helpers/redis-server.js';

const logger = createLogger('silent', 'test');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pmq-local-'));
  dirs.push(d);
  return d;
}

describe('resolveRedis', () => {
  it('uses REDIS_URL as given', async () => {
    const r = await resolveRedis('redis://example:1234', tempDir(), logger);
    expect(r.url).toBe('redis://example:1234');
    await r.stop();
  });

  it('starts a redis-server with an append-only file under the data dir, and stops it', async () => {
    const port = await freePort();
    const dir = join(tempDir(), 'var');
    const r = await resolveRedis(undefined, dir, logger, { port });
    expect(r.url).toBe(`redis://127.0.0.1:${port}`);
    const client = new Redis(r.url);
    await client.set('k', 'v');
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await client.config('GET', 'dir')).toEqual(['dir', dir]);
    client.disconnect();
    await r.stop();
    expect(await answersPing('127.0.0.1', port)).toBe(false);
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir).some((f) => f.startsWith('appendonly'))).toBe(true);
  });

  it('uses a Redis that already answers rather than starting one', async () => {
    const port = await freePort();
    const first = await resolveRedis(undefined, tempDir(), logger, { port });
    const second = await resolveRedis(undefined, tempDir(), logger, { port, command: '/nonexistent/redis-server' });
    expect(second.url).toBe(first.url);
    await second.stop(); // not its own: stays up
    expect(await answersPing('127.0.0.1', port)).toBe(true);
    await first.stop();
  });

  it('says how to get a Redis when there is none to start', async () => {
    const port = await freePort();
    const err = await resolveRedis(undefined, tempDir(), logger, { port, command: '/nonexistent/redis-server' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RedisNotFoundError);
    expect((err as Error).message).toMatch(/apt-get install redis-server/);
    expect((err as Error).message).toMatch(/REDIS_URL=redis:\/\//);
  });
});
