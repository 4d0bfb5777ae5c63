// Bad input and load on /ws, over real sockets, real HTTP and real Redis: frames
// that are refused (and the socket kept), frames too big, floods, dead peers
// (heartbeat) and clients that stop reading (send-buffer bound). Each service
// gets the small limit its cases need.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';
import { connectUser, mintToken, wsUrl, type RecordingClient } from '../helpers/ws-client.js';
import { openSocket, type ProbeSocket } from '../helpers/ws-raw.js';

const sockets: ProbeSocket[] = [];
const clients: RecordingClient[] = [];
const services: TestService[] = [];

async function start(env: Record<string, string>): Promise<TestService> {
  const t = await startTestService({ roles: ['api', 'gateway', 'worker'], env });
  services.push(t);
  return t;
}

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of sockets) s.ws.terminate();
  await Promise.all(services.map((t) => t.stop()));
});

/** A raw socket authenticated as `uid` (hello received). */
async function rawUser(t: TestService, uid: string, options: Parameters<typeof openSocket>[1] = {}): Promise<ProbeSocket> {
  const s = await openSocket(`${wsUrl(t)}?token=${await mintToken(t, uid)}`, options);
  sockets.push(s);
  await s.waitForFrame('hello');
  return s;
}

async function recordingUser(t: TestService, uid: string): Promise<RecordingClient> {
  const c = await connectUser(t, uid, { reconnect: false });
  clients.push(c);
  return c;
}

/** Sends `frame` and waits for the next frame of `type`. */
async function answer(s: ProbeSocket, frame: unknown, type = 'error'): Promise<Record<string, unknown>> {
  const mark = s.frames.length;
  if (Buffer.isBuffer(frame)) s.ws.send(frame, { binary: true });
  else s.send(frame);
  return s.waitForFrameFrom(type, mark);
}

/** The socket still works: a ping gets a pong. */
async function stillOpen(s: ProbeSocket): Promise<void> {
  expect(await answer(s, { type: 'ping' }, 'pong')).toEqual({ type: 'pong' });
  expect(s.closedWith).toBeUndefined();
}

/** Counts the WebSocket pings the server sends to a client's socket from now on. */
function countPings(c: RecordingClient): { count: number } {
  const pings = { count: 0 };
  (c.client as unknown as { ws: { on(event: 'ping', fn: () => void): void } }).ws.on('ping', () => pings.count++);
  return pings;
}

describe('refused frames', () => {
  let t: TestService;
  let s: ProbeSocket;
  beforeAll(async () => {
    t = await start({ PMQ_WS_MAX_FRAME_BYTES: '1024' });
    s = await rawUser(t, 'fuzzer');
  });

  const cases: [string, unknown, { code: string; field?: string }][] = [
    ['malformed JSON', '{"type": "ping"', { code: 'bad_frame' }],
    ['a JSON array', '[{"type":"ping"}]', { code: 'bad_frame' }],
    ['a JSON string', '"ping"', { code: 'bad_frame' }],
    ['JSON null', 'null', { code: 'bad_frame' }],
    ['a binary frame', Buffer.from('{"type":"ping"}'), { code: 'bad_frame' }],
    ['an unknown type', { type: 'subscribe', channel: 'x' }, { code: 'unknown_type', field: 'type' }],
    ['no type', { ids: ['a'] }, { code: 'unknown_type', field: 'type' }],
    ['a type that is not a string', { type: 7 }, { code: 'unknown_type', field: 'type' }],
    ['ack with ids not an array', { type: 'ack', ids: 'm-1' }, { code: 'invalid_frame', field: 'ids' }],
    ['ack without ids', { type: 'ack' }, { code: 'invalid_frame', field: 'ids' }],
    ['ack with no ids', { type: 'ack', ids: [] }, { code: 'invalid_frame', field: 'ids' }],
    ['ack with an id of bad characters', { type: 'ack', ids: ['m-1', 'bad id!'] }, { code: 'invalid_frame', field: 'ids[1]' }],
    ['ack with an id that is not a string', { type: 'ack', ids: [42] }, { code: 'invalid_frame', field: 'ids[0]' }],
    ['read with both ids and category', { type: 'read', ids: ['m-1'], category: 'comment' }, { code: 'invalid_frame', field: 'category' }],
    ['read with a bad category', { type: 'read', category: 'Not A Category' }, { code: 'invalid_frame', field: 'category' }],
    ['an unknown field', { type: 'ping', extra: true }, { code: 'invalid_frame', field: 'extra' }],
    ['an unknown field on pull', { type: 'pull', limit: 5 }, { code: 'invalid_frame', field: 'limit' }],
    ['auth with a token that is not a string', { type: 'auth', token: 5 }, { code: 'invalid_frame', field: 'token' }],
  ];

  it.each(cases)('%s gets an error frame and the socket stays open', async (_what, frame, expected) => {
    const e = await answer(s, frame);
    expect(e).toEqual({ type: 'error', message: expect.any(String), ...expected });
    expect((e.message as string).length).toBeGreaterThan(5);
    if (expected.field !== undefined) expect(e.message).toContain(expected.field);
    await stillOpen(s);
  });

  it('the same before authentication: the frame is refused for what it is', async () => {
    const anon = await openSocket(wsUrl(t));
    sockets.push(anon);
    expect(await answer(anon, 'nope')).toMatchObject({ code: 'bad_frame' });
    expect(await answer(anon, { type: 'ack', ids: 'x' })).toMatchObject({ code: 'invalid_frame', field: 'ids' });
    anon.send({ type: 'auth', token: await mintToken(t, 'late') });
    expect(await anon.waitForFrame('hello')).toMatchObject({ uid: 'late' });
  });

  it('a frame just under PMQ_WS_MAX_FRAME_BYTES is read', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `id-${String(i).padStart(10, '0')}`);
    const frame = JSON.stringify({ type: 'ack', ids });
    expect(frame.length).toBeLessThan(1024);
    const errors = s.framesOf('error').length;
    s.send(frame);
    await stillOpen(s);
    expect(s.framesOf('error')).toHaveLength(errors);
  });

  it('a frame over PMQ_WS_MAX_FRAME_BYTES closes the socket with 1009', async () => {
    const big = await rawUser(t, 'big');
    big.send({ type: 'ack', ids: Array.from({ length: 100 }, (_, i) => `id-${String(i).padStart(10, '0')}`) });
    expect((await big.closed).code).toBe(1009);
    // Only that socket.
    await stillOpen(s);
  });
});

