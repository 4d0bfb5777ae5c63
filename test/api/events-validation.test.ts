// Bad input over real HTTP: every wrong body, query, path or header gets a clear
// 4xx in the one shape {"error": {"code", "message", "field"?}}, and changes
// nothing: no job is enqueued, no counter moves, no message is read or acked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { API_KEY, drained, startTestService, waitFor, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { status: number; body: any };

/** The one error shape, exactly; where a field is named, the message names it too. */
function expectError(r: Answer, status: number, code: string, field?: string): void {
  expect(r.body, JSON.stringify(r.body)).toEqual({
    error: { code, message: expect.any(String), ...(field !== undefined && { field }) },
  });
  expect(r.status).toBe(status);
  expect(r.body.error.message.length).toBeGreaterThan(5);
  if (field !== undefined) expect(r.body.error.message).toContain(field);
}

const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

/** Everything the events queue has ever held (finished jobs are kept an hour) and the accepted counter. */
async function ingestState(s: TestService = t): Promise<{ jobs: Record<string, number>; accepted: number }> {
  const jobs = await s.service.ctx.queues.events.getJobCounts(...JOB_STATES);
  const accepted = (await s.service.ctx.metrics.eventsAccepted.get()).values[0]?.value ?? 0;
  return { jobs, accepted };
}

/** Sends one request that must be refused, and checks that the queue saw nothing. */
async function refusedEvents(
  send: () => Promise<Answer>,
  status: number,
  code: string,
  field?: string,
): Promise<Answer> {
  const before = await ingestState();
  const r = await send();
  expectError(r, status, code, field);
  expect(await ingestState()).toEqual(before);
  return r;
}

const post = (body: unknown) => () => t.http('POST', '/v1/events', { body });
const postRaw = (raw: string, headers: Record<string, string> = {}) => () =>
  t.http('POST', '/v1/events', { raw, headers });

const good = (i: number, prefix = 'ok') => ({ id: `${prefix}-${i}`, type: 'comment', to: `${prefix}-u${i}`, from: 'x' });

