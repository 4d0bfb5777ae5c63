// The events worker: a job that fails is retried until it succeeds, never left
// failed (a failed job would swallow every re-post of its events).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.stop();
});

describe('events worker', () => {
  it('retries a failing job until it succeeds, and a re-post meanwhile is applied once', async () => {
    const { redis, keys, queues } = t.service.ctx;
    // A key of the wrong type makes the apply script fail (WRONGTYPE), as a
    // damaged key would.
    await redis.set(keys.user('broken').seen, 'not a zset');
    const ev = { id: 'retry-1', type: 'comment', to: 'broken', from: 'x' };
    expect((await t.http('POST', '/v1/events', { body: ev })).status).toBe(202);

    const job = await waitFor(async () => {
      const [j] = await queues.events.getJobs(['delayed', 'waiting', 'active']);
      return j && j.attemptsMade >= 2 ? j : undefined;
    }, 20_000, 'two failed attempts');
    expect(job.failedReason).toMatch(/WRONGTYPE/);
    expect(await queues.events.getJobCounts('failed')).toEqual({ failed: 0 });
    expect((await t.http('GET', '/v1/users/broken/unread')).body.total).toBe(0);

    // Posted again while its job is retrying: accepted, and the same job.
    expect((await t.http('POST', '/v1/events', { body: ev })).status).toBe(202);

    await redis.del(keys.user('broken').seen);
    await drained(t);
    expect((await t.http('GET', '/v1/users/broken/unread')).body).toEqual({ uid: 'broken', total: 1, counts: { comment: 1 } });
    expect((await t.http('GET', '/v1/users/broken/messages')).body.messages).toHaveLength(1);
  });
});
