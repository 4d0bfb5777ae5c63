// The cron role: one leader among several processes, and its ticks really run
// maintenance through the queue.
import { afterEach, describe, expect, it } from 'vitest';
import { CronScheduler } from '../../src/cron/scheduler.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

async function service(...args: Parameters<typeof startTestService>): Promise<TestService> {
  const t = await startTestService(...args);
  running.push(t);
  return t;
}

function scheduler(t: TestService, nodeId: string): CronScheduler {
  const ctx = { ...t.service.ctx, config: { ...t.service.ctx.config, nodeId } };
  const s = new CronScheduler(ctx, { ttlMs: 600, renewEveryMs: 100 });
  running.push(s);
  return s;
}

describe('cron leader lock', () => {
  it('lets one process lead, and another take over when it stops', async () => {
    const t = await service({ roles: ['api'] });
    const a = scheduler(t, 'cron-a');
    const b = scheduler(t, 'cron-b');
    await a.start();
    await b.start();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(await b.enqueue('purge')).toBe(false);
    expect(await a.enqueue('purge')).toBe(true);
    // A second job of a task still waiting is not added (deduplication).
    expect(await a.enqueue('purge')).toBe(true);
    expect(await t.service.ctx.queues.maintenance.getJobCounts('waiting')).toEqual({ waiting: 1 });

    await a.stop();
    await waitFor(() => b.isLeader, 5000, 'b to take the lead');
    expect(a.isLeader).toBe(false);
  });

  it('takes the lead when the leader dies without releasing, once the lock expires', async () => {
    const t = await service({ roles: ['api'] });
    const { redis, keys } = t.service.ctx;
    await redis.set(keys.cronLeader, 'a-dead-node', 'PX', 500);
    const b = scheduler(t, 'cron-b');
    await b.start();
    expect(b.isLeader).toBe(false);
    await waitFor(() => b.isLeader, 5000, 'b to take the lead');
  });
});

describe('cron ticks', () => {
  it('enqueue tier moves that the worker runs', async () => {
    const clock = new ManualClock();
    const t = await service({
      clock,
      roles: ['api', 'worker', 'cron'],
      env: { PMQ_CRON_TIER_MOVE: '* * * * * *' }, // every second
    });
    await t.http('POST', '/v1/events', { body: { id: 'c1', type: 'comment', to: 'cu', from: 'x' } });
    await drained(t);
    clock.advance(25 * 3600_000);
    await waitFor(
      async () => (await t.http('GET', '/v1/users/cu/messages')).body.messages[0]?.tier === 'delayed',
      10_000,
      'the cron tick to move the message',
    );
  });
});
