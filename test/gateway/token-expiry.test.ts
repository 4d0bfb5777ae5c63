// A socket lives no longer than what let it in: a PMQ token until its `exp`, a
// main-site token until its cached resolution ends. Then it is closed with 4402
// (at the next heartbeat visit), and the client authenticates again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, wsUrl } from '../helpers/ws-client.js';
import { openSocket, startMainSite, type MainSite, type ProbeSocket } from '../helpers/ws-raw.js';

const HEARTBEAT_MS = 200;
const sockets: ProbeSocket[] = [];
afterAll(() => {
  for (const s of sockets) s.ws.terminate();
});

async function connect(t: TestService, how: 'url' | 'frame', token: string): Promise<ProbeSocket> {
  const s = await openSocket(how === 'url' ? `${wsUrl(t)}?token=${encodeURIComponent(token)}` : wsUrl(t));
  sockets.push(s);
  if (how === 'frame') s.send({ type: 'auth', token });
  await s.waitForFrame('hello');
  return s;
}

/** Waits until the server has pinged `s` `rounds` more times: that many heartbeat rounds went by. */
async function heartbeats(s: ProbeSocket, rounds: number): Promise<void> {
  const from = s.pings;
  await waitFor(() => s.pings >= from + rounds, 10_000, `${rounds} heartbeat rounds`);
}

/** A ping frame answered: the socket is open and served. */
async function answers(s: ProbeSocket): Promise<void> {
  const from = s.frames.length;
  s.send({ type: 'ping' });
  await s.waitForFrameFrom('pong', from);
}

describe('a PMQ token', () => {
  const clock = new ManualClock();
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ roles: ['api', 'gateway'], clock, env: { PMQ_HEARTBEAT_MS: String(HEARTBEAT_MS) } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it.each(['url', 'frame'] as const)('closes its socket (%s) with 4402 once it expires, not before', async (how) => {
    const token = await mintToken(t, `exp-${how}`, 120);
    const s = await connect(t, how, token);
    const other = await connect(t, how, await mintToken(t, `exp-${how}-long`, 3600));

    clock.advance(119_000);
    await heartbeats(s, 2);
    expect(s.closedWith).toBeUndefined();
    await answers(s);

    clock.advance(1_000);
    const closed = await waitFor(() => s.closedWith, 5000, 'the close');
    expect(closed.code).toBe(4402);
    expect(closed.reason).toMatch(/expired/);
    // The user's other socket, on a token still valid, stays.
    await heartbeats(other, 2);
    await answers(other);
    expect(other.closedWith).toBeUndefined();
  });
});

describe('a main-site token', () => {
  let site: MainSite;
  let t: TestService;
  beforeAll(async () => {
    site = await startMainSite((token) => (token.startsWith('site-') ? { status: 200, uid: token.slice(5) } : { status: 401 }));
    // A resolution cached for 2 s (1 s, plus the one second every entry gets, no jitter).
    t = await startTestService({
      roles: ['api', 'gateway'],
      env: {
        PMQ_AUTH_URL: site.url,
        PMQ_AUTH_CACHE_SECONDS: '1',
        PMQ_AUTH_CACHE_JITTER_SECONDS: '0',
        PMQ_HEARTBEAT_MS: String(HEARTBEAT_MS),
      },
    });
  });
  afterAll(async () => {
    await t.stop();
    await site.close();
  });

  it('closes its sockets with 4402 when the cached resolution ends; the main site is asked again at the reconnect', async () => {
    const token = 'site-carol';
    const first = await connect(t, 'frame', token); // resolved by the main site
    const second = await connect(t, 'url', token); // from the cache
    expect(site.callsFor(token)).toBe(1);

    for (const s of [first, second]) {
      const closed = await waitFor(() => s.closedWith, 10_000, 'the close');
      expect(closed.code).toBe(4402);
    }
    const again = await connect(t, 'frame', token);
    expect(site.callsFor(token)).toBe(2);
    await answers(again);
  });
});