describe('POST /v1/events: the body as a whole', () => {
  it('refuses malformed JSON', async () => {
    for (const raw of ['{"id": "e1", ', '{id: "e1"}', "{'id': 'e1'}", '{"events": [1,]}', 'undefined']) {
      const r = await refusedEvents(postRaw(raw), 400, 'invalid_request');
      expect(r.body.error.message).toMatch(/JSON/);
    }
  });

  it('refuses a body that is not an object', async () => {
    for (const raw of ['[]', '[{"id":"e1","type":"comment","to":"a"}]', '"an event"', 'null', '42', 'true']) {
      const r = await refusedEvents(postRaw(raw), 400, 'invalid_request');
      expect(r.body.error.message).toMatch(/object/);
    }
  });

  it('refuses a body that is not JSON by its content type (415)', async () => {
    const ev = JSON.stringify(good(0, 'ctype'));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) {
      const r = await refusedEvents(postRaw(ev, { 'content-type': type }), 415, 'unsupported_media_type');
      expect(r.body.error.message).toMatch(/application\/json/);
    }
    // A body without any content type is not taken for JSON either.
    await refusedEvents(
      async () => {
        const res = await fetch(`${t.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}` },
          body: new Blob([ev]), // a Blob without a type sends no Content-Type
        });
        return { status: res.status, body: await res.json() };
      },
      415,
      'unsupported_media_type',
    );
    // JSON in a charset other than UTF-8.
    await refusedEvents(postRaw(ev, { 'content-type': 'application/json; charset=latin1' }), 415, 'unsupported_media_type');
  });

  it('takes application/json with an explicit UTF-8 charset', async () => {
    const before = await ingestState();
    const r = await t.http('POST', '/v1/events', {
      raw: JSON.stringify(good(0, 'utf8')),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(r).toEqual({ status: 202, body: { accepted: 1 } });
    await drained(t);
    expect((await ingestState()).accepted).toBe(before.accepted + 1);
  });

  it('refuses a body over the 1 MiB limit (413)', async () => {
    const big = { ...good(0, 'big'), body: 'x'.repeat(1024 * 1024) };
    const r = await refusedEvents(post(big), 413, 'payload_too_large');
    expect(r.body.error.message).toMatch(/1048576 bytes/);
    // The same holds for a batch whose events are each small.
    const events = Array.from({ length: 200 }, (_, i) => ({ ...good(i, 'bigb'), body: 'y'.repeat(6000) }));
    await refusedEvents(post({ events }), 413, 'payload_too_large');
  });

  it('refuses more than 1000 events in one request (413, field events)', async () => {
    const events = Array.from({ length: 1001 }, (_, i) => good(i, 'many'));
    const r = await refusedEvents(post({ events }), 413, 'payload_too_large', 'events');
    expect(r.body.error.message).toMatch(/1000/);
    expect(r.body.error.message).toMatch(/1001/);
  });

  it('takes exactly 1000 events', async () => {
    const events = Array.from({ length: 1000 }, (_, i) => ({ id: `thousand-${i}`, type: 'notice', to: 'thousand' }));
    expect(await t.http('POST', '/v1/events', { body: { events } })).toEqual({ status: 202, body: { accepted: 1000 } });
    await drained(t);
    expect((await t.http('GET', '/v1/users/thousand/unread')).body.total).toBe(1000);
  });

  it('refuses an empty or non-array events', async () => {
    await refusedEvents(post({ events: [] }), 400, 'invalid_request', 'events');
    for (const events of [null, {}, 'e1', 3, good(0)]) {
      await refusedEvents(post({ events }), 400, 'invalid_request', 'events');
    }
  });

  it('refuses a top-level field next to "events", naming it', async () => {
    await refusedEvents(post({ events: [good(0, 'extra')], source: 'blog' }), 400, 'invalid_request', 'source');
    await refusedEvents(post({ id: 'e1', events: [good(0, 'extra')] }), 400, 'invalid_request', 'id');
  });

  it('refuses one event over 8 KiB (413), naming its index', async () => {
    const small = (i: number) => good(i, 'size');
    const fat = { ...good(3, 'size'), body: 'z'.repeat(9000) };
    const r = await refusedEvents(
      post({ events: [small(0), small(1), small(2), fat, small(4)] }),
      413,
      'payload_too_large',
      'events[3]',
    );
    expect(r.body.error.message).toMatch(/8192/);
    // Alone: 413 too (no index to name).
    const alone = await refusedEvents(post(fat), 413, 'payload_too_large');
    expect(alone.body.error.message).toMatch(/8192/);
    // Multi-byte characters count as bytes, not as characters.
    await refusedEvents(post({ events: [{ ...good(0, 'size'), body: 'é'.repeat(4200) }] }), 413, 'payload_too_large', 'events[0]');
  });
});

