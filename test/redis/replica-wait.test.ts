// PMQ_REDIS_WAIT_REPLICAS on one Redis with a replica of its own: a write is
// answered once the replica has it, and refused (503, post again) when no
// replica takes it in time. The same path runs on a cluster in
// cluster-failover.test.ts, where it is what keeps a killed master's last 202s.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaWaitError } from '../../src/errors.js';
import { waitForReplicas } from '../../src/redis/replica-wait.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';

let master: TestRedis;
let replica: TestRedis;
let onMaster: Redis;
let onReplica: Redis;

beforeAll(async () => {
  master = await startRedisServer();
  replica = await startRedisServer();
  onMaster = new Redis(master.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  onReplica = new Redis(replica.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  await onMaster.config('SET', 'repl-diskless-sync-delay', '0');
  await onReplica.replicaof('127.0.0.1', master.port);
  await waitFor(async () => (await onReplica.info('replication')).includes('master_link_status:up'), 15_000, 'the replica to sync');
});
afterAll(async () => {
  onMaster?.disconnect();
  onReplica?.disconnect();
  await replica?.stop();
  await master?.stop();
});

describe('waitForReplicas', () => {
  it('resolves once the replica has the write, and says how many were missing when it cannot', async () => {
    await onMaster.set('written', '1');
    await waitForReplicas(onMaster, 'written', { replicas: 1, timeoutMs: 5000 });
    expect(await onReplica.get('written')).toBe('1');

    const err = await waitForReplicas(onMaster, 'written', { replicas: 2, timeoutMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicaWaitError);
    expect(err).toMatchObject({ got: 1, wanted: 2, status: 503 });
  });

  it('asks nothing of Redis when no replica is wanted', async () => {
    const before = Number(/total_commands_processed:(\d+)/.exec(await onMaster.info('stats'))![1]);
    await waitForReplicas(onMaster, 'written', { replicas: 0, timeoutMs: 1000 });
    // The INFO itself is the one command between the two counts.
    const after = Number(/total_commands_processed:(\d+)/.exec(await onMaster.info('stats'))![1]);
    expect(after - before).toBe(1);
  });
});

describe('POST /v1/events with PMQ_REDIS_WAIT_REPLICAS', () => {
  let t: TestService;
  afterAll(async () => t?.stop());

  it('answers 202 once the replica has the jobs, 503 while it is away; a post again after it is back counts once', async () => {
    t = await startTestService({
      roles: ['api', 'worker'],
      env: { REDIS_URL: master.url, PMQ_REDIS_WAIT_REPLICAS: '1', PMQ_REDIS_WAIT_TIMEOUT_MS: '200' },
    });
    const post = (id: string) => t.http('POST', '/v1/events', { body: { id, type: 'comment', to: 'alice', from: 'bob' } });
    expect((await post('w1')).status).toBe(202);
    await drained(t);

    await onReplica.replicaof('NO', 'ONE');
    const refused = await post('w2');
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'unavailable' });
    expect(refused.body.error.message).toMatch(/0 of 1 replicas/);

    await onReplica.replicaof('127.0.0.1', master.port);
    await waitFor(async () => (await onReplica.info('replication')).includes('master_link_status:up'), 15_000, 'the replica to sync again');
    await waitFor(async () => ((await post('w2')).status === 202 ? true : undefined), 15_000, 'w2 accepted');
    await drained(t);
    const unread = await t.http('GET', '/v1/users/alice/unread');
    expect(unread.body).toMatchObject({ total: 2, counts: { comment: 2 } });
  });
});
