// The counters are exact: 10,000 random events, duplicates and self-comments among
// them, posted through the real HTTP API to a real worker, then reads by id, by
// category and all, then more events (re-posts of read ones among them), and after
// each step every user's counts and feed are what a plain in-memory model says.
//
// The run prints its seed; PMQ_TEST_SEED=<seed> replays it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, startTestService, type TestService } from './helpers/service.js';
import {
  CATEGORIES,
  UnreadModel,
  compareWithModel,
  generateBatches,
  mapLimit,
  postBatches,
  seededRandom,
  sortKeys,
  testSeed,
  type TestEvent,
} from './helpers/unread-model.js';

const seed = testSeed();
const rand = seededRandom(seed);
const USERS = 300;

let t: TestService;
beforeAll(async () => {
  // The test is the main site posting as fast as it can: no rate limit in the way.
  t = await startTestService({ env: { PMQ_RATE_LIMIT_PER_KEY: '0' } });
});
afterAll(async () => {
  await t?.stop();
});

describe(`exact counts (seed ${seed}; replay with PMQ_TEST_SEED=${seed})`, () => {
  const model = new UnreadModel();
  let posted: TestEvent[] = [];

  it('counts 10,000 random events exactly: duplicates once, self-comments never', async () => {
    console.log(`exactness: seed ${seed} (replay with PMQ_TEST_SEED=${seed})`);
    const batches = generateBatches(rand, { events: 10_000, users: USERS, categories: CATEGORIES, maxBatch: 1000 });
    posted = batches.flat();
    // The workload holds what it is meant to test.
    const distinct = new Set(posted.map((e) => `${e.to}\u0000${e.id}`)).size;
    expect(posted).toHaveLength(10_000);
    expect(posted.length - distinct).toBeGreaterThan(500);
    expect(posted.filter((e) => e.from === e.to).length).toBeGreaterThan(500);
    expect(batches.filter((b) => new Set(b.map((e) => `${e.to}\u0000${e.id}`)).size < b.length).length).toBeGreaterThan(5);

    await postBatches(t, model, batches);
    await drained(t);

    expect(model.totalMessages()).toBe(distinct);
    const problems = await compareWithModel(t, model, model.users(), { feeds: true });
    expect(problems.slice(0, 20), `seed ${seed}: ${problems.length} differences`).toEqual([]);
  });

  it('reads by id, by category and all, and the counts follow exactly', async () => {
    const users = model.users();
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
    const reads: { uid: string; body: Record<string, unknown>; apply: () => void }[] = [];
    for (const uid of users) {
      const r = rand();
      if (r < 0.4) {
        // Some of the user's own ids (read and unread, self-comments too), one
        // twice, an unknown id, and another user's id.
        const own = model.messageIds(uid).filter(() => rand() < 0.5);
        const ids = [...own, 'no-such-event', pick(posted).id];
        if (own.length > 0) ids.push(own[0]!);
        reads.push({ uid, body: { ids }, apply: () => model.readIds(uid, ids) });
      } else if (r < 0.7) {
        const categories = rand() < 0.7 ? [pick(CATEGORIES)] : [pick(CATEGORIES), pick(CATEGORIES)];
        const body = { category: categories.length === 1 ? categories[0] : categories };
        reads.push({ uid, body, apply: () => model.readCategories(uid, categories) });
      } else if (r < 0.75) {
        reads.push({ uid, body: {}, apply: () => model.readAll(uid) });
      }
    }
    // A second read of a few users, of the kind that must change nothing more.
    for (const read of reads.slice(0, 20)) reads.push({ ...read });

    const problems: string[] = [];
    // Reads of one user go one after the other; users in parallel.
    const byUser = new Map<string, typeof reads>();
    for (const read of reads) byUser.set(read.uid, [...(byUser.get(read.uid) ?? []), read]);
    await mapLimit([...byUser.values()], 8, async (list) => {
      for (const read of list) {
        const r = await t.http('POST', `/v1/users/${read.uid}/read`, { body: read.body });
        read.apply();
        const want = model.counts(read.uid);
        if (r.status !== 200 || JSON.stringify({ ...r.body, counts: sortKeys(r.body.counts ?? {}) }) !== JSON.stringify(want)) {
          problems.push(`${read.uid} read ${JSON.stringify(read.body).slice(0, 200)}: got ${r.status} ${JSON.stringify(r.body)}, want ${JSON.stringify(want)}`);
        }
      }
    });
    expect(problems.slice(0, 20), `seed ${seed}: ${problems.length} differences`).toEqual([]);
    expect(reads.length).toBeGreaterThan(150);

    const after = await compareWithModel(t, model, users, { feeds: true });
    expect(after.slice(0, 20), `seed ${seed}: ${after.length} differences`).toEqual([]);
  });

  it('counts new events after reads, and re-posts of read events not at all', async () => {
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
    const before = model.totalUnread();
    const batches = generateBatches(rand, {
      events: 2000,
      users: USERS,
      categories: CATEGORIES,
      maxBatch: 500,
      idPrefix: 'late',
      earlier: posted,
    });
    // Re-post a whole early batch's worth of old events too: read or not, none of
    // them may count again.
    batches.push(posted.slice(0, 800));
    // And some events one request each (a bare event body, not a batch): new ones
    // posted twice, old ones once more.
    const late = batches.flat();
    for (let i = 0; i < 20; i++) {
      const e = pick(late);
      batches.push([e], [{ ...e }], [pick(posted)]);
    }
    await postBatches(t, model, batches);
    await drained(t);
    expect(model.totalUnread()).toBeGreaterThan(before);

    const problems = await compareWithModel(t, model, model.users(), { feeds: true });
    expect(problems.slice(0, 20), `seed ${seed}: ${problems.length} differences`).toEqual([]);
  });
});