describe('POST /v1/events: one event', () => {
  const base = { id: 'one-1', type: 'comment', to: 'one-user', from: 'one-from' };
  // [what, the event, the field the answer names]
  const cases: [string, Record<string, unknown>, string][] = [
    ['a missing id', { ...base, id: undefined }, 'id'],
    ['an empty id', { ...base, id: '' }, 'id'],
    ['an id with a space', { ...base, id: 'e 1' }, 'id'],
    ['an id with a slash', { ...base, id: 'e/1' }, 'id'],
    ['an id over 128 characters', { ...base, id: 'e'.repeat(129) }, 'id'],
    ['a numeric id', { ...base, id: 17 }, 'id'],
    ['a missing type', { ...base, type: undefined }, 'type'],
    ['a capitalised type', { ...base, type: 'Comment' }, 'type'],
    ['a type over 32 characters', { ...base, type: 'c'.repeat(33) }, 'type'],
    ['a type starting with a digit', { ...base, type: '1comment' }, 'type'],
    ['a type with a space', { ...base, type: 'new comment' }, 'type'],
    ['an empty type', { ...base, type: '' }, 'type'],
    ['a type that is not a string', { ...base, type: ['comment'] }, 'type'],
    ['a missing to', { ...base, to: undefined }, 'to'],
    ['a to over 64 characters', { ...base, to: 'u'.repeat(65) }, 'to'],
    ['a to with bad characters', { ...base, to: 'alice@example.com' }, 'to'],
    ['a to with a space', { ...base, to: 'al ice' }, 'to'],
    ['a numeric to', { ...base, to: 42 }, 'to'],
    ['a from over 64 characters', { ...base, from: 'f'.repeat(65) }, 'from'],
    ['a from with bad characters', { ...base, from: 'bob/../x' }, 'from'],
    ['a null from', { ...base, from: null }, 'from'],
    ['a numeric title', { ...base, title: 5 }, 'title'],
    ['an object title', { ...base, title: { en: 'hi' } }, 'title'],
    ['a title over 512 characters', { ...base, title: 't'.repeat(513) }, 'title'],
    ['a numeric body', { ...base, body: 1 }, 'body'],
    ['data that is an array', { ...base, data: [1, 2] }, 'data'],
    ['a created_at in words', { ...base, created_at: 'yesterday' }, 'created_at'],
    ['a created_at without a time', { ...base, created_at: '2026-01-01' }, 'created_at'],
    ['a created_at on 30 February', { ...base, created_at: '2026-02-30T10:00:00Z' }, 'created_at'],
    ['a created_at at hour 25', { ...base, created_at: '2026-01-01T25:00:00Z' }, 'created_at'],
    ['a negative created_at', { ...base, created_at: -1 }, 'created_at'],
    ['a fractional created_at', { ...base, created_at: 1.5 }, 'created_at'],
    ['a created_at past the last Date', { ...base, created_at: 8.64e15 + 1 }, 'created_at'],
    ['a boolean created_at', { ...base, created_at: true }, 'created_at'],
    ['an unknown field', { ...base, priority: 'high' }, 'priority'],
    ['a misspelt field', { ...base, tittle: 'hello' }, 'tittle'],
  ];

  it.each(cases)('refuses %s, naming the field', async (_what, event, field) => {
    await refusedEvents(post(event), 400, 'invalid_request', field);
  });

  it('says a missing field is required', async () => {
    for (const field of ['id', 'type', 'to']) {
      const r = await refusedEvents(post({ ...base, [field]: undefined }), 400, 'invalid_request', field);
      expect(r.body.error.message).toBe(`${field}: is required`);
    }
  });

  it('names the field in a batch as events[i].<field>', async () => {
    for (const [, event, field] of cases) {
      await refusedEvents(post({ events: [good(0, 'b'), event] }), 400, 'invalid_request', `events[1].${field}`);
    }
  });

  it('refuses an empty object and a batch item that is not an object', async () => {
    await refusedEvents(post({}), 400, 'invalid_request', 'id');
    for (const item of [null, 'e1', 7, [good(0)]]) {
      await refusedEvents(post({ events: [good(0, 'item'), item] }), 400, 'invalid_request', 'events[1]');
    }
  });

  it('takes the edges of what is valid', async () => {
    const edge = [
      { id: 'i'.repeat(128), type: 'c'.repeat(32), to: 'U'.repeat(64), from: 'a_b.c:d-e' },
      { id: 'edge:2', type: 'a.b-c_d9', to: 'edge-user', title: 't'.repeat(512), created_at: '2026-01-01T10:00:00.123+05:30' },
      { id: 'edge-3', type: 'notice', to: 'edge-user', created_at: 0, data: { any: ['thing'] } },
    ];
    expect(await t.http('POST', '/v1/events', { body: { events: edge } })).toEqual({ status: 202, body: { accepted: 3 } });
    await drained(t);
    expect((await t.http('GET', '/v1/users/edge-user/unread')).body.total).toBe(2);
  });
});

