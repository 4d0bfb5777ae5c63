// Queued visitors are told their place (chat.queue {conversation, position,
// eta_seconds}) when it changes, and not when it does not; the eta follows the
// handling times of resolved conversations and the capacity online.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, rawSocket, wsUrl, type RawSocket } from '../helpers/ws-client.js';

const ADMIN_KEY = 'admin-key-0123456789abcdef';

let t: TestService;
const sockets: RawSocket[] = [];
beforeAll(async () => {
  t = await startTestService({ roles: ['api', 'gateway', 'worker'], env: { PMQ_ADMIN_KEY: ADMIN_KEY } });
});
afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await t?.stop();
});

async function signIn(uid: string): Promise<RawSocket> {
  const s = await rawSocket(`${wsUrl(t)}?token=${await mintToken(t, uid)}`);
  sockets.push(s);
  await s.waitForFrame('hello');
  return s;
}

const of = (s: RawSocket, type: string) => s.frames.filter((f) => f.type === type);

async function opens(s: RawSocket, clientId: string): Promise<string> {
  s.send({ type: 'chat.send', client_id: clientId, text: `from ${clientId}` });
  const m = await waitFor(() => of(s, 'chat.message').find((f) => f.client_id === clientId), 10_000, 'the echo');
  return m.conversation as string;
}

describe('queue places', () => {
  it('tells each queued visitor their place and eta when it changes, and not otherwise', async () => {
    expect((await t.http('PUT', '/v1/admin/agents/q1', { auth: ADMIN_KEY, body: { name: 'Q', capacity: 1 } })).status).toBe(201);
    const agent = await signIn('agent:q1');
    const first = await signIn('qa');
    const served = await opens(first, 'qa-1');
    await waitFor(() => of(agent, 'chat.conversation').find((c) => c.id === served), 10_000, 'the first served');

    const second = await signIn('qb');
    const third = await signIn('qc');
    const c2 = await opens(second, 'qb-1');
    const c3 = await opens(third, 'qc-1');
    // No conversation resolved yet: the eta assumes 5 minutes each, over a capacity of 1.
    expect(await second.waitForFrame('chat.queue')).toEqual({ type: 'chat.queue', conversation: c2, position: 1, eta_seconds: 300 });
    const place3 = await waitFor(() => of(third, 'chat.queue').find((q) => q.position === 2), 10_000, "the third's place");
    expect(place3).toEqual({ type: 'chat.queue', conversation: c3, position: 2, eta_seconds: 600 });

    // The first conversation resolved: the second is served, the third moves up; the eta learns the (short) handling time.
    agent.send({ type: 'chat.resolve', conversation: served });
    await waitFor(() => of(second, 'chat.conversation').find((c) => c.id === c2 && c.status === 'assigned'), 10_000, 'the second served');
    const moved = await waitFor(() => of(third, 'chat.queue').find((q) => q.position === 1), 10_000, 'the third moved up');
    expect(moved).toMatchObject({ conversation: c3, position: 1 });
    expect(moved.eta_seconds as number).toBeLessThan(300);

    // A fourth joins behind: the third's place is unchanged, so the third hears nothing new.
    const toldThird = of(third, 'chat.queue').length;
    const fourth = await signIn('qd');
    const c4 = await opens(fourth, 'qd-1');
    await waitFor(() => of(fourth, 'chat.queue').find((q) => q.conversation === c4 && q.position === 2), 10_000, "the fourth's place");
    expect(of(third, 'chat.queue')).toHaveLength(toldThird);
  });

  it('gives no eta while no agent is online', async () => {
    await t.service.ctx.chat.routing.presence('agent:q1', 'away');
    const alone = await signIn('qe');
    const c = await opens(alone, 'qe-1');
    const place = await waitFor(() => of(alone, 'chat.queue').find((q) => q.conversation === c), 10_000, 'its place');
    expect(place.eta_seconds).toBeNull();
  });

  it("shows every signed-in agent a new conversation that enters the queue, and the visitor its record", async () => {
    expect((await t.http('PUT', '/v1/admin/agents/q2', { auth: ADMIN_KEY, body: { name: 'Q2', capacity: 1 } })).status).toBe(201);
    const busy = await signIn('agent:q2');
    await t.service.ctx.chat.routing.presence('agent:q2', 'away');
    const visitor = await signIn('qf');
    const c = await opens(visitor, 'qf-1');
    // The console of an agent who takes none now still shows the queue: it is told.
    const told = await waitFor(() => of(busy, 'chat.conversation').find((f) => f.id === c), 10_000, 'the queued conversation at the console');
    expect(told).toMatchObject({ id: c, status: 'queued', agent: null, visitor: 'qf' });
    expect(await waitFor(() => of(visitor, 'chat.conversation').find((f) => f.id === c), 10_000, "the visitor's record")).toMatchObject({ status: 'queued' });
  });
});
