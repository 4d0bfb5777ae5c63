// The flood close: a socket that stays well over its frame rate for a few seconds
// is closed with 1008; one that bursts once, or keeps to its rate, is not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, wsUrl } from '../helpers/ws-client.js';
import { openSocket, type ProbeSocket } from '../helpers/ws-raw.js';

const RATE = 20;
let t: TestService;
const sockets: ProbeSocket[] = [];
const timers: NodeJS.Timeout[] = [];

beforeAll(async () => {
  t = await startTestService({ roles: ['api', 'gateway'], env: { PMQ_WS_FRAMES_PER_SECOND: String(RATE) } });
});
afterAll(async () => {
  for (const timer of timers) clearInterval(timer);
  for (const s of sockets) s.ws.terminate();
  await t.stop();
});

async function user(uid: string): Promise<ProbeSocket> {
  const s = await openSocket(`${wsUrl(t)}?token=${await mintToken(t, uid)}`);
  sockets.push(s);
  await s.waitForFrame('hello');
  return s;
}

/** Sends `perTick` pings every `everyMs` while the socket is open. */
function pinging(s: ProbeSocket, perTick: number, everyMs: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    if (s.ws.readyState === s.ws.OPEN) for (let i = 0; i < perTick; i++) s.send({ type: 'ping' });
  }, everyMs);
  timers.push(timer);
  return timer;
}

async function answersPing(s: ProbeSocket): Promise<void> {
  const mark = s.frames.length;
  s.send({ type: 'ping' });
  expect(await s.waitForFrameFrom('pong', mark)).toEqual({ type: 'pong' });
  expect(s.closedWith).toBeUndefined();
}

describe('a socket over its frame rate', () => {
  it('is closed with 1008 when it floods at 10x its rate; one at its rate and one that burst once stay open', async () => {
    const steady = await user('steady');
    const bursty = await user('bursty');
    const flooder = await user('flooder');

    // At its rate, from start to end.
    pinging(steady, 1, 1000 / RATE);
    // Five times the rate at once, then half the rate.
    for (let i = 0; i < RATE * 5; i++) bursty.send({ type: 'ping' });
    pinging(bursty, 1, 2000 / RATE);
    // Ten times the rate, for as long as it is let.
    const startedAt = Date.now();
    pinging(flooder, RATE / 10, 10);

    const closed = await waitFor(() => flooder.closedWith, 15_000, 'the flooder closed');
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/too many frames/);
    // Not at its first frames over the rate: it stayed over it for a while.
    expect(closed.at - startedAt).toBeGreaterThan(1000);
    // It was told once, and served at its rate meanwhile.
    expect(flooder.framesOf('error').map((e) => e.code)).toEqual(['rate_limited']);
    expect(flooder.framesOf('pong').length).toBeGreaterThan(RATE * 2);

    // The burst was cut (one error), and neither of the others was closed.
    expect(bursty.framesOf('error').map((e) => e.code)).toEqual(['rate_limited']);
    expect(steady.framesOf('error')).toEqual([]);
    await answersPing(bursty);
    await answersPing(steady);
  });
});
