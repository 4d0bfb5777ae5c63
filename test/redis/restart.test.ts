// Redis restarted under load: the service carries on by itself, and every event
// is counted exactly once. The client does what a client of PMQ should: it posts
// a refused batch again, unchanged, until it gets its 202. (A 503 does not say the
// events were not stored: Redis may have taken them before the connection broke;
// the second post must then change nothing.)
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';

let redis: TestRedis | undefined;
let t: TestService | undefined;
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

describe('a Redis restart under load', () => {
  it('loses no accepted event and counts none twice', async () => {
    redis = await startRedisServer({ appendonly: true });
    t = await startTestService({ env: { REDIS_URL: redis.url } });
    const svc = t;

    const accepted = new Map<string, number>(); // uid -> events answered 202
    let n = 0;
    let refused = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const events = Array.from({ length: 50 }, () => {
          const i = n++;
          return { id: `r${i}`, type: 'comment', to: `u${i % 20}`, from: 'x' };
        });
        for (;;) {
          const r = await svc.http('POST', '/v1/events', { body: { events } });
          if (r.status === 202) break;
          expect(r.status).toBe(503);
          expect(r.body.error.code).toBe('unavailable');
          refused++;
          await new Promise((res) => setTimeout(res, 50));
        }
        for (const e of events) accepted.set(e.to, (accepted.get(e.to) ?? 0) + 1);
        await new Promise((res) => setTimeout(res, 5));
      }
    })();

    await waitFor(() => accepted.size === 20, 10_000, 'load to start');
    // SIGTERM: Redis flushes its append-only file and exits, as in a restart.
    const { port, dir } = redis;
    await new Promise<void>((resolve) => {
      redis!.process.once('exit', () => resolve());
      redis!.process.kill('SIGTERM');
    });
    await waitFor(async () => (await svc.http('GET', '/readyz', { auth: null })).status === 503, 10_000, 'readyz to fail while Redis is down');
    const restarted = await startRedisServer({ port, dir, appendonly: true });
    const first = redis;
    redis = { ...restarted, stop: async () => { await restarted.stop(); await first.stop(); } };

    await waitFor(async () => (await svc.http('GET', '/readyz', { auth: null })).status === 200, 20_000, 'readyz after restart');
    const before = [...accepted.values()].reduce((a, b) => a + b, 0);
    await waitFor(() => [...accepted.values()].reduce((a, b) => a + b, 0) >= before + 500, 20_000, 'load to resume');
    stop = true;
    await load;
    await drained(svc, 60_000);

    expect(refused).toBeGreaterThan(0);
    for (let u = 0; u < 20; u++) {
      const r = await svc.http('GET', `/v1/users/u${u}/unread`);
      expect(r.body.total, `u${u}`).toBe(accepted.get(`u${u}`));
    }
  });
});
