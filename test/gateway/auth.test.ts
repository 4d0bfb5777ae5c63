// Who may open a socket on /ws, over real sockets, real HTTP and real Redis: PMQ
// tokens (bad, expired, late), main-site tokens resolved through PMQ_AUTH_URL
// (single flight, cache with jitter, negative cache, the main site down), the
// Origin allow-list and the upgrade path. Each case asserts what a client sees.
import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, wsUrl } from '../helpers/ws-client.js';
import { deadUrl, openSocket, refusedUpgrade, startMainSite, type MainSite, type ProbeSocket } from '../helpers/ws-raw.js';

const sockets: ProbeSocket[] = [];
const services: TestService[] = [];

async function start(opts: Parameters<typeof startTestService>[0]): Promise<TestService> {
  const t = await startTestService(opts);
  services.push(t);
  return t;
}

afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await Promise.all(services.map((t) => t.stop()));
});

/** A socket on /ws, authenticated by `?token=` when `token` is given. */
async function open(t: TestService, token?: string, headers: Record<string, string> = {}): Promise<ProbeSocket> {
  const url = token === undefined ? wsUrl(t) : `${wsUrl(t)}?token=${encodeURIComponent(token)}`;
  const s = await openSocket(url, { headers });
  sockets.push(s);
  return s;
}

/** Authenticates by URL or by the first frame; resolves with the socket. */
async function connectWith(t: TestService, how: 'url' | 'frame', token: string): Promise<ProbeSocket> {
  if (how === 'url') return open(t, token);
  const s = await open(t);
  s.send({ type: 'auth', token });
  return s;
}

/** A JWT that looks like PMQ's but is signed with another secret. */
function foreignToken(uid: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ kind: 'user' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('pmq')
    .setSubject(uid)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode('another-secret-another-secret-0123456789'));
}

const HOW = ['url', 'frame'] as const;

describe('PMQ tokens', () => {
  const clock = new ManualClock();
  let t: TestService;
  beforeAll(async () => {
    t = await start({ roles: ['api', 'gateway'], clock, env: { PMQ_WS_AUTH_TIMEOUT_MS: '300' } });
  });

  it.each(HOW)('a good token by %s gets hello with its uid', async (how) => {
    const s = await connectWith(t, how, await mintToken(t, `good-${how}`));
    expect(await s.waitForFrame('hello')).toMatchObject({ uid: `good-${how}`, node: t.config.nodeId });
  });

  it.each(HOW)('a garbage token by %s is closed with 4401', async (how) => {
    const s = await connectWith(t, how, 'not-a-token');
    expect((await s.closed).code).toBe(4401);
    expect(s.framesOf('hello')).toEqual([]);
  });

  it.each(HOW)('a token signed with another secret, by %s, is closed with 4401', async (how) => {
    const s = await connectWith(t, how, await foreignToken('mallory'));
    expect((await s.closed).code).toBe(4401);
    expect(s.framesOf('hello')).toEqual([]);
  });

  it.each(HOW)('an expired token by %s is closed with 4402', async (how) => {
    const token = await mintToken(t, `exp-${how}`, 60);
    clock.advance(59_000);
    const fresh = await connectWith(t, how, token);
    await fresh.waitForFrame('hello');
    clock.advance(2_000);
    const s = await connectWith(t, how, token);
    expect((await s.closed).code).toBe(4402);
    expect(s.framesOf('hello')).toEqual([]);
  });

  it('a socket with no auth frame within PMQ_WS_AUTH_TIMEOUT_MS is closed with 4408', async () => {
    const startedAt = Date.now();
    const s = await open(t);
    expect((await s.closed).code).toBe(4408);
    const took = s.closedWith!.at - startedAt;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3000);
  });

  it('frames before auth get `unauthenticated`; a second auth gets `already_authenticated`', async () => {
    const s = await open(t);
    s.send({ type: 'ping' });
    s.send({ type: 'pull' });
    await waitFor(() => s.framesOf('error').length >= 2, 5000, 'two error frames');
    expect(s.framesOf('error')).toEqual([
      { type: 'error', code: 'unauthenticated', message: expect.any(String) },
      { type: 'error', code: 'unauthenticated', message: expect.any(String) },
    ]);
    expect(s.framesOf('pong')).toEqual([]);

    const token = await mintToken(t, 'twice');
    s.send({ type: 'auth', token });
    expect(await s.waitForFrame('hello')).toMatchObject({ uid: 'twice' });
    const mark = s.frames.length;
    s.send({ type: 'auth', token: await mintToken(t, 'someone-else') });
    expect(await s.waitForFrameFrom('error', mark)).toEqual({ type: 'error', code: 'already_authenticated', message: expect.any(String) });
    // Still open, still the first user.
    s.send({ type: 'ping' });
    await s.waitForFrameFrom('pong', mark);
    expect(s.framesOf('hello')).toHaveLength(1);
    expect(s.closedWith).toBeUndefined();
  });

  it('an authenticated socket outlives the auth timeout', async () => {
    const s = await connectWith(t, 'frame', await mintToken(t, 'stays'));
    await s.waitForFrame('hello');
    // A socket opened after it and never authenticated is closed for the timeout:
    // the timeout of the first one has passed too.
    const late = await open(t);
    expect((await late.closed).code).toBe(4408);
    s.send({ type: 'ping' });
    await s.waitForFrame('pong');
    expect(s.closedWith).toBeUndefined();
  });

  it('an upgrade on another path than /ws is refused with 404', async () => {
    expect(await refusedUpgrade(t.url.replace('http', 'ws') + '/socket')).toBe(404);
    expect(await refusedUpgrade(t.url.replace('http', 'ws') + '/ws/x')).toBe(404);
  });
});