describe('POST /v1/events: one bad event in a batch', () => {
  const batch = (tag: string) => Array.from({ length: 12 }, (_, i) => good(i, `b7${tag}`));
  const bad: [string, Record<string, unknown>, string, number, string][] = [
    ['bad-type', { type: 'Comment' }, 'events[7].type', 400, 'invalid_request'],
    ['long-type', { type: 'x'.repeat(40) }, 'events[7].type', 400, 'invalid_request'],
    ['bad-to', { to: 'no spaces allowed' }, 'events[7].to', 400, 'invalid_request'],
    ['long-from', { from: 'f'.repeat(65) }, 'events[7].from', 400, 'invalid_request'],
    ['bad-id', { id: 'a'.repeat(129) }, 'events[7].id', 400, 'invalid_request'],
    ['title', { title: 12 }, 'events[7].title', 400, 'invalid_request'],
    ['created-at', { created_at: '2026-13-01T00:00:00Z' }, 'events[7].created_at', 400, 'invalid_request'],
    ['unknown', { colour: 'red' }, 'events[7].colour', 400, 'invalid_request'],
    ['size', { body: 'q'.repeat(8200) }, 'events[7]', 413, 'payload_too_large'],
  ];

  it.each(bad)('a %s at index 7 enqueues and counts nothing', async (tag, change, field, status, code) => {
    const events: Record<string, unknown>[] = batch(tag);
    events[7] = { ...events[7], ...change };
    await refusedEvents(post({ events }), status, code, field);
  });

  it('leaves every user of the refused batches at zero once the workers are idle', async () => {
    for (const [tag, change, , status] of bad) {
      const events: Record<string, unknown>[] = batch(tag);
      events[7] = { ...events[7], ...change };
      expect((await post({ events })()).status).toBe(status);
    }
    // A good event posted after them is applied, and then no job is left: what the
    // refused requests might have enqueued went before it, on the same connection.
    const control = good(0, 'after-refused');
    expect((await post(control)()).status).toBe(202);
    await waitFor(async () => (await t.http('GET', `/v1/users/${control.to}/unread`)).body.total === 1, 5000, 'the good event applied');
    await drained(t);
    expect(await ingestState()).toMatchObject({ jobs: { waiting: 0, active: 0, delayed: 0, failed: 0 } });
    for (const [tag] of bad) {
      for (const e of batch(tag)) {
        const r = await t.http('GET', `/v1/users/${e.to}/unread`);
        expect(r.body, `${e.to}`).toEqual({ uid: e.to, total: 0, counts: {} });
        expect((await t.http('GET', `/v1/users/${e.to}/messages`)).body.messages).toEqual([]);
      }
    }
  });

  it('(control) the same batch without the bad event is enqueued and counted', async () => {
    const before = await ingestState();
    const events = batch('control');
    expect(await t.http('POST', '/v1/events', { body: { events } })).toEqual({ status: 202, body: { accepted: 12 } });
    const after = await ingestState();
    expect(after.accepted).toBe(before.accepted + 12);
    await waitFor(async () => (await t.http('GET', `/v1/users/${events[7]!.to}/unread`)).body.total === 1);
  });
});

