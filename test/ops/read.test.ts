// Read and ack are one operation whatever the front end (src/ops/): over HTTP and
// over WS they do the same thing and tell the same sockets. A read that changes
// nothing tells nobody; every ack, however it comes, is counted once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStats } from '../../src/store/stats.js';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, wsUrl } from '../helpers/ws-client.js';
import { openSocket, type ProbeSocket } from '../helpers/ws-raw.js';

let t: TestService;
const sockets: ProbeSocket[] = [];

beforeAll(async () => {
  // A frame rate that lets 200 reads through: this is about what a read sends, not about floods.
  t = await startTestService({ roles: ['api', 'gateway', 'worker'], env: { PMQ_WS_FRAMES_PER_SECOND: '10000' } });
});
afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await t.stop();
});

async function socketOf(uid: string, since?: number): Promise<ProbeSocket> {
  const query = since === undefined ? '' : `&since=${since}`;
  const s = await openSocket(`${wsUrl(t)}?token=${await mintToken(t, uid)}${query}`);
  sockets.push(s);
  await s.waitForFrame('hello');
  return s;
}

async function ackedTotal(): Promise<number> {
  const text = (await t.http('GET', '/metrics', { auth: null })).body as string;
  return Number(/^pmq_acked_total (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('a read that changes nothing', () => {
  it('sends nothing to any socket of the user, over WS or HTTP; the next real read is the first frame after', async () => {
    const reader = await socketOf('quiet');
    const watcher = await socketOf('quiet');
    await t.http('POST', '/v1/events', {
      body: { events: [{ id: 'q-c1', type: 'comment', to: 'quiet', from: 'x' }, { id: 'q-n1', type: 'notice', to: 'quiet' }] },
    });
    for (const s of [reader, watcher]) await waitFor(() => s.framesOf('message').length === 2, 10_000, 'both messages');
    // The counts after the push ride on its last message.
    const counted2 = (s: typeof reader) => s.framesOf('message').some((m) => (m.unread as { total?: number } | undefined)?.total === 2);
    for (const s of [reader, watcher]) await waitFor(() => counted2(s), 10_000, 'both unread');
    // A real read first: the comment is read, the notice stays unread.
    const marks = [reader.frames.length, watcher.frames.length];
    reader.send({ type: 'read', category: 'comment' });
    for (const [i, s] of [reader, watcher].entries()) {
      expect(await s.waitForFrameFrom('unread', marks[i]!)).toEqual({ type: 'unread', total: 1, counts: { notice: 1 } });
    }

    const readerMark = reader.frames.length;
    const watcherMark = watcher.frames.length;
    // 200 reads that change nothing: the comment again, by category and by id, and an unknown id.
    const noOps = [{ category: 'comment' }, { ids: ['q-c1'] }, { ids: ['no-such-message'] }, { ids: ['q-c1', 'no-such-message'] }];
    for (let i = 0; i < 200; i++) reader.send({ type: 'read', ...noOps[i % noOps.length] });
    // The same over HTTP.
    for (const body of noOps) {
      const r = await t.http('POST', '/v1/users/quiet/read', { body });
      expect(r).toEqual({ status: 200, body: { uid: 'quiet', total: 1, counts: { notice: 1 } } });
    }
    // The marker: a read that changes something, sent after all of them on the same socket.
    reader.send({ type: 'read', category: 'notice' });

    const marker = { type: 'unread', total: 0, counts: {} };
    for (const [s, mark] of [[watcher, watcherMark], [reader, readerMark]] as const) {
      await waitFor(() => s.framesOf('unread', mark).some((u) => u.total === 0), 10_000, 'the marker read');
    }
    expect(watcher.frames.slice(watcherMark)).toEqual([marker]);
    expect(reader.frames.slice(readerMark)).toEqual([marker]);
  });
});

describe('acks', () => {
  it('count once in the tallies and the metric, whether by frame, over HTTP or by `since` on reconnect', async () => {
    const s = await socketOf('acker');
    await t.http('POST', '/v1/events', {
      body: { events: ['a1', 'a2', 'a3'].map((id) => ({ id, type: 'notice', to: 'acker' })) },
    });
    await drained(t);
    await waitFor(() => s.framesOf('message').length === 3, 10_000, 'three messages');
    const seqs = s.framesOf('message').map((m) => m.seq as number);
    const before = await ackedTotal();
    const { ctx } = t.service;
    await ctx.stats.flush();
    const pendingBefore = (await readStats(ctx.redis, ctx.keys)).fast;

    s.send({ type: 'ack', ids: ['a1'] });
    await waitFor(async () => (await ackedTotal()) === before + 1, 5000, 'the frame ack counted');
    expect((await t.http('POST', '/v1/users/acker/ack', { body: { ids: ['a2'] } })).body).toEqual({ uid: 'acker', acked: 1 });
    await waitFor(async () => (await ackedTotal()) === before + 2, 5000, 'the HTTP ack counted');
    // A reconnecting client holds everything up to a3: that is its ack.
    s.ws.close();
    await s.closed;
    const back = await socketOf('acker', seqs[2]);
    expect(back.framesOf('hello')[0]).toMatchObject({ recovered: true });
    await waitFor(async () => (await ackedTotal()) === before + 3, 5000, 'the ack by since counted');

    // Acked twice changes nothing.
    expect((await t.http('POST', '/v1/users/acker/ack', { body: { ids: ['a1', 'a2', 'a3'] } })).body).toEqual({ uid: 'acker', acked: 0 });
    expect(await ackedTotal()).toBe(before + 3);
    // The tally of pending messages went down by the three, once each.
    await ctx.stats.flush();
    expect((await readStats(ctx.redis, ctx.keys)).fast).toBe(pendingBefore - 3);
  });
});
