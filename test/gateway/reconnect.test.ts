// Coming back online: what a user missed waits in two tiers (fast: under a day,
// delayed: older) and reaches them on connect, each message once, each tier in
// seq order and in pages; a client that says the last seq it holds (`since`) is
// spared what it has, and told when what came after it was already purged.
//
// Each test has its own node (api + gateway + worker) whose clock it moves: a day
// passes in a call. Small pages (PMQ_PAGE_SIZE=5) so that every tier takes several.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wireClient, type WireClient } from '../helpers/cluster.js';
import { runMaintenance } from '../helpers/maintenance.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { untilMarker } from '../helpers/marker.js';
import { drained, pushesIdle, startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, rawSocket, recordingClient, wsUrl, type RecordingClient } from '../helpers/ws-client.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const PAGE = 5;

let clock: ManualClock;
let t: TestService;
const closers: (() => void)[] = [];

// A service (key prefix) and a clock of each test's own: a tier move or a purge
// counts every user's messages, and a moved clock ages them all.
beforeEach(async () => {
  clock = new ManualClock();
  t = await startTestService({ roles: ['api', 'gateway', 'worker'], clock, env: { PMQ_PAGE_SIZE: String(PAGE) } });
});
afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await t?.stop();
});

/** Posts `ids` to `to` as notices, in one batch, and waits until they are applied. */
async function post(to: string, ids: string[]): Promise<void> {
  const r = await t.http('POST', '/v1/events', { body: { events: ids.map((id) => ({ id, type: 'notice', to })) } });
  expect(r.status).toBe(202);
  await drained(t);
}

const names = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

async function feed(uid: string): Promise<{ id: string; seq: number; state: string; tier: string | null }[]> {
  const r = await t.http('GET', `/v1/users/${uid}/messages?limit=100`);
  expect(r.status).toBe(200);
  return r.body.messages;
}

async function wire(uid: string, opts: { since?: number; ack?: boolean } = {}): Promise<WireClient> {
  const w = await wireClient(wsUrl(t), await mintToken(t, uid), opts);
  closers.push(() => w.ws.terminate());
  return w;
}

/**
 * Waits for `n` message frames, then shows that no more come: once the drain
 * jobs are done, a marker event (id `marker`) posted to `uid` is the next frame.
 * Resolves with the frames before it. The marker is one more message of the user's.
 */
async function settle(w: WireClient, uid: string, n: number, marker?: string) {
  await w.waitForMessages(n);
  await pushesIdle(t);
  return untilMarker(t, uid, w.messages, marker);
}

const drainedSoFar = async () => (await t.service.ctx.metrics.drained.get()).values[0]?.value ?? 0;

describe('an offline user with messages in both tiers', () => {
  it('gets every message once on connect: the fast tier at once, the delayed tier by the drain, each in seq order and in pages', async () => {
    const uid = 'tiers';
    await post(uid, names('old', 1, 10)); // seq 1..10: two full pages
    clock.advance(25 * HOUR);
    expect(await runMaintenance(t, 'tier-move')).toMatchObject({ moved: 10 });
    await post(uid, names('new', 1, 12)); // seq 11..22: two pages and a bit
    const before = await feed(uid);
    expect(before.filter((m) => m.tier === 'delayed').map((m) => m.seq).sort((a, b) => a - b)).toEqual(names('', 1, 10).map(Number));
    expect(before.filter((m) => m.tier === 'fast').map((m) => m.seq).sort((a, b) => a - b)).toEqual(names('', 11, 22).map(Number));
    expect(before.every((m) => m.state === 'pending')).toBe(true);

    const drainedBefore = await drainedSoFar();
    const w = await wire(uid);
    expect(w.hello).toMatchObject({ uid, recovered: true, unread: { total: 22, counts: { notice: 22 } } });
    const got = await settle(w, uid, 22);

    // Each message exactly once.
    expect(got).toHaveLength(22);
    expect(new Set(got.map((m) => m.id)).size).toBe(22);
    // The first page of the fast tier came with the hello, in one write.
    const helloAt = w.frames.indexOf(w.hello);
    expect(got.slice(0, PAGE).map((m) => [m.index, m.seq])).toEqual(names('', 11, 15).map((s, i) => [helloAt + 1 + i, Number(s)]));
    // Each tier in seq order.
    const fast = got.filter((m) => m.id.startsWith('new'));
    const delayed = got.filter((m) => m.id.startsWith('old'));
    expect(fast.map((m) => m.id)).toEqual(names('new', 1, 12));
    expect(fast.map((m) => m.seq)).toEqual(names('', 11, 22).map(Number));
    expect(delayed.map((m) => m.id)).toEqual(names('old', 1, 10));
    // The rest (7 of the fast tier, the 10 of the delayed tier) came by the drain job.
    await waitFor(async () => (await drainedSoFar()) - drainedBefore === 17, 5000, 'the drain to count 17 messages');

    // All acked: delivered, whatever the tier; nothing comes again on the next connect.
    await waitFor(async () => (await feed(uid)).every((m) => m.state === 'delivered'), 5000, 'every message delivered');
    w.ws.close();
    const again = await wire(uid);
    expect(again.hello).toMatchObject({ unread: { total: 22 + 1 } }); // and the marker
    expect(await settle(again, uid, 0)).toEqual([]);
  });

  it('gets the delayed tier alone when the fast tier is empty', async () => {
    const uid = 'onlyold';
    await post(uid, names('o', 1, 7));
    clock.advance(25 * HOUR);
    expect(await runMaintenance(t, 'tier-move')).toMatchObject({ moved: 7 });
    const w = await wire(uid);
    const got = await settle(w, uid, 7);
    expect(got.map((m) => m.id)).toEqual(names('o', 1, 7));
  });

  it('drains the whole backlog to a second device that logs in while the first one is being drained', async () => {
    const uid = 'twodevices';
    const n = 600; // 120 pages: the drain runs long enough for the second login to land in it
    await post(uid, names('b', 1, n));
    clock.advance(25 * HOUR);
    expect(await runMaintenance(t, 'tier-move')).toMatchObject({ moved: n });
    const first = await wire(uid, { ack: false });
    await first.waitForMessages(50);
    const second = await wire(uid, { ack: false });
    // The second device gets every message (some twice: the first drain reaches it too).
    const distinct = () => new Set(second.messages().map((m) => m.id)).size;
    await waitFor(() => distinct() === n, 5000, `all ${n} messages on the second device`);
    await waitFor(() => new Set(first.messages().map((m) => m.id)).size === n, 5000, 'all on the first device');
  });
});

