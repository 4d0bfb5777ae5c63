// Redelivery: an unacked push comes again, a bounded number of times, with the
// wait doubling; then it stays pending for the next login.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beforeMarker, postMarker } from '../helpers/marker.js';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, wsUrl } from '../helpers/ws-client.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ roles: ['api', 'gateway', 'worker'], env: { PMQ_ACK_TIMEOUT_MS: '200', PMQ_REDELIVER_MAX: '2' } });
});
afterAll(async () => {
  await t.stop();
});

describe('redelivery', () => {
  it('pushes an unacked message again PMQ_REDELIVER_MAX times, then stops; it stays pending', async () => {
    const ws = new WebSocket(`${wsUrl(t)}?token=${await mintToken(t, 'rd1')}`);
    const frames: { id: string; at: number }[] = [];
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { type: string; id?: string };
      if (f.type === 'message') frames.push({ id: f.id!, at: Date.now() });
    });
    await new Promise((r) => ws.once('message', r)); // hello
    await t.http('POST', '/v1/events', { body: { id: 'rd-1', type: 'notice', to: 'rd1' } });
    await waitFor(() => frames.length === 3, 10_000, 'the push and two redeliveries');
    const at = frames.map((f) => f.at);
    // Waits of about 200 and 400 ms (the sweep runs every 100 ms): doubling.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(150);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(350);

    // No fourth push, for 1.5 s after the third: a probe user put on the schedule
    // for then leaves it once a sweep of then or later has claimed it, and that
    // sweep would have claimed and pushed rd1 too, had rd1 been due by then.
    const { redis, keys } = t.service.ctx;
    await redis.zadd(keys.shardOf('rd1-probe').redeliverDue, at[2]! + 1500, 'rd1-probe');
    await waitFor(async () => (await redis.zscore(keys.shardOf('rd1-probe').redeliverDue, 'rd1-probe')) === null, 10_000, 'a sweep 1.5 s after the last push');
    const feed = (await t.http('GET', '/v1/users/rd1/messages')).body.messages;
    expect(feed[0]).toMatchObject({ id: 'rd-1', state: 'pending', tier: 'fast' });
    expect(await redis.zscore(keys.shardOf('rd1').redeliverDue, 'rd1')).toBeNull();
    // What that sweep published reached the socket before a marker posted now.
    const before = await beforeMarker(() => frames, await postMarker(t, 'rd1'));
    expect(before.map((f) => f.id)).toEqual(['rd-1', 'rd-1', 'rd-1']);
    ws.close();
  });

  it('takes a user who acked off the schedule', async () => {
    const ws = new WebSocket(`${wsUrl(t)}?token=${await mintToken(t, 'rd2')}`);
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { type: string; id?: string };
      if (f.type === 'message') ws.send(JSON.stringify({ type: 'ack', ids: [f.id] }));
    });
    await new Promise((r) => ws.once('message', r));
    await t.http('POST', '/v1/events', { body: { id: 'rd-2', type: 'notice', to: 'rd2' } });
    const { redis, keys } = t.service.ctx;
    await waitFor(async () => (await redis.zscore(keys.shardOf('rd2').redeliverDue, 'rd2')) !== null, 5000, 'scheduled');
    await waitFor(async () => (await redis.zscore(keys.shardOf('rd2').redeliverDue, 'rd2')) === null, 5000, 'taken off after the ack');
    ws.close();
  });

  it('sweeps the schedule of a PMQ before the shards: a user left there is redelivered', async () => {
    const frames: string[] = [];
    const ws = new WebSocket(`${wsUrl(t)}?token=${await mintToken(t, 'rd3')}`);
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { type: string; id?: string };
      if (f.type === 'message') frames.push(f.id!);
    });
    await new Promise((r) => ws.once('message', r));
    await t.http('POST', '/v1/events', { body: { id: 'rd-3', type: 'notice', to: 'rd3' } });
    await waitFor(() => frames.length === 3, 10_000, 'the push and two redeliveries');
    // Out of retries now; as the old single schedule would hold it, due at once:
    const { redis, keys } = t.service.ctx;
    await redis.zadd(keys.unsharded.redeliverDue, Date.now(), 'rd3');
    await waitFor(() => frames.length === 4, 10_000, 'a redelivery from the schedule of before');
    await waitFor(async () => (await redis.zcard(keys.unsharded.redeliverDue)) === 0, 10_000, 'the old schedule drained');
    ws.close();
  });
});
