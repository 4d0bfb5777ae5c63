// A push is never lost to a retried events job. The apply is atomic, the publish
// that follows is not: when the publish fails, or the worker dies before it, the
// job is retried and its events are then duplicates. The online user must still
// get the message and its count, within the ack timeout, and nothing twice.
//
// Real failures, not mocks: the worker logs in to a private redis-server as its
// own ACL user, whose permission to PUBLISH (or to write the redelivery schedule)
// is taken away and given back. The API and the gateway run in this process as
// the default user; the sockets are real WebSockets that see every frame on the
// wire (duplicates included).
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { wireClient, type WireClient } from '../helpers/cluster.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { drained, startTestService, testEnv, waitFor, type TestService } from '../helpers/service.js';
import { killAllRoles, spawnRole } from '../helpers/spawn-role.js';
import { mintToken, wsUrl } from '../helpers/ws-client.js';

const WORKER_USER = 'pmq-worker';
const WORKER_PASSWORD = 'worker-password-0123456789';
const ACK_TIMEOUT_MS = 4000;

let redis: TestRedis;
let admin: Redis;
beforeAll(async () => {
  redis = await startRedisServer();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await killAllRoles();
  for (const stop of stops.splice(0).reverse()) await stop();
});

interface Setup {
  front: TestService;
  /** The env of a worker that logs in as WORKER_USER. */
  workerEnv: Record<string, string>;
  prefix: string;
}

/** The API and a gateway (default user), and the env a worker of the same service needs. */
async function setup(): Promise<Setup> {
  const env = testEnv({ REDIS_URL: redis.url, PMQ_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS) });
  const front = await startTestService({ roles: ['api', 'gateway'], env });
  stops.push(() => front.stop());
  const workerUrl = new URL(redis.url);
  workerUrl.username = WORKER_USER;
  workerUrl.password = WORKER_PASSWORD;
  return { front, workerEnv: { ...env, REDIS_URL: workerUrl.toString() }, prefix: env.PMQ_KEY_PREFIX! };
}

/**
 * What the worker's Redis user may do: everything, or everything but PUBLISH, or
 * everything but writing the redelivery schedule (`<prefix>:{redeliver}:*`; ACL
 * key patterns only allow, so the others are listed).
 */
async function allowWorker(prefix: string, opts: { publish: boolean; redelivery: boolean }): Promise<void> {
  const keys = opts.redelivery ? ['~*'] : [`~${prefix}:[^{]*`, `~${prefix}:{[^r]*`, `~{${prefix}}*`];
  await admin.call(
    'ACL',
    'SETUSER',
    WORKER_USER,
    'on',
    `>${WORKER_PASSWORD}`,
    'resetkeys',
    ...keys,
    'resetchannels',
    '&*',
    '+@all',
    opts.publish ? '+publish' : '-publish',
  );
}

async function inProcessWorker(s: Setup): Promise<TestService> {
  const w = await startTestService({ roles: ['worker'], env: s.workerEnv });
  stops.push(() => w.stop());
  return w;
}

async function online(s: Setup, uid: string): Promise<WireClient> {
  const c = await wireClient(wsUrl(s.front), await mintToken(s.front, uid));
  stops.push(() => c.ws.terminate());
  return c;
}

const post = (s: Setup, body: unknown) => s.front.http('POST', '/v1/events', { body });

/** Waits until the job of these events has failed `attempts` times, for `reason` (and waits in its backoff). */
type JobState = 'delayed' | 'waiting' | 'active';
async function failedAttempts(s: Setup, attempts: number, reason: RegExp, states: JobState[] = ['delayed', 'waiting', 'active']) {
  return waitFor(
    async () => {
      const jobs = await s.front.service.ctx.queues.events.getJobs(states);
      return jobs.find((j) => j.attemptsMade >= attempts && reason.test(j.failedReason ?? ''));
    },
    15_000,
    `${attempts} attempt(s) failed with ${reason}`,
  );
}

/** Every count the socket was sent: `unread` frames, and those riding on a pushed message. */
const unreadFrames = (c: WireClient) =>
  c.frames.flatMap((f) => {
    const u = f.type === 'unread' ? f : f.type === 'message' ? (f.unread as typeof f | undefined) : undefined;
    return u ? [{ total: u.total, counts: u.counts }] : [];
  });
const ids = (c: WireClient) => c.messages().map((m) => m.id);

