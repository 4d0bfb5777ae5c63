// POST /v1/chat/visitors, as a site's chat widget calls it from a browser: a
// widget key opens an anonymous visitor `v:<id>` with a user token that works on
// /ws and the user routes; a wrong key, a foreign page, a flood from one address
// or a body with fields is refused in the one error shape, and gets no token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_ID } from '../../src/events/event-schema.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { API_KEY, startTestService, type TestService } from '../helpers/service.js';
import { mintToken, recordingClient, wsUrl, type RecordingClient } from '../helpers/ws-client.js';

const PATH = '/v1/chat/visitors';
const WIDGET_KEY = 'widget-key-one';
const OTHER_WIDGET_KEY = 'widget-key-two';
const SHOP = 'https://shop.example';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { status: number; body: any; headers: Headers };

/** A request as a page makes it: any method, headers and raw body; the answer with its headers. */
async function call(
  t: TestService,
  opts: { method?: string; key?: string | null; origin?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  const key = opts.key === undefined ? WIDGET_KEY : opts.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (opts.origin !== undefined) headers.origin = opts.origin;
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(t.url + PATH, { method: opts.method ?? 'POST', headers, body: opts.body });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

/** The one error shape, exactly (so no visitor and no token came with it). */
function expectError(r: Answer, status: number, code: string, field?: string): void {
  expect(r.body, JSON.stringify(r.body)).toEqual({
    error: { code, message: expect.any(String), ...(field !== undefined && { field }) },
  });
  expect(r.status).toBe(status);
  expect(r.body.error.message.length).toBeGreaterThan(5);
  if (field !== undefined) expect(r.body.error.message).toContain(field);
}

function expectVisitor(r: Answer): { visitor: string; token: string; expires_at: string } {
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  expect(r.body).toEqual({ visitor: expect.any(String), token: expect.any(String), expires_at: expect.any(String) });
  expect(r.body.visitor).toMatch(/^v:[A-Za-z0-9_-]{22}$/);
  expect(r.body.visitor).toMatch(USER_ID);
  return r.body;
}

const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('a widget key (any origin, no address limit)', () => {
  let t: TestService;
  const clients: RecordingClient[] = [];
  beforeAll(async () => {
    t = await startTestService({
      roles: ['api', 'gateway'],
      env: {
        PMQ_WIDGET_KEYS: `${WIDGET_KEY},${OTHER_WIDGET_KEY}`,
        PMQ_CHAT_VISITOR_TOKEN_TTL_SECONDS: '7200',
        PMQ_CHAT_VISITORS_PER_MINUTE: '0',
      },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await t.stop();
  });

  it('opens a visitor: 201 with a v: id, a user token for it, and when that expires (PMQ_CHAT_VISITOR_TOKEN_TTL_SECONDS)', async () => {
    const before = Math.floor(Date.now() / 1000);
    const v = expectVisitor(await call(t));
    const after = Math.ceil(Date.now() / 1000);
    const claims = payloadOf(v.token);
    expect(claims).toMatchObject({ sub: v.visitor, iss: 'pmq', kind: 'user' });
    expect(claims.exp).toBe((claims.iat as number) + 7200);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(after);
    expect(v.expires_at).toBe(new Date((claims.exp as number) * 1000).toISOString());
  });

  it('opens a new visitor each time, with either key; 0 visitors a minute is no limit', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 25; i++) seen.add(expectVisitor(await call(t, { key: i % 2 ? OTHER_WIDGET_KEY : WIDGET_KEY })).visitor);
    expect(seen.size).toBe(25);
  });

  it("gives a token that opens /ws as that visitor, and that visitor's own routes only", async () => {
    const { visitor, token } = expectVisitor(await call(t));
    const c = recordingClient(wsUrl(t), token, { reconnect: false });
    clients.push(c);
    const hello = await c.ready;
    expect(hello).toMatchObject({ type: 'hello', uid: visitor, unread: { total: 0, counts: {} } });

    const own = await t.http('GET', `/v1/users/${visitor}/unread`, { auth: token });
    expect(own).toEqual({ status: 200, body: { uid: visitor, total: 0, counts: {} } });
    expect((await t.http('GET', '/v1/users/alice/unread', { auth: token })).body.error.code).toBe('forbidden');
    // A user token, not a key: it mints nothing, and opens no further visitor.
    expect((await t.http('POST', '/v1/tokens', { body: { uid: 'alice' }, auth: token })).body.error.code).toBe('forbidden');
    expectError(await call(t, { key: token }), 401, 'unauthorized');
  });

  it('takes no body, {} and an empty body of any type', async () => {
    expectVisitor(await call(t));
    expectVisitor(await call(t, { body: '{}' }));
    expectVisitor(await call(t, { body: ' { } ' }));
    expectVisitor(await call(t, { body: '', headers: { 'content-type': 'text/plain' } }));
  });

  it.each([
    ['an unknown field', '{"name": "Ann"}', 'name'],
    ['a uid of its choosing', '{"visitor": "v:mine"}', 'visitor'],
  ])('refuses %s (400, naming it)', async (_what, body, field) => {
    expectError(await call(t, { body }), 400, 'invalid_request', field);
  });

  it('refuses a body that is not a JSON object (400) or not JSON (415)', async () => {
    for (const body of ['[]', 'null', '"hi"', '42']) {
      const r = await call(t, { body });
      expectError(r, 400, 'invalid_request');
      expect(r.body.error.message).toMatch(/object/);
    }
    expectError(await call(t, { body: '{"a":' }), 400, 'invalid_request');
    expectError(await call(t, { body: '{}', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  });

  it('refuses (401) a missing, wrong or malformed key, an API key and a user token, before the body', async () => {
    const userToken = await mintToken(t, 'alice');
    for (const key of [null, 'wrong', `${WIDGET_KEY}x`, WIDGET_KEY.slice(0, -1), WIDGET_KEY.toUpperCase(), API_KEY, userToken]) {
      const r = await call(t, { key });
      expectError(r, 401, 'unauthorized');
      expect(r.body.error.message).toMatch(/widget key/);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expectError(await call(t, { key, body: '{not json' }), 401, 'unauthorized');
    }
    for (const authorization of [WIDGET_KEY, `Basic ${WIDGET_KEY}`, 'Bearer', `Bearer ${WIDGET_KEY} extra`, `Bearer${WIDGET_KEY}`]) {
      expectError(await call(t, { key: null, headers: { authorization } }), 401, 'unauthorized');
    }
    // The scheme in any case, as HTTP says.
    expectVisitor(await call(t, { key: null, headers: { authorization: `bearer ${WIDGET_KEY}` } }));
  });

  it('answers a CORS preflight from any page, for Authorization and Content-Type', async () => {
    const r = await call(t, {
      method: 'OPTIONS',
      key: null,
      origin: SHOP,
      headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(r.headers.get('vary')).toMatch(/\bOrigin\b/);
    expect(r.headers.get('access-control-allow-methods')).toMatch(/\bPOST\b/);
    const allowed = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type']));
    // No credentials: the key is in a header, never a cookie.
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('names the page back on the answer, errors included, so that the page can read them', async () => {
    const ok = await call(t, { origin: SHOP });
    expectVisitor(ok);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(ok.headers.get('vary')).toMatch(/\bOrigin\b/);

    const refused = await call(t, { origin: 'https://other.example', key: 'wrong' });
    expectError(refused, 401, 'unauthorized');
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://other.example');
    expect(refused.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);

    // Not a browser: no Origin, no CORS headers, still a visitor.
    const server = await call(t);
    expectVisitor(server);
    expect(server.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("gives no other route a CORS answer: the main site's routes are not for pages", async () => {
    for (const path of ['/v1/tokens', '/v1/events', '/v1/users/alice/unread']) {
      const res = await fetch(t.url + path, {
        method: 'OPTIONS',
        headers: { origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
      expect(res.headers.get('access-control-allow-origin'), path).toBeNull();
    }
  });
});

describe('PMQ_WIDGET_ORIGINS', () => {
  let t: TestService;
  const WWW = 'https://www.shop.example';
  beforeAll(async () => {
    t = await startTestService({ roles: ['api'], env: { PMQ_WIDGET_KEYS: WIDGET_KEY, PMQ_WIDGET_ORIGINS: `${SHOP}, ${WWW}` } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('lets the pages of the listed origins open visitors, and answers their preflight', async () => {
    for (const origin of [SHOP, WWW]) {
      const r = await call(t, { origin });
      expectVisitor(r);
      expect(r.headers.get('access-control-allow-origin')).toBe(origin);
      const pre = await call(t, { method: 'OPTIONS', key: null, origin, headers: { 'access-control-request-method': 'POST' } });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
    }
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['another scheme', 'http://shop.example'],
    ['another port', 'https://shop.example:8443'],
    ['a subdomain not listed', 'https://chat.shop.example'],
    ['a look-alike', 'https://shop.example.evil.example'],
    ['a trailing slash', 'https://shop.example/'],
    ['another case', 'https://SHOP.example'],
    ['an opaque origin', 'null'],
  ])('refuses %s (403 origin_not_allowed), with a valid key, preflight and all', async (_what, origin) => {
    const r = await call(t, { origin });
    expectError(r, 403, 'origin_not_allowed');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await call(t, { method: 'OPTIONS', key: null, origin, headers: { 'access-control-request-method': 'POST' } });
    expectError(pre, 403, 'origin_not_allowed');
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a request without Origin once there is a list', async () => {
    const r = await call(t);
    expectError(r, 403, 'origin_not_allowed');
    expect(r.body.error.message).toMatch(/Origin/);
  });
});

describe('PMQ_CHAT_VISITORS_PER_MINUTE', () => {
  const clock = new ManualClock();
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ roles: ['api'], clock, env: { PMQ_WIDGET_KEYS: WIDGET_KEY, PMQ_CHAT_VISITORS_PER_MINUTE: '2' } });
  });
  afterAll(async () => {
    await t.stop();
  });

  /** From a client address behind a proxy on loopback (the service trusts it to say so). */
  const from = (address: string, opts: Parameters<typeof call>[1] = {}) =>
    call(t, { ...opts, headers: { 'x-forwarded-for': address, ...opts.headers } });

  it('lets an address open 2 visitors a minute, then 429 with Retry-After until one is due again', async () => {
    clock.advance(10 * 60_000);
    expectVisitor(await from('198.51.100.1'));
    expectVisitor(await from('198.51.100.1'));

    const r = await from('198.51.100.1', { origin: SHOP });
    expectError(r, 429, 'rate_limited');
    expect(r.body.error.message).toMatch(/client address/);
    expect(r.headers.get('retry-after')).toBe('30');
    // The page can read when to come back.
    expect(r.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(r.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);

    // Another address has its own allowance.
    expectVisitor(await from('203.0.113.9'));

    clock.advance(29_000);
    const early = await from('198.51.100.1');
    expectError(early, 429, 'rate_limited');
    expect(early.headers.get('retry-after')).toBe('1');
    clock.advance(1_000);
    expectVisitor(await from('198.51.100.1'));
    expectError(await from('198.51.100.1'), 429, 'rate_limited');
  });

  it('spends nothing on preflights or on requests without a valid key', async () => {
    clock.advance(10 * 60_000);
    for (let i = 0; i < 5; i++) {
      expectError(await from('198.51.100.2', { key: 'wrong' }), 401, 'unauthorized');
      const pre = await from('198.51.100.2', { method: 'OPTIONS', key: null, origin: SHOP });
      expect(pre.status).toBe(204);
    }
    expectVisitor(await from('198.51.100.2'));
    expectVisitor(await from('198.51.100.2'));
    expectError(await from('198.51.100.2'), 429, 'rate_limited');
  });

  it('mints for PMQ_CHAT_VISITOR_TOKEN_TTL_SECONDS, 30 days by default', async () => {
    clock.advance(10 * 60_000);
    const v = expectVisitor(await from('198.51.100.3'));
    expect(v.expires_at).toBe(new Date(Math.floor(clock.now() / 1000) * 1000 + 2_592_000_000).toISOString());
  });
});

describe('without PMQ_WIDGET_KEYS', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ roles: ['api'] });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('has no such route (404), whatever the key, preflight included', async () => {
    for (const key of [WIDGET_KEY, API_KEY, null]) {
      const r = await call(t, { key, origin: SHOP });
      expectError(r, 404, 'not_found');
      expect(r.body.error.message).toMatch(/widget keys/);
    }
    const pre = await call(t, { method: 'OPTIONS', key: null, origin: SHOP });
    expectError(pre, 404, 'not_found');
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });
});
