// Requests made with a user token are rate-limited per user
// (PMQ_RATE_LIMIT_PER_USER), as API keys are per key: 429 `rate_limited` with
// Retry-After, and the refused request changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { API_KEY, drained, startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken } from '../helpers/ws-client.js';

const PER_USER = 5;
let t: TestService;
const clock = new ManualClock();

beforeAll(async () => {
  t = await startTestService({ roles: ['api', 'worker'], clock, env: { PMQ_RATE_LIMIT_PER_USER: String(PER_USER) } });
});
afterAll(async () => {
  await t.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { status: number; body: any; retryAfter: string | null };

async function call(auth: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(t.url + path, {
    method,
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

function expectLimited(r: Answer): void {
  expect(r.status).toBe(429);
  expect(r.body).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
  expect(r.retryAfter).toBe('1');
  expect(r.body.error.message).toMatch(/user/);
  expect(r.body.error.message).not.toMatch(/API key/);
  expect(r.body.error.message).toMatch(/retry after 1 s/);
}

describe('rate limit per user', () => {
  it('answers 429 with Retry-After past the burst, on every user route; other users and the API key are not held', async () => {
    await t.http('POST', '/v1/events', { body: { id: 'rl-1', type: 'comment', to: 'alice', from: 'x' } });
    await drained(t);
    await waitFor(async () => (await t.http('GET', '/v1/users/alice/unread')).body.total === 1, 5000, 'the event applied');
    const alice = await mintToken(t, 'alice');
    const bob = await mintToken(t, 'bob');

    for (let i = 0; i < PER_USER; i++) expect((await call(alice, 'GET', '/v1/users/alice/unread')).status).toBe(200);
    expectLimited(await call(alice, 'GET', '/v1/users/alice/unread'));
    expectLimited(await call(alice, 'GET', '/v1/users/alice/messages'));
    expectLimited(await call(alice, 'POST', '/v1/users/alice/ack', { ids: ['rl-1'] }));
    // A refused read reads nothing.
    expectLimited(await call(alice, 'POST', '/v1/users/alice/read', {}));
    expect((await call(API_KEY, 'GET', '/v1/users/alice/unread')).body).toEqual({ uid: 'alice', total: 1, counts: { comment: 1 } });

    // Bob has his own allowance; the main site's key is limited by its own.
    expect((await call(bob, 'GET', '/v1/users/bob/unread')).status).toBe(200);
    expect((await call(API_KEY, 'POST', '/v1/users/alice/read', {})).status).toBe(200);

    // A fifth of a second later one request's worth is back; after a second, the burst.
    clock.advance(1000 / PER_USER);
    expect((await call(alice, 'GET', '/v1/users/alice/unread')).status).toBe(200);
    expectLimited(await call(alice, 'GET', '/v1/users/alice/unread'));
    clock.advance(1000);
    for (let i = 0; i < PER_USER; i++) expect((await call(alice, 'GET', '/v1/users/alice/unread')).status).toBe(200);
    expectLimited(await call(alice, 'GET', '/v1/users/alice/unread'));
  });
});
