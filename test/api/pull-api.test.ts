// The whole way of an event through the real server: POST -> queue -> worker ->
// counters, feed and pending state, read back over the pull API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.stop();
});

describe('an event, end to end', () => {
  it('counts, stores and lists posted events', async () => {
    const post = await t.http('POST', '/v1/events', {
      body: {
        events: [
          { id: 'e1', type: 'comment', to: 'alice', from: 'bob', title: 'Re: hello', body: 'nice post' },
          { id: 'e2', type: 'notice', to: 'alice', title: 'maintenance tonight' },
          { id: 'e3', type: 'comment', to: 'alice', from: 'alice', title: 'my own comment' },
          { id: 'e4', type: 'comment', to: 'carol', from: 'bob' },
        ],
      },
    });
    expect(post).toEqual({ status: 202, body: { accepted: 4 } });

    // Each user's events are applied at once; users apart (on a cluster, on
    // different masters) need not be at the same moment: wait for them all.
    await drained(t);
    const unread = await t.http('GET', '/v1/users/alice/unread');
    expect(unread.body).toEqual({ uid: 'alice', total: 2, counts: { comment: 1, notice: 1 } });
    expect((await t.http('GET', '/v1/users/carol/unread')).body).toEqual({ uid: 'carol', total: 1, counts: { comment: 1 } });

    const feed = await t.http('GET', '/v1/users/alice/messages');
    expect(feed.status).toBe(200);
    expect(feed.body.messages.map((m: { id: string }) => m.id)).toEqual(['e3', 'e2', 'e1']);
    expect(feed.body.messages.map((m: { seq: number }) => m.seq)).toEqual([3, 2, 1]);
    const [own, notice, comment] = feed.body.messages;
    // A comment on one's own post is stored but neither counted nor pending.
    expect(own).toMatchObject({ id: 'e3', state: 'read', tier: null, from: 'alice' });
    expect(notice).toMatchObject({ id: 'e2', category: 'notice', state: 'pending', tier: 'fast', from: null });
    expect(comment).toMatchObject({ id: 'e1', category: 'comment', from: 'bob', title: 'Re: hello', body: 'nice post' });
  });

  it('does not count a re-posted event twice', async () => {
    const ev = { id: 'again-1', type: 'comment', to: 'dave', from: 'bob' };
    expect((await t.http('POST', '/v1/events', { body: ev })).status).toBe(202);
    expect((await t.http('POST', '/v1/events', { body: ev })).status).toBe(202);
    expect((await t.http('POST', '/v1/events', { body: { events: [ev, ev] } })).status).toBe(202);
    await drained(t);
    expect((await t.http('GET', '/v1/users/dave/unread')).body.total).toBe(1);
    expect((await t.http('GET', '/v1/users/dave/messages')).body.messages).toHaveLength(1);
  });

  it('reads by id, by category and all, never below zero', async () => {
    const events = [
      { id: 'r1', type: 'comment', to: 'erin', from: 'x' },
      { id: 'r2', type: 'comment', to: 'erin', from: 'x' },
      { id: 'r3', type: 'like', to: 'erin', from: 'x' },
      { id: 'r4', type: 'notice', to: 'erin' },
    ];
    await t.http('POST', '/v1/events', { body: { events } });
    await drained(t);
    let r = await t.http('POST', '/v1/users/erin/read', { body: { ids: ['r1', 'r1', 'no-such-id'] } });
    expect(r.body).toEqual({ uid: 'erin', total: 3, counts: { comment: 1, like: 1, notice: 1 } });
    r = await t.http('POST', '/v1/users/erin/read', { body: { ids: ['r1'] } });
    expect(r.body.total).toBe(3);
    r = await t.http('POST', '/v1/users/erin/read', { body: { category: 'comment' } });
    expect(r.body).toEqual({ uid: 'erin', total: 2, counts: { like: 1, notice: 1 } });
    // r2 was read with its category: reading it by id changes nothing more.
    r = await t.http('POST', '/v1/users/erin/read', { body: { ids: ['r2'] } });
    expect(r.body.total).toBe(2);
    r = await t.http('POST', '/v1/users/erin/read', { body: {} });
    expect(r.body).toEqual({ uid: 'erin', total: 0, counts: {} });
    r = await t.http('POST', '/v1/users/erin/read', { body: { category: ['comment', 'notice'] } });
    expect(r.body).toEqual({ uid: 'erin', total: 0, counts: {} });

    // A message that arrives after a read-all is unread again.
    await t.http('POST', '/v1/events', { body: { id: 'r5', type: 'comment', to: 'erin', from: 'x' } });
    await drained(t);
    expect((await t.http('GET', '/v1/users/erin/unread')).body).toEqual({ uid: 'erin', total: 1, counts: { comment: 1 } });
    const states = (await t.http('GET', '/v1/users/erin/messages')).body.messages.map((m: { id: string; state: string }) => [m.id, m.state]);
    expect(states).toEqual([
      ['r5', 'pending'],
      ['r4', 'read'],
      ['r3', 'read'],
      ['r2', 'read'],
      ['r1', 'read'],
    ]);
  });

  it('acks move messages from pending to delivered', async () => {
    await t.http('POST', '/v1/events', {
      body: { events: [{ id: 'a1', type: 'comment', to: 'fay', from: 'x' }, { id: 'a2', type: 'comment', to: 'fay', from: 'x' }] },
    });
    await t.http('POST', '/v1/events', { body: { id: 'a3', type: 'comment', to: 'gus', from: 'x' } });
    await drained(t);
    expect((await t.http('POST', '/v1/users/fay/ack', { body: { ids: ['a1', 'a3'] } })).body).toEqual({ uid: 'fay', acked: 1 });
    expect((await t.http('POST', '/v1/users/fay/ack', { body: { ids: ['a1'] } })).body).toEqual({ uid: 'fay', acked: 0 });
    const feed = (await t.http('GET', '/v1/users/fay/messages')).body.messages;
    expect(feed.map((m: { id: string; state: string; tier: string | null }) => [m.id, m.state, m.tier])).toEqual([
      ['a2', 'pending', 'fast'],
      ['a1', 'delivered', null],
    ]);
    // gus's message was not fay's to ack.
    expect((await t.http('GET', '/v1/users/gus/messages')).body.messages[0]).toMatchObject({ id: 'a3', state: 'pending' });
  });

  it('pages the feed newest first by seq', async () => {
    const events = Array.from({ length: 25 }, (_, i) => ({ id: `p${i}`, type: 'notice', to: 'hal' }));
    await t.http('POST', '/v1/events', { body: { events } });
    await drained(t);
    const seen: number[] = [];
    let before: number | null = null;
    for (let page = 0; page < 5; page++) {
      const q: string = before === null ? '?limit=10' : `?limit=10&before=${before}`;
      const r = await t.http('GET', `/v1/users/hal/messages${q}`);
      seen.push(...r.body.messages.map((m: { seq: number }) => m.seq));
      before = r.body.next_before;
      if (before === null) break;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 25 - i));
  });
});