describe('main-site tokens through PMQ_AUTH_URL', () => {
  const CACHE_S = 100;
  const JITTER_S = 1000;
  const NEGATIVE_S = 30;
  const AUTH_TIMEOUT_MS = 800;
  let site: MainSite;
  let t: TestService;
  /** Tokens the main site answers with 500 for now. */
  const failing = new Set<string>();

  beforeAll(async () => {
    site = await startMainSite((token) => {
      if (failing.has(token)) return { status: 500 };
      const [kind, uid] = token.split('~') as [string, string | undefined];
      if (uid === undefined) return { status: 401 };
      if (kind === 'ok') return { status: 200, uid };
      if (kind === 'slow') return { status: 200, uid, delayMs: 500 };
      if (kind === 'hang') return 'hang';
      if (kind === 'drop') return 'drop';
      return { status: 401 };
    });
    t = await start({
      roles: ['api', 'gateway', 'worker'],
      env: {
        PMQ_AUTH_URL: site.url,
        PMQ_AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS),
        PMQ_AUTH_CACHE_SECONDS: String(CACHE_S),
        PMQ_AUTH_CACHE_JITTER_SECONDS: String(JITTER_S),
        PMQ_AUTH_NEGATIVE_SECONDS: String(NEGATIVE_S),
        PMQ_WS_AUTH_TIMEOUT_MS: '300',
        // alice's 20 sockets below stay open while later cases open more of hers
        PMQ_WS_MAX_SOCKETS_PER_USER: '100',
      },
    });
  });
  afterAll(async () => {
    await site.close();
  });

  const cacheKey = (token: string) => t.service.ctx.keys.authCache(createHash('sha256').update(token).digest('base64url'));

  it('20 concurrent sockets with one token: all get hello, the main site sees one call', async () => {
    const token = 'ok~alice';
    const startedAt = Date.now();
    const socks = await Promise.all(Array.from({ length: 20 }, () => open(t)));
    for (const s of socks) s.send({ type: 'auth', token });
    const hellos = await Promise.all(socks.map((s) => s.waitForFrame('hello')));
    for (const h of hellos) expect(h).toMatchObject({ type: 'hello', uid: 'alice' });
    expect(site.callsFor(token)).toBe(1);

    // Cached in Redis under the token's hash, for the base plus 1 .. jitter seconds.
    const redis = t.service.ctx.redis;
    expect(await redis.get(cacheKey(token))).toBe('alice');
    const pttl = await redis.pttl(cacheKey(token));
    expect(pttl).toBeLessThanOrEqual((CACHE_S + JITTER_S) * 1000);
    expect(pttl).toBeGreaterThanOrEqual((CACHE_S + 1) * 1000 - (Date.now() - startedAt));
  });

  it('a later socket with a cached token makes no call, by URL or by frame', async () => {
    const token = 'ok~later';
    await (await open(t, token)).waitForFrame('hello');
    expect(site.callsFor(token)).toBe(1);
    for (const how of HOW) {
      const s = await connectWith(t, how, token);
      expect(await s.waitForFrame('hello')).toMatchObject({ uid: 'later' });
    }
    expect(site.callsFor(token)).toBe(1);
  });

  it('the cache TTLs of many tokens are jittered within base+1 .. base+jitter', async () => {
    const startedAt = Date.now();
    const tokens = Array.from({ length: 20 }, (_, i) => `ok~jit${i}`);
    const socks = await Promise.all(tokens.map((tok) => open(t, tok)));
    const hellos = await Promise.all(socks.map((s) => s.waitForFrame('hello')));
    expect(hellos.map((h) => h.uid)).toEqual(tokens.map((tok) => tok.split('~')[1]));
    const ttls = await Promise.all(tokens.map((tok) => t.service.ctx.redis.pttl(cacheKey(tok))));
    const elapsed = Date.now() - startedAt;
    for (const ms of ttls) {
      expect(ms).toBeLessThanOrEqual((CACHE_S + JITTER_S) * 1000);
      expect(ms).toBeGreaterThanOrEqual((CACHE_S + 1) * 1000 - elapsed);
    }
    // Spread out, not one shared expiry (20 draws from 1000 values).
    expect(new Set(ttls.map((ms) => Math.round(ms / 1000))).size).toBeGreaterThan(10);
  });

  it('an unknown token is closed with 4401, and remembered: a retry makes no call', async () => {
    const token = 'who-knows';
    const first = await connectWith(t, 'frame', token);
    expect((await first.closed).code).toBe(4401);
    expect(site.callsFor(token)).toBe(1);
    expect(await t.service.ctx.redis.get(cacheKey(token))).toBe('');
    const pttl = await t.service.ctx.redis.pttl(cacheKey(token));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(NEGATIVE_S * 1000);

    for (const how of HOW) {
      const again = await connectWith(t, how, token);
      expect((await again.closed).code).toBe(4401);
    }
    expect(site.callsFor(token)).toBe(1);
  });

  it('an answer slower than PMQ_WS_AUTH_TIMEOUT_MS still authenticates an auth frame sent in time', async () => {
    const s = await connectWith(t, 'frame', 'slow~sloth');
    expect(await s.waitForFrame('hello')).toMatchObject({ uid: 'sloth' });
    expect(s.closedWith).toBeUndefined();
  });

  it('a second auth frame while the first is being checked is refused, not authenticated twice', async () => {
    const s = await open(t);
    s.send({ type: 'auth', token: 'slow~eager' });
    s.send({ type: 'auth', token: 'ok~intruder' });
    expect(await s.waitForFrame('error')).toMatchObject({ code: 'already_authenticated' });
    expect(await s.waitForFrame('hello')).toMatchObject({ uid: 'eager' });
    // Still the first user's socket, answering in order: a ping sent now gets its pong after anything the second auth brought.
    const mark = s.frames.length;
    s.send({ type: 'ping' });
    await s.waitForFrameFrom('pong', mark);
    expect(s.framesOf('hello')).toHaveLength(1);
    expect(site.callsFor('ok~intruder')).toBe(0);
  });

  describe('the main site down', () => {
    let bob: ProbeSocket;
    beforeAll(async () => {
      bob = await open(t, await mintToken(t, 'bob'));
      await bob.waitForFrame('hello');
    });

    /** bob, connected before, still gets pongs and pushes. */
    async function bobIsServed(id: string): Promise<void> {
      const mark = bob.frames.length;
      bob.send({ type: 'ping' });
      await bob.waitForFrameFrom('pong', mark);
      expect((await t.http('POST', '/v1/events', { body: { id, type: 'notice', to: 'bob' } })).status).toBe(202);
      expect(await bob.waitForFrameFrom('message', mark)).toMatchObject({ id });
      // And a new user gets in with a PMQ token.
      const carol = await open(t, await mintToken(t, 'carol'));
      expect(await carol.waitForFrame('hello')).toMatchObject({ uid: 'carol' });
      carol.ws.close();
    }

    it.each(HOW)('an answer of 500 closes a socket by %s with 4503, and is not cached', async (how) => {
      const token = `ok~flaky-${how}`;
      failing.add(token);
      const startedAt = Date.now();
      const s = await connectWith(t, how, token);
      expect((await s.closed).code).toBe(4503);
      expect(s.closedWith!.at - startedAt).toBeLessThan(2000);
      expect(await t.service.ctx.redis.exists(cacheKey(token))).toBe(0);
      await bobIsServed(`down-500-${how}`);
      // Back up: the same token now works.
      failing.delete(token);
      const again = await connectWith(t, how, token);
      expect(await again.waitForFrame('hello')).toMatchObject({ uid: `flaky-${how}` });
      expect(site.callsFor(token)).toBe(2);
    });

    it.each(HOW)('no answer within PMQ_AUTH_TIMEOUT_MS closes a socket by %s with 4503, promptly', async (how) => {
      const startedAt = Date.now();
      const s = await connectWith(t, how, `hang~h-${how}`);
      await bobIsServed(`down-hang-${how}`);
      expect((await s.closed).code).toBe(4503);
      const took = s.closedWith!.at - startedAt;
      expect(took).toBeGreaterThanOrEqual(AUTH_TIMEOUT_MS - 100);
      expect(took).toBeLessThan(AUTH_TIMEOUT_MS + 1500);
      expect(s.framesOf('hello')).toEqual([]);
    });

    it('a connection dropped by the main site closes the socket with 4503', async () => {
      const s = await connectWith(t, 'frame', 'drop~d');
      expect((await s.closed).code).toBe(4503);
      await bobIsServed('down-drop');
    });

    it('a main site that does not listen at all: 4503, promptly', async () => {
      const dead = await start({
        roles: ['api', 'gateway'],
        env: { PMQ_AUTH_URL: await deadUrl(), PMQ_AUTH_TIMEOUT_MS: '300' },
      });
      const startedAt = Date.now();
      const s = await connectWith(dead, 'frame', 'ok~nobody');
      expect((await s.closed).code).toBe(4503);
      expect(s.closedWith!.at - startedAt).toBeLessThan(2000);
      // PMQ tokens still work there.
      const ok = await connectWith(dead, 'frame', await mintToken(dead, 'pmq-user'));
      expect(await ok.waitForFrame('hello')).toMatchObject({ uid: 'pmq-user' });
    });
  });
});