describe('reconnecting with since', () => {
  it('does not get again what the client holds, even unacked; gets what came after; recovered', async () => {
    const uid = 'since1';
    await post(uid, names('s', 1, 6));
    const first = await wire(uid, { ack: false });
    // Each marker is the user's next message: s7 here (seq 7), and so on.
    expect((await settle(first, uid, 6, 's7')).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    first.ws.close();
    await first.closed;
    expect((await feed(uid)).every((m) => m.state === 'pending')).toBe(true);

    await post(uid, names('s', 8, 9));
    // since on the URL
    const second = await wire(uid, { since: 6, ack: false });
    expect(second.hello).toMatchObject({ recovered: true });
    expect((await settle(second, uid, 3, 's10')).map((m) => m.id)).toEqual(['s7', 's8', 's9']);
    second.ws.close();
    await second.closed;
    // What the client said it holds is delivered now; the rest still pending.
    const states = Object.fromEntries((await feed(uid)).map((m) => [m.seq, m.state]));
    expect(states).toEqual({
      ...Object.fromEntries(names('', 1, 6).map((seq) => [seq, 'delivered'])),
      ...Object.fromEntries(names('', 7, 10).map((seq) => [seq, 'pending'])),
    });

    // since from the client library (a fresh client: no memory of ids to hide a duplicate)
    const lib: RecordingClient = recordingClient(wsUrl(t), () => mintToken(t, uid), { autoAck: false, since: () => 8 });
    closers.push(() => lib.close());
    expect(await lib.ready).toMatchObject({ recovered: true });
    await lib.waitForMessages(2);
    await pushesIdle(t);
    expect((await untilMarker(t, uid, () => lib.messages, 's11')).map((m) => m.id)).toEqual(['s9', 's10']);
    lib.close();

    // since in a raw auth frame
    const raw = await rawSocket(wsUrl(t));
    closers.push(() => raw.ws.terminate());
    raw.send({ type: 'auth', token: await mintToken(t, uid), since: 11 });
    expect(await raw.waitForFrame('hello')).toMatchObject({ recovered: true });
    await pushesIdle(t);
    expect(await untilMarker(t, uid, () => raw.frames.filter((f) => f.type === 'message'), 's12')).toEqual([]);
    // All but the last marker (which raw did not ack) delivered by since.
    await waitFor(async () => (await feed(uid)).every((m) => m.state === (m.seq === 12 ? 'pending' : 'delivered')), 5000, 'all delivered by since');
  });

  it('skips what it holds in the delayed tier too, and gets the rest of both tiers', async () => {
    const uid = 'since2';
    await post(uid, names('a', 1, 8));
    clock.advance(25 * HOUR);
    expect(await runMaintenance(t, 'tier-move')).toMatchObject({ moved: 8 });
    await post(uid, names('b', 1, 4)); // seq 9..12, fast
    const w = await wire(uid, { since: 6 });
    expect(w.hello).toMatchObject({ recovered: true });
    const got = await settle(w, uid, 6);
    expect(got.map((m) => m.id).sort()).toEqual(['a7', 'a8', 'b1', 'b2', 'b3', 'b4']);
    expect(got.filter((m) => m.id.startsWith('a')).map((m) => m.seq)).toEqual([7, 8]);
    expect(got.filter((m) => m.id.startsWith('b')).map((m) => m.seq)).toEqual([9, 10, 11, 12]);
  });

  it('says recovered: false when messages after since were purged, and sends what is left', async () => {
    const uid = 'purged';
    await post(uid, names('p', 1, 5)); // seq 1..5, purged below
    clock.advance(16 * DAY);
    await post(uid, names('p', 6, 8)); // seq 6..8, young
    const r = await runMaintenance(t, 'purge');
    expect(r.purged).toBeGreaterThanOrEqual(5);
    expect((await feed(uid)).map((m) => m.seq)).toEqual([8, 7, 6]);

    const gap = await wire(uid, { since: 2, ack: false });
    expect(gap.hello).toMatchObject({ recovered: false });
    // The marker is the user's next message: p9 (seq 9).
    expect((await settle(gap, uid, 3, 'p9')).map((m) => m.id)).toEqual(['p6', 'p7', 'p8']);
    gap.ws.close();

    const zero = await wire(uid, { since: 0, ack: false });
    expect(zero.hello).toMatchObject({ recovered: false });
    zero.ws.close();

    // Everything after 5 is still there: nothing lost for a client that holds 1..5.
    const edge = await wire(uid, { since: 5 });
    expect(edge.hello).toMatchObject({ recovered: true });
    expect((await settle(edge, uid, 4, 'p10')).map((m) => m.id)).toEqual(['p6', 'p7', 'p8', 'p9']);
    edge.ws.close();

    const upToDate = await wire(uid, { since: 10 });
    expect(upToDate.hello).toMatchObject({ recovered: true });
    expect(await settle(upToDate, uid, 0)).toEqual([]);
  });
});
