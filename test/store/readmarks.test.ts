// A read by category keeps state only for categories the user has: a user who
// names categories they never had, with their own token, leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, startTestService, type TestService } from '../helpers/service.js';
import { mintToken } from '../helpers/ws-client.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.stop();
});

describe('readmarks', () => {
  it('are written for categories with unread messages only', async () => {
    const uid = 'rm1';
    const token = await mintToken(t, uid);
    expect((await t.http('POST', '/v1/events', { body: { id: 'e1', type: 'comment', to: uid, from: 'x' } })).status).toBe(202);
    await drained(t);

    for (let r = 0; r < 10; r++) {
      const names = Array.from({ length: 100 }, (_, i) => `never.${r}.${i}`);
      const res = await t.http('POST', `/v1/users/${uid}/read`, { auth: token, body: { category: names } });
      expect(res).toMatchObject({ status: 200, body: { total: 1, counts: { comment: 1 } } });
    }
    const res = await t.http('POST', `/v1/users/${uid}/read`, { auth: token, body: { category: ['comment', 'never.x'] } });
    expect(res).toMatchObject({ status: 200, body: { total: 0, counts: {} } });
    expect(await t.service.ctx.redis.hkeys(t.service.ctx.keys.user(uid).readmark)).toEqual(['comment']);

    // The mark still does its job: the message read by category stays read by id.
    const again = await t.http('POST', `/v1/users/${uid}/read`, { auth: token, body: { ids: ['e1'] } });
    expect(again).toMatchObject({ status: 200, body: { total: 0 } });
    const [m] = (await t.http('GET', `/v1/users/${uid}/messages`)).body.messages;
    expect(m).toMatchObject({ id: 'e1', state: expect.stringMatching(/^(read)$/) });
  });
});
