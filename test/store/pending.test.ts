// Pending pages of many users in one go (the redelivery sweep's read): each user
// gets their own page, in seq order, whatever the number of users per script call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingPages } from '../../src/store/pending.js';
import { drained, startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ roles: ['api', 'worker'] });
});
afterAll(async () => {
  await t.stop();
});

describe('pendingPages', () => {
  it('reads the page of each of 120 users, those with nothing pending included', async () => {
    const uids = Array.from({ length: 120 }, (_, i) => `pp${i}`);
    // User i has i % 4 pending messages; acked ones (every third) are not pending.
    const events = uids.flatMap((to, i) => Array.from({ length: i % 4 }, (_, n) => ({ id: `${to}-${n}`, type: 'notice', to })));
    expect((await t.http('POST', '/v1/events', { body: { events } })).status).toBe(202);
    await drained(t);
    const acked = uids.filter((_, i) => i % 3 === 0 && i % 4 > 0).map((to) => `${to}-0`);
    for (const id of acked) {
      const uid = id.slice(0, id.lastIndexOf('-'));
      expect((await t.http('POST', `/v1/users/${uid}/ack`, { body: { ids: [id] } })).status).toBe(200);
    }

    const { redis, keys } = t.service.ctx;
    const pages = await pendingPages(redis, keys, uids, 'fast', 0, 2);
    expect(pages).toHaveLength(120);
    uids.forEach((uid, i) => {
      const expected = Array.from({ length: i % 4 }, (_, n) => `${uid}-${n}`).filter((id) => !acked.includes(id)).slice(0, 2);
      expect(pages[i]!.map((m) => m.id), uid).toEqual(expected);
      expect(pages[i]!.every((m) => m.state === 'pending' && m.tier === 'fast')).toBe(true);
    });
  });
});
