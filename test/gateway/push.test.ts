// Push, ack and pull over real sockets on one node (roles api + gateway + worker).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCluster } from '../../src/redis/client.js';
import { untilMarker } from '../helpers/marker.js';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';
import { connectUser, type RecordingClient } from '../helpers/ws-client.js';

let t: TestService;
const clients: RecordingClient[] = [];
beforeAll(async () => {
  t = await startTestService({ roles: ['api', 'gateway', 'worker'], env: { PMQ_ACK_TIMEOUT_MS: '300' } });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

async function user(uid: string, opts: Parameters<typeof connectUser>[2] = {}): Promise<RecordingClient> {
  const c = await connectUser(t, uid, opts);
  clients.push(c);
  return c;
}

const post = (body: unknown) => t.http('POST', '/v1/events', { body });

describe('push to an online user', () => {
  it('says hello with the counts, then pushes each new message and the new counts', async () => {
    const c = await user('on1');
    expect(c.hellos[0]).toMatchObject({ type: 'hello', uid: 'on1', node: t.config.nodeId, recovered: true, unread: { total: 0, counts: {} } });
    expect(c.hellos[0]!.heartbeat_ms).toBe(t.config.heartbeatMs);

    await post({ id: 'm1', type: 'comment', to: 'on1', from: 'bob', title: 'hi', body: 'there', data: { url: '/p/1' } });
    const [m] = await c.waitForMessages(1);
    expect(m).toEqual({
      type: 'message',
      id: 'm1',
      seq: 1,
      category: 'comment',
      from: 'bob',
      title: 'hi',
      body: 'there',
      data: { url: '/p/1' },
      created_at: expect.any(String),
      // The counts after it ride on the message: one frame, not two.
      unread: { total: 1, counts: { comment: 1 } },
    });
    await waitFor(() => c.client.unread.total === 1, 5000, 'unread 1');
    expect(c.client.unread).toEqual({ total: 1, counts: { comment: 1 } });
    // Auto-acked on receipt: delivered.
    await waitFor(async () => (await t.http('GET', '/v1/users/on1/messages')).body.messages[0].state === 'delivered', 5000, 'delivered');
    // Every leg of the push is measured.
    const metrics = (await t.http('GET', '/metrics', { auth: null })).body as string;
    expect(metrics).toMatch(/pmq_push_latency_seconds_count\{stage="queued"\} [1-9]/);
    expect(metrics).toMatch(/pmq_push_latency_seconds_count\{stage="accepted_to_publish"\} [1-9]/);
    expect(metrics).toMatch(/pmq_push_latency_seconds_count\{stage="publish_to_socket"\} [1-9]/);
  });

  it('drops an unreadable node message and carries on', async () => {
    const c = await user('on3');
    const { redis, keys, config } = t.service.ctx;
    const channel = keys.nodeChannel(config.nodeId);
    const unreadable = '{"type":"deliver","users":[["on3",5]]}\n{}';
    // As the publisher sends: sharded on a cluster.
    expect(await (isCluster(redis) ? redis.spublish(channel, unreadable) : redis.publish(channel, unreadable))).toBe(1);
    await post({ id: 'after-garbage', type: 'notice', to: 'on3' });
    const [m] = await c.waitForMessages(1);
    expect(m!.id).toBe('after-garbage');
    expect(c.messages).toHaveLength(1);
  });

  it('does not push a self-comment, nor a duplicate', async () => {
    const c = await user('on2');
    await post({ events: [{ id: 's1', type: 'comment', to: 'on2', from: 'on2' }, { id: 'n1', type: 'notice', to: 'on2' }] });
    await post({ id: 'n1', type: 'notice', to: 'on2' });
    await drained(t);
    expect((await untilMarker(t, 'on2', () => c.messages)).map((m) => m.id)).toEqual(['n1']);
  });

  it('reaches every device of the user; a read on one updates the other', async () => {
    const a = await user('multi');
    const b = await user('multi');
    await post({ events: [{ id: 'd1', type: 'comment', to: 'multi', from: 'x' }, { id: 'd2', type: 'notice', to: 'multi' }] });
    await a.waitForMessages(2);
    await b.waitForMessages(2);
    await waitFor(() => b.client.unread.total === 2, 5000, 'b sees 2 unread');
    a.client.read({ category: 'comment' });
    await waitFor(() => b.client.unread.total === 1, 5000, 'b sees the read of a');
    expect(b.client.unread).toEqual({ total: 1, counts: { notice: 1 } });
    // A read over HTTP reaches the sockets too.
    await t.http('POST', '/v1/users/multi/read', { body: {} });
    await waitFor(() => a.client.unread.total === 0 && b.client.unread.total === 0, 5000, 'both see 0');
  });
});

describe('an offline user', () => {
  it('gets what was posted while away on connect, each once, in order', async () => {
    await post({ events: Array.from({ length: 30 }, (_, i) => ({ id: `off-${i}`, type: 'notice', to: 'away1' })) });
    await drained(t);
    const c = await user('away1');
    const got = await c.waitForMessages(30);
    expect(got.map((m) => m.id)).toEqual(Array.from({ length: 30 }, (_, i) => `off-${i}`));
    expect(c.hellos[0]!.unread.total).toBe(30);
    await waitFor(async () => (await t.http('GET', '/v1/users/away1/messages?limit=100')).body.messages.every((m: { state: string }) => m.state === 'delivered'), 5000, 'all delivered');
    // Reconnecting: nothing again (all acked).
    c.close();
    const again = await user('away1');
    expect(await untilMarker(t, 'away1', () => again.messages)).toEqual([]);
  });
});

describe('ack and redelivery', () => {
  it('pushes an unacked message again after the ack timeout, and stops once acked', async () => {
    const c = await user('noack', { autoAck: false });
    await post({ id: 'r1', type: 'comment', to: 'noack', from: 'x' });
    // The client drops duplicates by id; record the message frames on the wire instead.
    const frames: string[] = [];
    const ws = (c.client as unknown as { ws: { onmessage: ((ev: { data: unknown }) => void) | null } }).ws;
    const orig = ws.onmessage!;
    ws.onmessage = (ev) => {
      const f = JSON.parse(String(ev.data)) as { type: string; id?: string };
      if (f.type === 'message') frames.push(f.id!);
      orig(ev);
    };
    await waitFor(() => frames.length >= 2, 10_000, 'a redelivery');
    c.client.ack(['r1']);
    await waitFor(async () => (await t.http('GET', '/v1/users/noack/messages')).body.messages[0].state === 'delivered', 5000, 'acked');
    const after = frames.length;
    // A redelivery sends what the user has pending: a marker left unacked comes
    // again after the ack timeout, alone, and r1 with it had the ack not stopped it.
    await post({ id: 'r2', type: 'comment', to: 'noack', from: 'x' });
    await waitFor(() => frames.filter((id) => id === 'r2').length >= 2, 10_000, 'the redelivery of the marker');
    expect(frames.slice(after)).toEqual(['r2', 'r2']);
    expect(c.messages.map((m) => m.id)).toEqual(['r1', 'r2']);
  });

  it('applies the acks of many users, gathered in one flush, each to its own user', async () => {
    const uids = ['ga', 'gb', 'gc', 'gd', 'ge'];
    const cs = await Promise.all(uids.map((u) => user(u)));
    // One POST: the pushes, and so the auto-acks, arrive together.
    await post({ events: uids.flatMap((to) => [1, 2].map((n) => ({ id: `${to}-${n}`, type: 'notice', to }))) });
    await Promise.all(cs.map((c) => c.waitForMessages(2)));
    for (const uid of uids) {
      await waitFor(
        async () => (await t.http('GET', `/v1/users/${uid}/messages`)).body.messages.every((m: { state: string }) => m.state === 'delivered'),
        5000,
        `${uid}: both delivered`,
      );
    }
  });

  it("ignores duplicate acks and acks of ids that are not the user's", async () => {
    await post({ events: [{ id: 'x1', type: 'comment', to: 'victim', from: 'x' }, { id: 'own', type: 'notice', to: 'acker' }] });
    await drained(t);
    const c = await user('acker', { autoAck: false });
    await c.waitForMessages(1);
    // One frame, applied in one go: once the acker's own message is delivered, the rest was applied too.
    c.client.ack(['x1', 'x1', 'nope', 'own']);
    await waitFor(async () => (await t.http('GET', '/v1/users/acker/messages')).body.messages[0].state === 'delivered', 5000, 'the own ack applied');
    const feed = (await t.http('GET', '/v1/users/victim/messages')).body.messages;
    expect(feed[0]).toMatchObject({ id: 'x1', state: 'pending', tier: 'fast' });
  });
});

describe('pull', () => {
  it('returns pending messages and counts', async () => {
    const c = await user('puller', { autoAck: false });
    await post({ events: [{ id: 'p1', type: 'comment', to: 'puller', from: 'x' }, { id: 'p2', type: 'notice', to: 'puller' }] });
    await c.waitForMessages(2);
    const before = c.unread.length;
    c.client.pull();
    await waitFor(() => c.unread.length > before, 5000, 'an unread frame after pull');
    expect(c.client.unread).toEqual({ total: 2, counts: { comment: 1, notice: 1 } });
  });
});