describe('the Origin allow-list', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await start({ roles: ['api', 'gateway'], env: { PMQ_WS_ORIGINS: 'https://ok.example, https://also.example' } });
  });

  it('refuses an upgrade from another origin with 403', async () => {
    const token = await mintToken(t, 'o1');
    expect(await refusedUpgrade(`${wsUrl(t)}?token=${token}`, { origin: 'https://evil.example' })).toBe(403);
    expect(await refusedUpgrade(`${wsUrl(t)}?token=${token}`, { origin: 'https://ok.example.evil.example' })).toBe(403);
  });

  it('the ws client sees the refusal as an error, not a socket', async () => {
    await expect(openSocket(wsUrl(t), { headers: { origin: 'https://evil.example' } })).rejects.toThrow(/403/);
  });

  it('takes an upgrade from an allowed origin', async () => {
    for (const origin of ['https://ok.example', 'https://also.example']) {
      const s = await open(t, await mintToken(t, 'o2'), { origin });
      expect(await s.waitForFrame('hello')).toMatchObject({ uid: 'o2' });
    }
  });

  it('takes a client that sends no Origin (an app, not a browser page)', async () => {
    const s = await open(t, await mintToken(t, 'o3'), {});
    expect(await s.waitForFrame('hello')).toMatchObject({ uid: 'o3' });
  });
});

describe('the store unreachable while authenticating', () => {
  it('closes the socket with 1011 instead of crashing the node or leaving it half open', async () => {
    const t = await start({ roles: ['api', 'gateway'] });
    const token = await mintToken(t, 'stranded');
    // This service's own command connection goes away (the run's Redis stays up).
    t.service.ctx.redis.disconnect();
    for (const how of HOW) {
      const s = await connectWith(t, how, token);
      expect((await s.closed).code).toBe(1011);
      expect(s.framesOf('hello')).toEqual([]);
    }
  });
});
