// The feed's paging as docs/protocol.md and the README promise it: `next_before`
// leads to the next older page, and is null on the last one, also when the last
// page is exactly full.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.stop();
});

async function post(uid: string, n: number): Promise<void> {
  const events = Array.from({ length: n }, (_, i) => ({ id: `${uid}-${i}`, type: 'notice', to: uid }));
  expect((await t.http('POST', '/v1/events', { body: { events } })).status).toBe(202);
  await drained(t);
}

/** Every page of `uid`'s feed at `limit`, as [seqs, next_before] pairs. */
async function pages(uid: string, limit: number): Promise<[number[], number | null][]> {
  const out: [number[], number | null][] = [];
  let before: number | null = null;
  for (let i = 0; i < 10; i++) {
    const q: string = before === null ? `?limit=${limit}` : `?limit=${limit}&before=${before}`;
    const r = await t.http('GET', `/v1/users/${uid}/messages${q}`);
    expect(r.status).toBe(200);
    before = r.body.next_before;
    out.push([r.body.messages.map((m: { seq: number }) => m.seq), before]);
    if (before === null) break;
  }
  return out;
}

describe('GET /v1/users/:uid/messages', () => {
  it('says null on the last page when it is exactly full', async () => {
    await post('pg-even', 6);
    expect(await pages('pg-even', 3)).toEqual([
      [[6, 5, 4], 4],
      [[3, 2, 1], null],
    ]);
  });

  it('says null on a last page that is not full, and on an empty feed', async () => {
    await post('pg-odd', 5);
    expect(await pages('pg-odd', 3)).toEqual([
      [[5, 4, 3], 3],
      [[2, 1], null],
    ]);
    expect(await pages('pg-none', 3)).toEqual([[[], null]]);
  });

  it('takes a limit up to 100, and refuses more', async () => {
    expect((await t.http('GET', '/v1/users/pg-odd/messages?limit=100')).status).toBe(200);
    const r = await t.http('GET', '/v1/users/pg-odd/messages?limit=101');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', field: 'limit' });
  });
});
