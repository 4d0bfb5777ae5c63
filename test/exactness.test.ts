// The counters are exact: 10,000 random events, duplicates and self-comments among
// them, posted through the real HTTP API to a real worker, then reads by id, by
// category and all, then more events (re-posts of read ones among them), and after
// each step every user's counts and feed are what a plain in-memory model says.
//
// The run prints its seed; PMQ_TEST_SEED=<seed> replays it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
const USERS = 300;

/**
 * One run of the workload from the seed, on a service (key prefix) of its own:
 * each test replays the steps before its own, so that it stands alone and the
 * seed still replays it exactly.
 */
interface Run {
  t: TestService;
  rand: () => number;
  model: UnreadModel;
  posted: TestEvent[];
}

let run: Run;
beforeEach(async () => {
  // The test is the main site posting as fast as it can: no rate limit in the way.
  const t = await startTestService({ env: { PMQ_RATE_LIMIT_PER_KEY: '0' } });
  run = { t, rand: seededRandom(seed), model: new UnreadModel(), posted: [] };
});
afterEach(async () => {
  await run?.t.stop();
});

const pick = <T>(rand: () => number, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

/** Step 1: 10,000 random events, posted and applied. */
async function postFirst({ t, rand, model, posted }: Run): Promise<TestEvent[][]> {
  const batches = generateBatches(rand, { events: 10_000, users: USERS, categories: CATEGORIES, maxBatch: 1000 });
  posted.push(...batches.flat());
  await postBatches(t, model, batches);
  await drained(t);
  return batches;
}

/** Step 2: reads by id, by category and all; what each answered that the model did not say. */
async function readSome({ t, rand, model, posted }: Run): Promise<{ reads: number; problems: string[] }> {
  const users = model.users();
  const reads: { uid: string; body: Record<string, unknown>; apply: () => void }[] = [];
  for (const uid of users) {
    const r = rand();
    if (r < 0.4) {
      // Some of the user's own ids (read and unread, self-comments too), one
      // twice, an unknown id, and another user's id.
      const own = model.messageIds(uid).filter(() => rand() < 0.5);
      const ids = [...own, 'no-such-event', pick(rand, posted).id];
      if (own.length > 0) ids.push(own[0]!);
      reads.push({ uid, body: { ids }, apply: () => model.readIds(uid, ids) });
    } else if (r < 0.7) {
      const categories = rand() < 0.7 ? [pick(rand, CATEGORIES)] : [pick(rand, CATEGORIES), pick(rand, CATEGORIES)];
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
  return { reads: reads.length, problems };
}

describe(`exact counts (seed ${seed}; replay with PMQ_TEST_SEED=${seed})`, () => {
  it('counts 10,000 random events exactly: duplicates once, self-comments never', async () => {
    console.log(`exactness: seed ${seed} (replay with PMQ_TEST_SEED=${seed})`);
    const { t, model, posted } = run;
    const batches = await postFirst(run);
    // The workload holds what it is meant to test.
    const distinct = new Set(posted.map((e) => `${e.to}\u0000${e.id}`)).size;
    expect(posted).toHaveLength(10_000);
    expect(posted.length - distinct).toBeGreaterThan(500);
    expect(posted.filter((e) => e.from === e.to).length).toBeGreaterThan(500);
    expect(batches.filter((b) => new Set(b.map((e) => `${e.to}\u0000${e.id}`)).size < b.length).length).toBeGreaterThan(5);

    expect(model.totalMessages()).toBe(distinct);
    const problems = await compareWithModel(t, model, model.users(), { feeds: true });
    expect(problems.slice(0, 20), `seed ${seed}: ${problems.length} differences`).toEqual([]);
  });

  it('reads by id, by category and all, and the counts follow exactly', async () => {
    const { t, model } = run;
    await postFirst(run);
    const { reads, problems } = await readSome(run);
    expect(problems.slice(0, 20), `seed ${seed}: ${problems.length} differences`).toEqual([]);
    expect(reads).toBeGreaterThan(150);

    const after = await compareWithModel(t, model, model.users(), { feeds: true });
    expect(after.slice(0, 20), `seed ${seed}: ${after.length} differences`).toEqual([]);
  });

  it('counts new events after reads, and re-posts of read events not at all', async () => {
    const { t, rand, model, posted } = run;
    await postFirst(run);
    const { problems: readProblems } = await readSome(run);
    expect(readProblems.slice(0, 20), `seed ${seed}: ${readProblems.length} differences in the reads`).toEqual([]);

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
      const e = pick(rand, late);
      batches.push([e], [{ ...e }], [pick(rand, posted)]);
    }
    await postBatches(t, model, batches);
    await drained(t);
    expect(model.totalUnread()).toBeGreaterThan(before);

    const problems = await compareWithModel(t, model, model.users(), { feeds: true });
    expect(problems.slice(0, 20), `seed ${seed}: ${problems.length} differences`).toEqual([]);
  });
});