describe('POST /v1/users/:uid/read and /ack: bad input changes nothing', () => {
  const uid = 'reader';
  const unread = { uid, total: 3, counts: { comment: 2, notice: 1 } };
  /** Three unread messages for `to`; the refusals share `uid`, the control (which changes it) has its own. */
  async function threeUnread(to: string): Promise<void> {
    const events = [
      { id: 'rd-1', type: 'comment', to, from: 'x' },
      { id: 'rd-2', type: 'comment', to, from: 'x' },
      { id: 'rd-3', type: 'notice', to },
    ];
    expect((await t.http('POST', '/v1/events', { body: { events } })).status).toBe(202);
    await drained(t);
    expect((await t.http('GET', `/v1/users/${to}/unread`)).body).toEqual({ ...unread, uid: to });
  }
  beforeAll(() => threeUnread(uid));

  async function refusedRead(send: () => Promise<Answer>, status: number, code: string, field?: string): Promise<Answer> {
    const r = await send();
    expectError(r, status, code, field);
    expect((await t.http('GET', `/v1/users/${uid}/unread`)).body).toEqual(unread);
    const states = (await t.http('GET', `/v1/users/${uid}/messages`)).body.messages.map((m: { state: string }) => m.state);
    expect(states).toEqual(['pending', 'pending', 'pending']);
    return r;
  }
  const read = (body: unknown) => () => t.http('POST', `/v1/users/${uid}/read`, { body });
  const ack = (body: unknown) => () => t.http('POST', `/v1/users/${uid}/ack`, { body });

  it('refuses bad ids', async () => {
    await refusedRead(read({ ids: [] }), 400, 'invalid_request', 'ids');
    await refusedRead(read({ ids: 'rd-1' }), 400, 'invalid_request', 'ids');
    await refusedRead(read({ ids: null }), 400, 'invalid_request', 'ids');
    await refusedRead(read({ ids: ['rd-1', 'bad id'] }), 400, 'invalid_request', 'ids[1]');
    await refusedRead(read({ ids: ['rd-1', 7] }), 400, 'invalid_request', 'ids[1]');
    await refusedRead(read({ ids: ['r'.repeat(129)] }), 400, 'invalid_request', 'ids[0]');
    const r = await refusedRead(read({ ids: Array.from({ length: 1001 }, (_, i) => `id-${i}`) }), 400, 'invalid_request', 'ids');
    expect(r.body.error.message).toMatch(/1000/);
  });

  it('refuses a bad category', async () => {
    for (const category of ['Comment', 'c'.repeat(33), '', 5, null, [], { name: 'comment' }]) {
      await refusedRead(read({ category }), 400, 'invalid_request', 'category');
    }
    // One bad category in a list is named by its index.
    await refusedRead(read({ category: ['comment', 'Notice'] }), 400, 'invalid_request', 'category[1]');
  });

  it('refuses ids and category together', async () => {
    const r = await refusedRead(read({ ids: ['rd-1'], category: 'comment' }), 400, 'invalid_request');
    expect(r.body.error.message).toMatch(/ids/);
    expect(r.body.error.message).toMatch(/category/);
  });

  it('refuses an unknown field, alone or beside ids or category', async () => {
    await refusedRead(read({ all: true }), 400, 'invalid_request', 'all');
    await refusedRead(read({ ids: ['rd-1'], force: true }), 400, 'invalid_request', 'force');
    await refusedRead(read({ category: 'comment', cat: 'x' }), 400, 'invalid_request', 'cat');
  });

  it('refuses a body that is not an object, and never takes it for "read all"', async () => {
    for (const raw of ['null', '[]', '"comment"', '0', 'false']) {
      await refusedRead(() => t.http('POST', `/v1/users/${uid}/read`, { raw }), 400, 'invalid_request');
    }
    await refusedRead(() => t.http('POST', `/v1/users/${uid}/read`, { raw: '{"ids": [' }), 400, 'invalid_request');
  });

  it('refuses a body that is not JSON by its content type, and never takes it for "read all"', async () => {
    for (const raw of ['{"ids": ["rd-1"]}', 'category=comment']) {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
        await refusedRead(
          () => t.http('POST', `/v1/users/${uid}/read`, { raw, headers: { 'content-type': type } }),
          415,
          'unsupported_media_type',
        );
      }
    }
  });

  it('refuses a bad ack body and acks nothing', async () => {
    await refusedRead(ack({}), 400, 'invalid_request', 'ids');
    await refusedRead(ack({ ids: [] }), 400, 'invalid_request', 'ids');
    await refusedRead(ack({ ids: ['rd-1', 'no/slash'] }), 400, 'invalid_request', 'ids[1]');
    await refusedRead(ack({ ids: ['rd-1'], category: 'comment' }), 400, 'invalid_request', 'category');
    await refusedRead(() => t.http('POST', `/v1/users/${uid}/ack`, { raw: 'null' }), 400, 'invalid_request');
    await refusedRead(
      () => t.http('POST', `/v1/users/${uid}/ack`, { raw: '{"ids":["rd-1"]}', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
  });

  it('takes a POST with no body at all, of any type, for {}', async () => {
    for (const headers of [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/json' }] as Record<string, string>[]) {
      const res = await fetch(`${t.url}/v1/users/nobody/read`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, ...headers },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ uid: 'nobody', total: 0, counts: {} });
    }
    const tok = await t.http('POST', '/v1/tokens', { raw: '' });
    expectError(tok, 400, 'invalid_request', 'uid');
  });

  it('(control) a good read and a good ack do change things', async () => {
    const other = 'control-reader';
    await threeUnread(other);
    expect((await t.http('POST', `/v1/users/${other}/ack`, { body: { ids: ['rd-1'] } })).body).toEqual({ uid: other, acked: 1 });
    expect((await t.http('POST', `/v1/users/${other}/read`, { body: { category: 'comment' } })).body).toEqual({
      uid: other,
      total: 1,
      counts: { notice: 1 },
    });
  });
});

describe('GET /v1/users/:uid/messages: bad paging', () => {
  const cases: [string, string][] = [
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=-5', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=', 'limit'],
    ['limit=5&limit=6', 'limit'],
    ['before=0', 'before'],
    ['before=-3', 'before'],
    ['before=abc', 'before'],
    ['before=2.5', 'before'],
    ['limit=10&before=x1', 'before'],
    ['offset=10', 'offset'],
  ];
  it.each(cases)('refuses ?%s', async (query, field) => {
    expectError(await t.http('GET', `/v1/users/alice/messages?${query}`), 400, 'invalid_request', field);
  });

  it('takes good paging', async () => {
    const r = await t.http('GET', '/v1/users/alice/messages?limit=100&before=5');
    expect(r.status).toBe(200);
    expect(r.body.messages).toEqual([]);
  });
});

