// Errors a client can act on, the same over HTTP and WS (src/errors.ts maps
// both): a Redis that cannot take writes now (maxmemory reached, no replicas) is
// `unavailable`, with Retry-After over HTTP; a script error is `internal`, logged
// once with its stack, and never passed off as "store unreachable" (a client
// would retry it forever). Each case on a private redis-server of its own.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { redisTargetOf } from '../../src/redis/connection.js';
import { startService, type Service } from '../../src/service.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { API_KEY, drained, testEnv, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, wsUrl } from '../helpers/ws-client.js';
import { openSocket, type ProbeSocket } from '../helpers/ws-raw.js';

interface LogLine {
  level: number;
  msg: string;
  err?: { message?: string; stack?: string };
}

let redis: TestRedis;
let service: Service;
let t: Pick<TestService, 'url' | 'http'> & { service: Service };
const log: LogLine[] = [];
const sockets: ProbeSocket[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  const config = loadConfig(testEnv({ REDIS_URL: redis.url, LOG_LEVEL: 'info' }));
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) log.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  service = await startService({
    config,
    redisTarget: redisTargetOf(config, config.redisUrl!),
    roles: ['api', 'gateway', 'worker'],
    logger: pino({ level: 'info' }, sink),
  });
  const url = `http://127.0.0.1:${service.port}`;
  t = {
    service,
    url,
    http: async (method, path, o = {}) => {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
      });
      return { status: res.status, body: await res.json() };
    },
  };
});
afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await service?.stop();
  await redis?.stop();
});

/** A request's status, body and Retry-After header. */
async function post(path: string, body: unknown): Promise<{ status: number; body: unknown; retryAfter: string | null }> {
  const res = await fetch(t.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

async function socketOf(uid: string): Promise<ProbeSocket> {
  const s = await openSocket(`${wsUrl(t as TestService)}?token=${await mintToken(t as TestService, uid)}`);
  sockets.push(s);
  await s.waitForFrame('hello');
  return s;
}

/** Sends a frame and waits for the next `type` frame. */
async function answer(s: ProbeSocket, frame: unknown, type: string): Promise<Record<string, unknown>> {
  const mark = s.frames.length;
  s.send(frame);
  return s.waitForFrameFrom(type, mark);
}

function expectUnavailable(r: { status: number; body: unknown; retryAfter: string | null }): void {
  expect(r.status).toBe(503);
  expect(r.body).toEqual({ error: { code: 'unavailable', message: expect.stringMatching(/retry later/) } });
  expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
}

describe('a Redis that takes no writes now', () => {
  it('at maxmemory (OOM): 503 `unavailable` with Retry-After over HTTP, `unavailable` over WS; served again once there is room', async () => {
    expect((await post('/v1/events', { events: ['f1', 'f2'].map((id) => ({ id, type: 'notice', to: 'full' })) })).status).toBe(202);
    await drained(t as TestService);
    const s = await socketOf('full');
    expect(s.framesOf('hello')[0]).toMatchObject({ unread: { total: 2 } });

    // This file's own redis-server already holds more than this: from now on it
    // refuses every command that would take memory (deleting still goes through).
    const { redis: admin } = service.ctx;
    await admin.config('SET', 'maxmemory', '1');
    try {
      expectUnavailable(await post('/v1/users/full/read', { ids: ['f1'] }));
      expectUnavailable(await post('/v1/events', { id: 'f3', type: 'notice', to: 'full' }));
      expect(await answer(s, { type: 'read', ids: ['f1'] }, 'error')).toEqual({
        type: 'error',
        code: 'unavailable',
        message: expect.stringMatching(/retry later/),
      });
      // What only reads still works, and nothing was read.
      expect((await t.http('GET', '/v1/users/full/unread')).body).toMatchObject({ total: 2 });
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    // Room again: the same read goes through, and the socket hears of it.
    expect(await answer(s, { type: 'read', ids: ['f1'] }, 'unread')).toEqual({ type: 'unread', total: 1, counts: { notice: 1 } });
    // An `unavailable` is not a bug: nothing was logged as one.
    expect(log.filter((l) => l.level >= 50 && l.err?.stack)).toEqual([]);
  });

  it('without the replicas it must write to (NOREPLICAS): the same', async () => {
    expect((await post('/v1/events', { id: 'n1', type: 'notice', to: 'norep' })).status).toBe(202);
    await drained(t as TestService);
    const { redis: admin } = service.ctx;
    await admin.config('SET', 'min-replicas-to-write', '1');
    try {
      expectUnavailable(await post('/v1/users/norep/read', {}));
    } finally {
      await admin.config('SET', 'min-replicas-to-write', '0');
    }
    expect(await post('/v1/users/norep/read', {})).toMatchObject({ status: 200, body: { total: 0 } });
  });
});

describe('a script that fails', () => {
  it('is `internal` over WS as over HTTP, logged once with its stack each time; the socket stays open', async () => {
    const s = await socketOf('broken');
    // The user's counts are not a hash: the read script fails on them (WRONGTYPE).
    const { redis: r, keys } = service.ctx;
    await r.set(keys.user('broken').unread, 'not a hash');
    const errorsBefore = log.filter((l) => l.err?.stack).length;

    expect(await answer(s, { type: 'read', ids: ['m1'] }, 'error')).toEqual({ type: 'error', code: 'internal', message: 'internal error' });
    await waitFor(() => log.filter((l) => l.err?.stack).length === errorsBefore + 1, 5000, 'the WS failure logged');
    const pong = await answer(s, { type: 'ping' }, 'pong');
    expect(pong).toEqual({ type: 'pong' });

    const r2 = await post('/v1/users/broken/read', { ids: ['m1'] });
    expect(r2.status).toBe(500);
    expect(r2.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(r2.retryAfter).toBeNull();
    await waitFor(() => log.filter((l) => l.err?.stack).length === errorsBefore + 2, 5000, 'the HTTP failure logged');

    // Each logged once, at error level, with the script's own message and a stack.
    const logged = log.filter((l) => l.err?.stack).slice(errorsBefore);
    for (const l of logged) {
      expect(l.level).toBe(50);
      expect(l.err!.message).toMatch(/WRONGTYPE.*script/);
      expect(l.err!.stack).toMatch(/\n\s+at /);
    }
  });
});

describe('an authentication that fails', () => {
  it('on a bug closes 1011 "internal error", logged with its stack, not "retry later"', async () => {
    // The user's registry entry is not a hash: registering the socket fails (WRONGTYPE).
    await service.ctx.redis.set(service.ctx.keys.user('broken-auth').nodes, 'not a hash');
    const errorsBefore = log.filter((l) => l.err?.stack).length;
    const s = await openSocket(`${wsUrl(t as TestService)}?token=${await mintToken(t as TestService, 'broken-auth')}`);
    sockets.push(s);
    expect(await s.closed).toEqual({ code: 1011, reason: 'internal error' });
    await waitFor(() => log.filter((l) => l.err?.stack).length === errorsBefore + 1, 5000, 'the failure logged');
    expect(log.filter((l) => l.err?.stack).at(-1)).toMatchObject({ level: 50, msg: 'auth failed', err: { message: expect.stringMatching(/WRONGTYPE/) } });
  });
});
