// PMQ on Redis Sentinel: it finds the master through the sentinels alone, and
// after a failover its API and workers carry on on the new master by themselves.
// What the old master had replicated survives; re-posts count nothing twice.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisServer, startSentinel, type TestRedis, type TestSentinel } from '../helpers/redis-server.js';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';
import { connectUser, type RecordingClient } from '../helpers/ws-client.js';

const servers: TestRedis[] = [];
const admin: Redis[] = [];
let sentinel: TestSentinel | undefined;
let t: TestService | undefined;
let alice: RecordingClient | undefined;
afterAll(async () => {
  alice?.close();
  await t?.stop();
  for (const r of admin) r.disconnect();
  await sentinel?.stop();
  for (const s of servers) await s.stop();
});

function client(port: number): Redis {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 1 });
  admin.push(r);
  return r;
}

describe('Redis Sentinel', () => {
  it('finds the master through the sentinels and carries on after a failover', async () => {
    const master = await startRedisServer();
    const replica = await startRedisServer();
    servers.push(master, replica);
    const onMaster = client(master.port);
    const onReplica = client(replica.port);
    // A replica's first sync would wait 5 s for others to join it (the default).
    await onMaster.config('SET', 'repl-diskless-sync-delay', '0');
    await onReplica.replicaof('127.0.0.1', master.port);
    await waitFor(async () => (await onReplica.info('replication')).includes('master_link_status:up'), 15_000, 'the replica to sync');
    sentinel = await startSentinel(master);
    const onSentinel = client(sentinel.port);
    await waitFor(
      async () => ((await onSentinel.call('SENTINEL', 'REPLICAS', 'mymaster')) as unknown[]).length === 1,
      15_000,
      'the sentinel to see the replica',
    );

    // The URL's host is not used with sentinels: nothing listens on port 1.
    t = await startTestService({
      roles: ['api', 'gateway', 'worker'],
      env: { REDIS_URL: 'redis://127.0.0.1:1', PMQ_REDIS_SENTINELS: `127.0.0.1:${sentinel.port}` },
    });
    const svc = t;
    const post = async (ids: string[]) => {
      const events = ids.map((id) => ({ id, type: 'comment', to: 'alice', from: 'bob' }));
      // Refused (503) while the connections move to the new master: post again, unchanged.
      await waitFor(
        async () => {
          const r = await svc.http('POST', '/v1/events', { body: { events } });
          if (r.status !== 202) expect(r.body.error.code).toBe('unavailable');
          return r.status === 202;
        },
        30_000,
        'a 202',
      );
    };
    const total = async () => {
      const r = await svc.http('GET', '/v1/users/alice/unread');
      return r.status === 200 ? (r.body.total as number) : -1;
    };

    alice = await connectUser(svc, 'alice');
    await post(['e1', 'e2']);
    await waitFor(async () => (await total()) === 2, 15_000, 'two unread on the first master');
    expect((await alice.waitForMessages(2)).map((m) => m.id)).toEqual(['e1', 'e2']);
    expect(await onMaster.exists(`${svc.config.keyPrefix}:{u:alice}:unread`)).toBe(1);
    // What the failover keeps is what reached the replica (asynchronous replication).
    expect(await onMaster.call('WAIT', '1', '5000')).toBe(1);
    // As docs/operations.md says to run a master: with no replica it refuses
    // writes. Without it, the old master takes writes until the sentinel turns it
    // into a replica (seconds later), and loses them when it resyncs from the new
    // one. (Not on the new master here: with one replica it would refuse writes
    // until the old master has rejoined as its replica.)
    await onMaster.config('SET', 'min-replicas-to-write', '1');

    await onSentinel.call('SENTINEL', 'FAILOVER', 'mymaster');
    await waitFor(
      async () => {
        const addr = (await onSentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')) as string[];
        return Number(addr[1]) === replica.port && (await onReplica.role())[0] === 'master';
      },
      30_000,
      'the sentinel to promote the replica',
    );

    // New events, and re-posts of the old ones, at once: refused by the old master
    // until the service follows the sentinels to the new one.
    await post(['e1', 'e2', 'e3']);
    // It followed the sentinels' word (+switch-master), not the old master's own
    // demotion, which the sentinel sends some 10 s after the failover.
    expect((await onMaster.role())[0]).toBe('master');
    await waitFor(async () => (await total()) === 3, 30_000, 'three unread after the failover');
    // The gateway's node channel followed too: the new message is pushed.
    const got = await alice.waitForMessages(3);
    expect(got.map((m) => m.id)).toEqual(['e1', 'e2', 'e3']);
    expect(await onReplica.hget(`${svc.config.keyPrefix}:{u:alice}:unread`, 'comment')).toBe('3');
    // Nothing late changes it (a job retried after a backoff, say): e1 and e2 were
    // not counted twice once no job is left to run.
    await drained(svc);
    expect(await total()).toBe(3);
  });
});
