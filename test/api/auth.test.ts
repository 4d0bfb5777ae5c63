// Who may call what, over real HTTP: the API key (the main site) everywhere, a
// user's PMQ token on that user's own routes only, and nothing else at all. The
// main site mints tokens for its users and for registered agents, never for the
// ids PMQ hands out itself (anonymous chat visitors).
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { API_KEY, TOKEN_SECRET, startTestService, type TestService } from '../helpers/service.js';

const clock = new ManualClock();
let t: TestService;
beforeAll(async () => {
  // The api role alone: these tests read and write no events, and the clock is
  // the service's own, so that tokens expire when the test says so.
  t = await startTestService({ roles: ['api'], clock });
});
afterAll(async () => {
  await t.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { status: number; body: any };

/** The one error shape, exactly (so nothing else, no token, came with it). */
function expectError(r: Answer, status: number, code: string, field?: string): void {
  expect(r.body, JSON.stringify(r.body)).toEqual({ error: { code, message: expect.any(String), ...(field !== undefined && { field }) } });
  expect(r.status).toBe(status);
  expect(r.body.error.message.length).toBeGreaterThan(5);
  if (field !== undefined) expect(r.body.error.message).toContain(field);
}

async function mint(uid: string, ttl?: number): Promise<string> {
  const r = await t.http('POST', '/v1/tokens', { body: { uid, ...(ttl !== undefined && { ttl }) } });
  expect(r.status).toBe(201);
  expect(r.body).toEqual({ uid, token: expect.any(String), expires_at: expect.any(String) });
  return r.body.token;
}

/** A token made here, not by PMQ: right or wrong secret, any claims. */
async function forge(
  claims: Record<string, unknown>,
  opts: { secret?: string; sub?: string; iss?: string; ttl?: number } = {},
): Promise<string> {
  const now = Math.floor(clock.now() / 1000);
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(now);
  if (opts.iss !== '') jwt = jwt.setIssuer(opts.iss ?? 'pmq');
  if (opts.sub !== '') jwt = jwt.setSubject(opts.sub ?? 'alice');
  if (opts.ttl !== 0) jwt = jwt.setExpirationTime(now + (opts.ttl ?? 3600));
  return jwt.sign(new TextEncoder().encode(opts.secret ?? TOKEN_SECRET));
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const partsOf = (token: string) => token.split('.') as [string, string, string];
const payloadOf = (token: string) => JSON.parse(Buffer.from(partsOf(token)[1], 'base64url').toString()) as Record<string, unknown>;

/** Every route a user token may use, for `uid`. */
const userRoutes = (uid: string) =>
  [
    ['GET', `/v1/users/${uid}/unread`, undefined],
    ['POST', `/v1/users/${uid}/read`, { category: 'comment' }],
    ['GET', `/v1/users/${uid}/messages?limit=5`, undefined],
    ['POST', `/v1/users/${uid}/ack`, { ids: ['m-1'] }],
  ] as const;

/** Every route of the service that takes credentials. */
const allRoutes = [
  ...userRoutes('alice'),
  ['POST', '/v1/events', { id: 'auth-e1', type: 'comment', to: 'alice', from: 'bob' }],
  ['POST', '/v1/tokens', { uid: 'alice' }],
] as const;

describe('without valid credentials', () => {
  it('answers 401 unauthorized without an Authorization header, on every route', async () => {
    for (const [method, path, body] of allRoutes) {
      const res = await fetch(t.url + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const r = { status: res.status, body: await res.json() };
      expectError(r, 401, 'unauthorized');
      expect(r.body.error.message).toMatch(/Authorization: Bearer/);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('answers 401 to a wrong API key, on every route', async () => {
    for (const key of ['wrong-key', `${API_KEY}x`, API_KEY.slice(0, -1), API_KEY.toUpperCase(), 'x'.repeat(5000)]) {
      for (const [method, path, body] of allRoutes) {
        expectError(await t.http(method, path, { body, auth: key }), 401, 'unauthorized');
      }
    }
  });

  it('answers 401 to a malformed Authorization header', async () => {
    const headers = [
      API_KEY, // no scheme
      `Basic ${Buffer.from(`user:${API_KEY}`).toString('base64')}`,
      `Token ${API_KEY}`,
      'Bearer',
      'Bearer ',
      `Bearer ${API_KEY} extra`,
      `Bearer${API_KEY}`,
      `Bearer "${API_KEY}"`,
      `Bearer ${API_KEY},Bearer ${API_KEY}`,
    ];
    for (const authorization of headers) {
      for (const [method, path, body] of allRoutes) {
        const r = await t.http(method, path, { body, auth: null, headers: { authorization } });
        expectError(r, 401, 'unauthorized');
      }
    }
  });

  it('answers 401 before looking at the body', async () => {
    for (const path of ['/v1/events', '/v1/tokens', '/v1/users/alice/read']) {
      expectError(await t.http('POST', path, { auth: null, raw: '{not json' }), 401, 'unauthorized');
      expectError(await t.http('POST', path, { auth: 'wrong', raw: 'x'.repeat(2 * 1024 * 1024) }), 401, 'unauthorized');
    }
  });

  it('takes the scheme in any case, as HTTP says', async () => {
    const r = await t.http('GET', '/v1/users/alice/unread', { auth: null, headers: { authorization: `bearer ${API_KEY}` } });
    expect(r.status).toBe(200);
  });

  it('changes nothing when refused', async () => {
    const before = await t.service.ctx.queues.events.getJobCounts('waiting', 'completed', 'failed', 'delayed');
    expectError(await t.http('POST', '/v1/events', { body: allRoutes[4][2], auth: null }), 401, 'unauthorized');
    expectError(await t.http('POST', '/v1/events', { body: allRoutes[4][2], auth: 'nope' }), 401, 'unauthorized');
    expect(await t.service.ctx.queues.events.getJobCounts('waiting', 'completed', 'failed', 'delayed')).toEqual(before);
  });
});

describe('the API key', () => {
  it('works on every user route, for any user', async () => {
    for (const uid of ['alice', 'bob', 'agent:7', 'U'.repeat(64)]) {
      for (const [method, path, body] of userRoutes(uid)) {
        const r = await t.http(method, path, { body });
        expect(r.status, `${method} ${path}`).toBe(200);
        expect(r.body.uid ?? uid).toBe(uid);
      }
    }
  });

  it('mints tokens and posts events', async () => {
    expect((await t.http('POST', '/v1/tokens', { body: { uid: 'alice' } })).status).toBe(201);
    expect(await t.http('POST', '/v1/events', { body: allRoutes[4][2] })).toEqual({ status: 202, body: { accepted: 1 } });
  });
});

describe('a user token minted by POST /v1/tokens', () => {
  let alice: string;
  beforeAll(async () => {
    alice = await mint('alice');
  });

  it('is a JWT for that user, valid for the default hour', async () => {
    const r = await t.http('POST', '/v1/tokens', { body: { uid: 'alice' } });
    expect(r.body.expires_at).toBe(new Date(clock.now() + 3600_000).toISOString());
    expect(payloadOf(r.body.token)).toMatchObject({ sub: 'alice', iss: 'pmq', kind: 'user' });
  });

  it("is accepted on that user's own routes", async () => {
    for (const [method, path, body] of userRoutes('alice')) {
      const r = await t.http(method, path, { body, auth: alice });
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(200);
    }
    // The answers are alice's (the api role alone applies no events: all is empty).
    expect((await t.http('GET', '/v1/users/alice/unread', { auth: alice })).body).toEqual({ uid: 'alice', total: 0, counts: {} });
    expect((await t.http('POST', '/v1/users/alice/read', { body: {}, auth: alice })).body).toEqual({ uid: 'alice', total: 0, counts: {} });
    expect((await t.http('POST', '/v1/users/alice/ack', { body: { ids: ['auth-e1'] }, auth: alice })).body).toEqual({ uid: 'alice', acked: 0 });
    expect((await t.http('GET', '/v1/users/alice/messages', { auth: alice })).body.messages).toEqual([]);
  });

  it("is refused (403) on another user's routes", async () => {
    for (const other of ['bob', 'Alice', 'alice2', 'alic']) {
      for (const [method, path, body] of userRoutes(other)) {
        const r = await t.http(method, path, { body, auth: alice });
        expectError(r, 403, 'forbidden');
        expect(r.body.error.message).toMatch(/own/);
      }
    }
  });

  it('is refused (403) on POST /v1/events and POST /v1/tokens, and enqueues nothing', async () => {
    const before = await t.service.ctx.queues.events.getJobCounts('waiting', 'completed', 'failed', 'delayed');
    const ev = await t.http('POST', '/v1/events', { body: { id: 'by-token', type: 'comment', to: 'alice' }, auth: alice });
    expectError(ev, 403, 'forbidden');
    expect(ev.body.error.message).toMatch(/API key/);
    expect(await t.service.ctx.queues.events.getJobCounts('waiting', 'completed', 'failed', 'delayed')).toEqual(before);

    for (const uid of ['alice', 'bob']) {
      const tok = await t.http('POST', '/v1/tokens', { body: { uid }, auth: alice });
      expectError(tok, 403, 'forbidden');
      expect(tok.body.error.message).toMatch(/API key/);
    }
  });

  it('of one user does not open the routes of a user with a longer or shorter id', async () => {
    const a = await mint('a');
    expect((await t.http('GET', '/v1/users/a/unread', { auth: a })).status).toBe(200);
    expectError(await t.http('GET', '/v1/users/aa/unread', { auth: a }), 403, 'forbidden');
  });
});

describe('POST /v1/tokens for the reserved ids', () => {
  const agents = () => t.service.ctx.keys.chatRouting.agents;
  /** As the admin API registers an agent: a field of the agents hash named by the agent's uid. */
  const register = (uid: string) => t.service.ctx.redis.hset(agents(), uid, JSON.stringify({ name: 'Ann', capacity: 3 }));
  const unregister = (uid: string) => t.service.ctx.redis.hdel(agents(), uid);

  it('refuses a visitor id (400 reserved_uid): visitors are made by POST /v1/chat/visitors', async () => {
    for (const uid of ['v:', 'v:x', 'v:AbCdEfGhIjKlMnOpQrStUv', 'v:agent:7']) {
      const r = await t.http('POST', '/v1/tokens', { body: { uid, ttl: 60 } });
      expectError(r, 400, 'reserved_uid', 'uid');
      expect(r.body.error.message).toContain('POST /v1/chat/visitors');
    }
  });

  it('refuses an agent no admin has registered (404 unknown_agent)', async () => {
    for (const uid of ['agent:7', 'agent:', 'agent:v:1']) {
      const r = await t.http('POST', '/v1/tokens', { body: { uid } });
      expectError(r, 404, 'unknown_agent', 'uid');
      expect(r.body.error.message).toContain(uid);
    }
  });

  it('mints for a registered agent, whose token is then theirs like any user token; and no longer once unregistered', async () => {
    await register('agent:11');
    try {
      const token = await mint('agent:11', 600);
      expect(payloadOf(token)).toMatchObject({ sub: 'agent:11', kind: 'user' });
      const r = await t.http('GET', '/v1/users/agent:11/unread', { auth: token });
      expect(r).toEqual({ status: 200, body: { uid: 'agent:11', total: 0, counts: {} } });
      expectError(await t.http('GET', '/v1/users/agent:12/unread', { auth: token }), 403, 'forbidden');
      // Another agent is not registered by this one's registration.
      expectError(await t.http('POST', '/v1/tokens', { body: { uid: 'agent:12' } }), 404, 'unknown_agent', 'uid');
    } finally {
      await unregister('agent:11');
    }
    // Asked at each mint: an agent removed gets no new token.
    expectError(await t.http('POST', '/v1/tokens', { body: { uid: 'agent:11' } }), 404, 'unknown_agent', 'uid');
  });

  it('takes the registration under the full uid only: a field "13" does not register agent:13', async () => {
    await register('13');
    try {
      expectError(await t.http('POST', '/v1/tokens', { body: { uid: 'agent:13' } }), 404, 'unknown_agent', 'uid');
      // "13" is a site user like any other.
      await mint('13');
    } finally {
      await unregister('13');
    }
  });

  it('mints for ids that only look like the reserved ones: the prefixes are exact', async () => {
    for (const uid of ['V:1', 'Agent:7', 'AGENT:7', 'agents:7', 'agent7', 'v', 'vip:1', 'xv:1', 'x-agent:7']) await mint(uid);
  });

  it('checks who is asking first: a user token is refused (403), a wrong key 401, whatever the uid', async () => {
    const alice = await mint('alice');
    for (const uid of ['v:x', 'agent:7']) {
      expectError(await t.http('POST', '/v1/tokens', { body: { uid }, auth: alice }), 403, 'forbidden');
      expectError(await t.http('POST', '/v1/tokens', { body: { uid }, auth: 'wrong' }), 401, 'unauthorized');
    }
  });
});

describe('a token PMQ did not sign', () => {
  it('is refused when signed with another secret (401)', async () => {
    const token = await forge({ kind: 'user' }, { secret: 'another-secret-0123456789abcdef0123456789' });
    for (const [method, path, body] of userRoutes('alice')) {
      expectError(await t.http(method, path, { body, auth: token }), 401, 'unauthorized');
    }
  });

  it('is refused when its alg is none (401)', async () => {
    const now = Math.floor(clock.now() / 1000);
    const payload = b64url({ kind: 'user', iss: 'pmq', sub: 'alice', iat: now, exp: now + 3600 });
    for (const header of [{ alg: 'none', typ: 'JWT' }, { alg: 'none' }, { alg: 'None' }, { alg: 'NONE' }]) {
      for (const signature of ['', 'AAAA']) {
        const token = `${b64url(header)}.${payload}.${signature}`;
        for (const [method, path, body] of userRoutes('alice')) {
          expectError(await t.http(method, path, { body, auth: token }), 401, 'unauthorized');
        }
      }
    }
  });

  it('is refused when its alg is changed to another HMAC with the same secret (401)', async () => {
    const now = Math.floor(clock.now() / 1000);
    const token = await new SignJWT({ kind: 'user' })
      .setProtectedHeader({ alg: 'HS512' })
      .setIssuer('pmq')
      .setSubject('alice')
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(new TextEncoder().encode(TOKEN_SECRET));
    expectError(await t.http('GET', '/v1/users/alice/unread', { auth: token }), 401, 'unauthorized');
  });

  it('is refused when its payload was tampered with (401)', async () => {
    const bob = await mint('bob');
    expect((await t.http('GET', '/v1/users/bob/unread', { auth: bob })).status).toBe(200);
    const [h, p, s] = partsOf(bob);
    const claims = payloadOf(bob);
    const tampered = [
      `${h}.${b64url({ ...claims, sub: 'alice' })}.${s}`, // someone else
      `${h}.${b64url({ ...claims, exp: (claims.exp as number) + 10 * 365 * 86400 })}.${s}`, // longer life
      `${h}.${p}x.${s}`,
      `${h}.${p}.${s.slice(0, -2)}`,
      `${h}.${p}.`,
      `${h}..${s}`,
      `.${p}.${s}`,
      `${h}.${p}.${s}.${s}`,
    ];
    for (const token of tampered) {
      expectError(await t.http('GET', '/v1/users/alice/unread', { auth: token }), 401, 'unauthorized');
      expectError(await t.http('GET', '/v1/users/bob/unread', { auth: token }), 401, 'unauthorized');
    }
  });

  it('is refused when signed with the right secret but not a PMQ user token (401)', async () => {
    const tokens = [
      await forge({}), // no kind
      await forge({ kind: 'admin' }),
      await forge({ kind: 'user' }, { iss: 'someone-else' }),
      await forge({ kind: 'user' }, { iss: '' }),
      await forge({ kind: 'user' }, { sub: '' }),
      await forge({ kind: 'user' }, { ttl: 0 }), // never expires: refused
      await forge({ kind: 'user' }, { sub: 'bad uid' }),
    ];
    for (const token of tokens) {
      expectError(await t.http('GET', '/v1/users/alice/unread', { auth: token }), 401, 'unauthorized');
    }
    // The same claims as PMQ's own are accepted: the forge is faithful.
    expect((await t.http('GET', '/v1/users/alice/unread', { auth: await forge({ kind: 'user' }) })).status).toBe(200);
  });

  it('is refused when not yet valid (nbf in the future)', async () => {
    const now = Math.floor(clock.now() / 1000);
    const token = await new SignJWT({ kind: 'user' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('pmq')
      .setSubject('alice')
      .setNotBefore(now + 600)
      .setExpirationTime(now + 3600)
      .sign(new TextEncoder().encode(TOKEN_SECRET));
    expectError(await t.http('GET', '/v1/users/alice/unread', { auth: token }), 401, 'unauthorized');
  });
});

describe('an expired token', () => {
  it('is refused with 401 token_expired once the clock passes its ttl', async () => {
    const token = await mint('carol', 60);
    expect(payloadOf(token).exp).toBe(Math.floor(clock.now() / 1000) + 60);
    expect((await t.http('GET', '/v1/users/carol/unread', { auth: token })).status).toBe(200);

    clock.advance(59_000);
    for (const [method, path, body] of userRoutes('carol')) {
      expect((await t.http(method, path, { body, auth: token })).status, `${method} ${path}`).toBe(200);
    }

    clock.advance(2_000);
    for (const [method, path, body] of userRoutes('carol')) {
      const r = await t.http(method, path, { body, auth: token });
      expectError(r, 401, 'token_expired');
      expect(r.body.error.message).toMatch(/expired/);
    }
    // Expired is expired on someone else's routes too: 401, not 403.
    expectError(await t.http('GET', '/v1/users/alice/unread', { auth: token }), 401, 'token_expired');

    // The main site mints a fresh one and the user carries on.
    const fresh = await mint('carol', 60);
    expect((await t.http('GET', '/v1/users/carol/unread', { auth: fresh })).status).toBe(200);
  });

  it('a forged expired token with a bad signature is unauthorized, not expired', async () => {
    const token = await forge({ kind: 'user' }, { secret: 'another-secret-0123456789abcdef0123456789', ttl: 1 });
    clock.advance(5_000);
    expectError(await t.http('GET', '/v1/users/alice/unread', { auth: token }), 401, 'unauthorized');
  });
});