describe('floods', () => {
  const RATE = 5;
  let t: TestService;
  beforeAll(async () => {
    t = await start({ PMQ_WS_FRAMES_PER_SECOND: String(RATE) });
  });

  it('a burst over the rate gets one `rate_limited` error; the socket stays open', async () => {
    const s = await rawUser(t, 'bursty');
    for (let i = 0; i < RATE * 2 + 3; i++) s.send({ type: 'ping' });
    const e = await s.waitForFrame('error');
    expect(e).toEqual({ type: 'error', code: 'rate_limited', message: expect.any(String) });
    // Every answer to the burst came before the answer to a marker sent after it.
    await s.roundTrip();
    // The burst allowance went through, the rest was dropped with one error.
    expect(s.framesOf('pong').length).toBeGreaterThanOrEqual(RATE * 2);
    expect(s.framesOf('pong').length).toBeLessThan(RATE * 2 + 3);
    expect(s.framesOf('error')).toHaveLength(1);
    // Still served once the bucket has refilled: pings until one is answered.
    const mark = s.frames.length;
    await waitFor(
      () => {
        s.send({ type: 'ping' });
        return s.frames.slice(mark).some((f) => f.type === 'pong');
      },
      5000,
      'a pong once the bucket refilled',
    );
    expect(s.closedWith).toBeUndefined();
  });

  it('a sustained flood closes the socket with 1008; other users on the node are still served', async () => {
    const other = await recordingUser(t, 'bystander');
    const s = await rawUser(t, 'flooder');
    const flood = setInterval(() => {
      if (s.ws.readyState === s.ws.OPEN) for (let i = 0; i < 20; i++) s.send({ type: 'ping' });
    }, 10);
    try {
      const posted = await t.http('POST', '/v1/events', { body: { id: 'during-flood', type: 'notice', to: 'bystander' } });
      expect(posted.status).toBe(202);
      const [m] = await other.waitForMessages(1, 5000);
      expect(m).toMatchObject({ id: 'during-flood' });
      expect((await s.closed).code).toBe(1008);
    } finally {
      clearInterval(flood);
    }
    expect(s.framesOf('error').map((e) => e.code)).toEqual(['rate_limited']);
    expect(other.closes).toEqual([]);
    expect(other.client.connected).toBe(true);
  });
});