describe('a bad uid in the path', () => {
  const uids = ['u'.repeat(65), 'a%20b', 'a%2Fb', 'al%C3%AFce', 'a%40b', 'a%00b'];
  it.each(uids)('refuses /v1/users/%s/…', async (uid) => {
    for (const [method, route, body] of [
      ['GET', 'unread', undefined],
      ['POST', 'read', {}],
      ['GET', 'messages', undefined],
      ['POST', 'ack', { ids: ['x'] }],
    ] as const) {
      const r = await t.http(method, `/v1/users/${uid}/${route}`, { body });
      expectError(r, 400, 'invalid_request', 'uid');
    }
  });

  it('refuses a path that is not valid percent-encoding', async () => {
    const r = await t.http('GET', '/v1/users/%E0%A4%A/unread');
    expectError(r, 400, 'invalid_request');
    expect(r.body.error.message).toMatch(/%E0%A4%A/);
  });
});

describe('POST /v1/tokens: bad input', () => {
  const cases: [string, unknown, string | undefined][] = [
    ['a missing uid', {}, 'uid'],
    ['a uid with a space', { uid: 'a b' }, 'uid'],
    ['a uid over 64 characters', { uid: 'u'.repeat(65) }, 'uid'],
    ['a numeric uid', { uid: 42 }, 'uid'],
    ['a ttl of 0', { uid: 'alice', ttl: 0 }, 'ttl'],
    ['a negative ttl', { uid: 'alice', ttl: -60 }, 'ttl'],
    ['a ttl over the maximum', { uid: 'alice', ttl: 30 * 24 * 3600 + 1 }, 'ttl'],
    ['a fractional ttl', { uid: 'alice', ttl: 60.5 }, 'ttl'],
    ['a ttl as a string', { uid: 'alice', ttl: '60' }, 'ttl'],
    ['an unknown field', { uid: 'alice', scope: 'admin' }, 'scope'],
    ['an array', [{ uid: 'alice' }], undefined],
    ['null', null, undefined],
  ];
  it.each(cases)('refuses %s', async (_what, body, field) => {
    const r = await t.http('POST', '/v1/tokens', { raw: JSON.stringify(body) });
    expectError(r, 400, 'invalid_request', field);
  });

  it('refuses a body that is not JSON', async () => {
    const r = await t.http('POST', '/v1/tokens', { raw: 'uid=alice', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectError(r, 415, 'unsupported_media_type');
  });

  it('takes the edges of the ttl range', async () => {
    for (const ttl of [1, 30 * 24 * 3600]) {
      const r = await t.http('POST', '/v1/tokens', { body: { uid: 'alice', ttl } });
      expect(r.status).toBe(201);
      expect(typeof r.body.token).toBe('string');
    }
  });
});

describe('unknown routes', () => {
  it.each([
    // (GET / is the front page: test/web/pages.test.ts)
    ['POST', '/'],
    ['GET', '/nope'],
    ['GET', '/console/x'],
    ['GET', '/assets/'],
    ['POST', '/v1/nope'],
    ['GET', '/v1/events'],
    ['DELETE', '/v1/events'],
    ['GET', '/v1/users/alice'],
    ['GET', '/v1/users/alice/nothing'],
    ['POST', '/v1/users/alice/unread'],
    ['GET', '/v2/events'],
  ])('%s %s is a 404 in the error shape', async (method, path) => {
    expectError(await t.http(method, path), 404, 'not_found');
  });
});

describe('rate limit per API key', () => {
  let limited: TestService;
  const clock = new ManualClock();
  beforeAll(async () => {
    limited = await startTestService({ roles: ['api'], clock, env: { PMQ_RATE_LIMIT_PER_KEY: '5' } });
  });
  afterAll(async () => {
    await limited.stop();
  });

  async function raw(method: string, path: string, body?: unknown): Promise<Answer & { retryAfter: string | null }> {
    const res = await fetch(limited.url + path, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
  }

  it('answers 429 with Retry-After after the burst, and refills with time', async () => {
    clock.advance(10_000); // a full bucket, whatever ran before
    for (let i = 0; i < 5; i++) expect((await raw('GET', '/v1/users/alice/unread')).status).toBe(200);

    const r = await raw('GET', '/v1/users/alice/unread');
    expectError(r, 429, 'rate_limited');
    expect(r.retryAfter).toBe('1');
    expect(r.body.error.message).toMatch(/retry after 1 s/);

    // Limited on every route the key takes, and a refused event is not enqueued.
    const before = await ingestState(limited);
    const ev = await raw('POST', '/v1/events', good(0, 'limited'));
    expectError(ev, 429, 'rate_limited');
    expect(ev.retryAfter).toBe('1');
    expect(await ingestState(limited)).toEqual(before);
    expectError(await raw('POST', '/v1/tokens', { uid: 'alice' }), 429, 'rate_limited');

    // A fifth of a second later, one request's worth is back; then it is gone again.
    clock.advance(200);
    expect((await raw('GET', '/v1/users/alice/unread')).status).toBe(200);
    expect((await raw('GET', '/v1/users/alice/unread')).status).toBe(429);

    // After a whole second, the full burst.
    clock.advance(1000);
    for (let i = 0; i < 5; i++) expect((await raw('GET', '/v1/users/alice/unread')).status).toBe(200);
    expect((await raw('GET', '/v1/users/alice/unread')).status).toBe(429);
  });

  it('does not spend the key on requests that fail authentication', async () => {
    clock.advance(10_000);
    for (let i = 0; i < 20; i++) {
      expectError(await limited.http('GET', '/v1/users/alice/unread', { auth: 'wrong-key' }), 401, 'unauthorized');
    }
    for (let i = 0; i < 5; i++) expect((await raw('GET', '/v1/users/alice/unread')).status).toBe(200);
  });
});
