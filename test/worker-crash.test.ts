// Nothing accepted is lost and nothing is counted twice, whatever is killed: a
// worker process (`pmq worker`, a real child process) is SIGKILLed in the middle
// of a run, twice, and a new one finishes the work; the final counts and feeds
// are exactly what a plain in-memory model says. A worker sent SIGTERM exits 0
// within a bounded time, leaving no job in flight, and another finishes the rest.
//
// The API runs in this process (its own key prefix); the workers are separate
// processes with the same environment. The run prints its seed; PMQ_TEST_SEED
// replays it.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { drained, startTestService, testEnv, waitFor, type TestService } from './helpers/service.js';
import { killAllRoles, spawnRole, type RoleProcess } from './helpers/spawn-role.js';
import {
  CATEGORIES,
  UnreadModel,
  compareWithModel,
  generateBatches,
  mapLimit,
  postBatches,
  seededRandom,
  testSeed,
} from './helpers/unread-model.js';

const seed = testSeed();
const rand = seededRandom(seed);

const services: TestService[] = [];
afterEach(async () => {
  await killAllRoles();
  await Promise.all(services.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await killAllRoles();
});

/** An API-only service in this process, and the env a worker process needs to join it. */
async function apiOnly(): Promise<{ t: TestService; env: Record<string, string> }> {
  const env = testEnv({
    // The main site posting flat out: no rate limit in the way.
    PMQ_RATE_LIMIT_PER_KEY: '0',
    // Small chunks make many jobs, so that a worker is busy long enough to be
    // killed in the middle of the run.
    PMQ_INGEST_CHUNK: '10',
    // A dead worker's jobs are picked up again after about a second.
    PMQ_LOCK_MS: '1000',
    PMQ_STALLED_INTERVAL_MS: '500',
    PMQ_SHUTDOWN_TIMEOUT_MS: '10000',
  });
  const t = await startTestService({ roles: ['api'], env });
  services.push(t);
  return { t, env };
}

interface JobCounts {
  completed: number;
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  failed: number;
}

/** The events queue's jobs by state: only the queue can tell how far a run is. */
async function jobs(t: TestService): Promise<JobCounts> {
  const c = await t.service.ctx.queues.events.getJobCounts('completed', 'waiting', 'active', 'delayed', 'prioritized', 'failed');
  return c as unknown as JobCounts;
}

/** The unread totals of these users, summed, as GET /v1/users/:uid/unread gives them. */
async function totalUnread(t: TestService, uids: string[]): Promise<number> {
  const totals = await mapLimit(uids, 16, async (uid) => {
    const r = await t.http('GET', `/v1/users/${uid}/unread`);
    if (r.status !== 200) throw new Error(`GET /v1/users/${uid}/unread: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.total as number;
  });
  return totals.reduce((a, b) => a + b, 0);
}

const unfinished = (c: JobCounts) => c.waiting + c.active + c.delayed + c.prioritized;

/**
 * Waits until `worker` has completed `jobsDone` more jobs than `from` while jobs
 * are in flight, then sends `signal` at once. Returns the queue's counts just
 * before the signal.
 */
async function signalMidRun(
  t: TestService,
  worker: RoleProcess,
  signal: NodeJS.Signals,
  from: number,
  jobsDone: number,
  allPosted: () => boolean = () => true,
): Promise<JobCounts> {
  let at: JobCounts | undefined;
  await waitFor(
    async () => {
      const posted = allPosted();
      const c = await jobs(t);
      if (posted && unfinished(c) === 0) {
        throw new Error(`the worker finished every job before it could be sent ${signal} (${JSON.stringify(c)})`);
      }
      if (c.completed - from >= jobsDone && c.active > 0) at = c;
      return at;
    },
    20_000,
    `${jobsDone} jobs to complete`,
  );
  worker.child.kill(signal);
  return at!;
}

describe(`worker processes killed mid-run (seed ${seed}; replay with PMQ_TEST_SEED=${seed})`, () => {
  it('SIGKILL twice mid-run: a new worker finishes, nothing lost, nothing counted twice', async () => {
    console.log(`worker-crash: seed ${seed} (replay with PMQ_TEST_SEED=${seed})`);
    const { t, env } = await apiOnly();
    const model = new UnreadModel();
    const batches = generateBatches(rand, { events: 20_000, users: 400, categories: CATEGORIES, maxBatch: 1000, idPrefix: 'k' });

    // The first worker runs while the events come in.
    const first = await spawnRole('worker', env);
    let allPosted = false;
    const posting = postBatches(t, model, batches, 2).finally(() => (allPosted = true));
    posting.catch(() => {}); // awaited below; a failure before that must not go unhandled
    const atFirstKill = await signalMidRun(t, first, 'SIGKILL', 0, 150, () => allPosted);
    expect((await first.exited).signal).toBe('SIGKILL');
    // The jobs the dead worker held are still taken: only stall detection frees them.
    const afterFirstKill = await jobs(t);
    expect(afterFirstKill.active, `jobs in flight at the first kill: ${JSON.stringify(afterFirstKill)}`).toBeGreaterThan(0);
    // Accepting events does not need a worker: the rest still gets a 202.
    await posting;

    // Every event is accepted now: the second worker is killed part way through
    // what is left.
    const second = await spawnRole('worker', env);
    const before = await jobs(t);
    const atSecondKill = await signalMidRun(t, second, 'SIGKILL', before.completed, Math.ceil(unfinished(before) / 3));
    expect((await second.exited).signal).toBe('SIGKILL');
    const afterKills = await jobs(t);
    expect(afterKills.active, `jobs in flight at the second kill: ${JSON.stringify(afterKills)}`).toBeGreaterThan(0);
    expect(afterKills.waiting, `jobs left after the second kill: ${JSON.stringify(afterKills)}`).toBeGreaterThan(0);
    console.log(`worker-crash: killed at ${JSON.stringify(atFirstKill)} and ${JSON.stringify(atSecondKill)}`);
    // As a user sees it: some of the counts are there, not all of them.
    const shown = await totalUnread(t, model.users());
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(model.totalUnread());

    // A third worker takes over the jobs the dead ones held, and the rest.
    const third = await spawnRole('worker', env);
    await drained(t, 40_000);

    const problems = await compareWithModel(t, model, model.users(), { feeds: true });
    expect(problems.slice(0, 20), `seed ${seed}: ${problems.length} differences`).toEqual([]);
    const end = await jobs(t);
    expect(end.failed, `jobs given up: ${JSON.stringify(end)}`).toBe(0);
    expect(model.totalUnread()).toBeGreaterThan(10_000);

    expect(await third.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM: the worker exits 0 in bounded time with no job left in flight; another finishes the rest exactly', async () => {
    const { t, env } = await apiOnly();
    const model = new UnreadModel();
    const batches = generateBatches(rand, { events: 10_000, users: 300, categories: CATEGORIES, maxBatch: 1000, idPrefix: 's' });
    await postBatches(t, model, batches, 2);

    const leaver = await spawnRole('worker', env);
    const start = await jobs(t);
    const atTerm = await signalMidRun(t, leaver, 'SIGTERM', start.completed, Math.ceil(unfinished(start) / 4));
    const t0 = Date.now();
    const exit = await leaver.exited;
    const took = Date.now() - t0;
    expect(exit, leaver.output().slice(-2000)).toEqual({ code: 0, signal: null });
    // Well inside PMQ_SHUTDOWN_TIMEOUT_MS (10 s), after which it would exit 1.
    expect(took).toBeLessThan(5000);
    // No job is left locked by the worker that left: none waits for stall detection.
    const afterExit = await jobs(t);
    expect(afterExit.active, JSON.stringify(afterExit)).toBe(0);
    expect(unfinished(afterExit), `jobs left for the next worker: ${JSON.stringify(afterExit)}`).toBeGreaterThan(0);
    console.log(`worker-crash: SIGTERM at ${JSON.stringify(atTerm)}, exited 0 after ${took} ms, left ${JSON.stringify(afterExit)}`);

    const next = await spawnRole('worker', env);
    await drained(t, 40_000);
    const problems = await compareWithModel(t, model, model.users(), { feeds: true });
    expect(problems.slice(0, 20), `seed ${seed}: ${problems.length} differences`).toEqual([]);
    const end = await jobs(t);
    expect(end.failed, `jobs given up: ${JSON.stringify(end)}`).toBe(0);
    expect(await next.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