describe('heartbeat', () => {
  const HEARTBEAT_MS = 200;
  let t: TestService;
  beforeAll(async () => {
    t = await start({ PMQ_HEARTBEAT_MS: String(HEARTBEAT_MS) });
  });

  it('says heartbeat_ms in hello, and answers an app-level ping with pong', async () => {
    const s = await rawUser(t, 'pinger');
    expect(s.framesOf('hello')[0]).toMatchObject({ heartbeat_ms: HEARTBEAT_MS });
    await stillOpen(s);
  });

  it('terminates a socket that misses two pings; a client that answers stays', async () => {
    const good = await recordingUser(t, 'alive');
    const before = t.service.gateway!.connections;
    const startedAt = Date.now();
    const mute = await rawUser(t, 'mute', { autoPong: false });
    expect((await mute.closed).code).toBe(1006);
    const took = mute.closedWith!.at - startedAt;
    expect(mute.pings).toBeGreaterThanOrEqual(2);
    expect(took).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS);
    expect(took).toBeLessThan(10 * HEARTBEAT_MS);
    // The server let it go too.
    await waitFor(() => t.service.gateway!.connections === before, 2000, 'the mute socket gone from the node');

    // Well past that (eight more pings), the answering client is still there and served.
    const pings = countPings(good);
    const from = pings.count;
    await waitFor(() => good.closes.length > 0 || pings.count >= from + 8, 10_000, 'eight more pings to the answering client');
    expect(good.closes).toEqual([]);
    expect(good.client.connected).toBe(true);
    await t.http('POST', '/v1/events', { body: { id: 'still-here', type: 'notice', to: 'alive' } });
    expect((await good.waitForMessages(1, 5000))[0]).toMatchObject({ id: 'still-here' });
  });

  it('a socket that sends frames but no pongs is kept: any frame counts as alive', async () => {
    const chatty = await rawUser(t, 'chatty', { autoPong: false });
    const talk = setInterval(() => chatty.send({ type: 'ping' }), HEARTBEAT_MS / 2);
    try {
      // Six pings unanswered: a socket that missed two would have been dropped long before.
      await waitFor(() => chatty.closedWith !== undefined || chatty.pings >= 6, 10_000, 'six pings to the chatty socket');
      expect(chatty.closedWith).toBeUndefined();
    } finally {
      clearInterval(talk);
    }
    expect((await chatty.closed).code).toBe(1006);
  });
});

describe('a client that stops reading', () => {
  const MAX_BUFFER = 2048;
  const BODY = 'x'.repeat(6000);
  let t: TestService;
  beforeAll(async () => {
    t = await start({
      PMQ_WS_MAX_BUFFER_BYTES: String(MAX_BUFFER),
      // The client reads what is buffered before the close frame in this very
      // process; on a loaded machine that takes longer than the default 2 s.
      PMQ_WS_SLOW_CLOSE_GRACE_MS: '20000',
      PMQ_MAX_BODY_BYTES: String(4 * 1024 * 1024),
      PMQ_ACK_TIMEOUT_MS: '60000',
    });
  });

  it('is closed with 1013 once its send buffer passes the bound; the node serves the others', async () => {
    const other = await recordingUser(t, 'reader');
    const before = t.service.gateway!.connections;
    const slow = await rawUser(t, 'sleeper');
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();

    // About 15 MB for a reader that reads nothing: more than the kernel's buffers take.
    const BATCHES = 6;
    const PER_BATCH = 400;
    for (let b = 0; b < BATCHES; b++) {
      const events = Array.from({ length: PER_BATCH }, (_, i) => ({ id: `big-${b}-${i}`, type: 'notice', to: 'sleeper', body: BODY }));
      expect((await t.http('POST', '/v1/events', { body: { events } })).status).toBe(202);
    }
    // The node closes it (and counts it) once the buffer passes the bound. The
    // close frame waits behind what the client has not read; a client that does
    // not read it within the grace is dropped without it, so it reads again at once.
    await waitFor(
      async () => /pmq_ws_server_closes_total\{code="1013"\} 1\b/.test((await t.http('GET', '/metrics', { auth: null })).body as string),
      20_000,
      'the slow reader closed',
    );
    socket.resume();
    expect((await slow.closed).code).toBe(1013);
    await drained(t);

    // Meanwhile the node pushes to the others.
    await t.http('POST', '/v1/events', { body: { id: 'for-reader', type: 'notice', to: 'reader' } });
    expect((await other.waitForMessages(1, 5000))[0]).toMatchObject({ id: 'for-reader' });

    // Reading again, the client found what had fit in the buffers, then the close.
    const got = slow.framesOf('message').length;
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(BATCHES * PER_BATCH);
    await waitFor(() => t.service.gateway!.connections === before, 5000, 'the slow socket gone from the node');
    expect(other.closes).toEqual([]);

    // It comes back and resumes: what it missed is still pending.
    const back = await rawUser(t, 'sleeper');
    expect(back.framesOf('hello')[0]).toMatchObject({ uid: 'sleeper' });
    await waitFor(() => back.framesOf('message').length > 0, 5000, 'the backlog again');
  });
});