describe('a retried events job', () => {
  it('pushes the message and its count when the publish of the first attempt was refused', async () => {
    const s = await setup();
    await allowWorker(s.prefix, { publish: false, redelivery: true });
    await inProcessWorker(s);
    const c = await online(s, 'pa');

    expect((await post(s, { id: 'pa-1', type: 'comment', to: 'pa', from: 'bob', title: 'hi' })).status).toBe(202);
    await failedAttempts(s, 1, /NOPERM/);
    // Applied, not pushed.
    expect((await s.front.http('GET', '/v1/users/pa/unread')).body.total).toBe(1);
    expect(ids(c)).toEqual([]);

    // Redis lets the worker publish again: the retry pushes, well before a
    // redelivery would (there is none: the first attempt never got that far).
    await allowWorker(s.prefix, { publish: true, redelivery: true });
    await c.waitForMessages(1, ACK_TIMEOUT_MS);
    await waitFor(() => unreadFrames(c).length > 0, ACK_TIMEOUT_MS, 'the unread count pushed');
    expect(unreadFrames(c).at(-1)).toEqual({ total: 1, counts: { comment: 1 } });

    // Nothing twice: one more event, and everything is as a user counts it.
    await post(s, { id: 'pa-2', type: 'notice', to: 'pa' });
    await c.waitForMessages(2);
    expect(ids(c)).toEqual(['pa-1', 'pa-2']);
    await waitFor(() => unreadFrames(c).at(-1)?.total === 2, 5000, 'the second count');
    expect(unreadFrames(c).at(-1)).toEqual({ total: 2, counts: { comment: 1, notice: 1 } });
    expect((await s.front.http('GET', '/v1/users/pa/unread')).body).toEqual({ uid: 'pa', total: 2, counts: { comment: 1, notice: 1 } });
  });

  it('pushes the message when the worker died between apply and publish, and a fresh worker retries', async () => {
    const s = await setup();
    // The publish is refused, so the job sits in its backoff with its events
    // applied and nothing sent: the worker is killed right there.
    await allowWorker(s.prefix, { publish: false, redelivery: true });
    const first = await spawnRole('worker', s.workerEnv);
    const c = await online(s, 'pb');

    expect((await post(s, { id: 'pb-1', type: 'comment', to: 'pb', from: 'bob' })).status).toBe(202);
    // Killed while the job waits out its backoff, not while it runs: the fresh
    // worker takes it when the backoff ends, not after a stalled-job check.
    const job = await failedAttempts(s, 1, /NOPERM/, ['delayed']);
    expect(await first.kill('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    expect(await job.getState()).not.toBe('completed');
    expect((await s.front.http('GET', '/v1/users/pb/unread')).body.total).toBe(1);
    expect(ids(c)).toEqual([]);

    await allowWorker(s.prefix, { publish: true, redelivery: true });
    await spawnRole('worker', s.workerEnv);
    await c.waitForMessages(1, ACK_TIMEOUT_MS);
    await waitFor(() => unreadFrames(c).length > 0, ACK_TIMEOUT_MS, 'the unread count pushed');
    expect(unreadFrames(c).at(-1)).toEqual({ total: 1, counts: { comment: 1 } });

    await post(s, { id: 'pb-2', type: 'comment', to: 'pb', from: 'carol' });
    await c.waitForMessages(2);
    expect(ids(c)).toEqual(['pb-1', 'pb-2']);
    await waitFor(() => unreadFrames(c).at(-1)?.total === 2, 5000, 'the second count');
    expect((await s.front.http('GET', '/v1/users/pb/unread')).body).toEqual({ uid: 'pb', total: 2, counts: { comment: 2 } });
  });

  it('schedules the redelivery when that step failed after the publish: an unacked message comes again', async () => {
    const s = await setup();
    // The publish goes through; writing the redelivery schedule is refused.
    await allowWorker(s.prefix, { publish: true, redelivery: false });
    await inProcessWorker(s);
    const c = await wireClient(wsUrl(s.front), await mintToken(s.front, 'pc'), { ack: false });
    stops.push(() => c.ws.terminate());

    await post(s, { id: 'pc-1', type: 'notice', to: 'pc' });
    await c.waitForMessages(1);
    await failedAttempts(s, 1, /NOPERM/);

    // The client never acks: once the schedule can be written, the retry puts
    // the user on it, and after the ack timeout the message comes again.
    // Without that, never again.
    await allowWorker(s.prefix, { publish: true, redelivery: true });
    await drained(s.front);
    const afterRetry = ids(c).length;
    await waitFor(() => ids(c).length > afterRetry, 2 * ACK_TIMEOUT_MS, 'the message redelivered');
    expect(new Set(ids(c))).toEqual(new Set(['pc-1']));
    expect((await s.front.http('GET', '/v1/users/pc/unread')).body).toEqual({ uid: 'pc', total: 1, counts: { notice: 1 } });
  });

  it('does not push again a message acked meanwhile, and counts it once', async () => {
    const s = await setup();
    await allowWorker(s.prefix, { publish: false, redelivery: true });
    await inProcessWorker(s);
    const phone = await online(s, 'pd');

    await post(s, { id: 'pd-1', type: 'comment', to: 'pd', from: 'bob' });
    await failedAttempts(s, 1, /NOPERM/);
    // Another device logs in while the job waits: the login sends the pending
    // message, and the device acks it.
    const laptop = await online(s, 'pd');
    expect(ids(laptop)).toEqual(['pd-1']);
    await waitFor(
      async () => (await s.front.http('GET', '/v1/users/pd/messages')).body.messages[0]?.state === 'delivered',
      5000,
      'pd-1 acked',
    );

    // The retry finds it acked: it is not pushed to anyone again. The marker
    // after it is, to both devices.
    await allowWorker(s.prefix, { publish: true, redelivery: true });
    await drained(s.front);
    await post(s, { id: 'pd-2', type: 'notice', to: 'pd' });
    await phone.waitForMessages(1);
    await laptop.waitForMessages(2);
    expect(ids(phone)).toEqual(['pd-2']);
    expect(ids(laptop)).toEqual(['pd-1', 'pd-2']);
    await waitFor(() => unreadFrames(phone).at(-1)?.total === 2, 5000, 'the count after the marker');
    expect(unreadFrames(phone).at(-1)).toEqual({ total: 2, counts: { comment: 1, notice: 1 } });
    expect((await s.front.http('GET', '/v1/users/pd/unread')).body).toEqual({ uid: 'pd', total: 2, counts: { comment: 1, notice: 1 } });
  });
});
