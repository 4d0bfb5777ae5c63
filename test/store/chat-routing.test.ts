// The chat's routing steps on real Redis (one, or the cluster: every step is one
// script on slot {cs}), against the rules as a model (helpers/routing-model.ts):
// random agents (capacities, presence, grace, leaving), conversations opened,
// resolved and transferred. After every step: no conversation held twice, no
// agent over capacity, the queue FIFO and empty whenever an agent is free, the
// last agent preferred exactly when available, and the state read back from
// Redis equal to the model's.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCluster } from '../../src/redis/client.js';
import { Keys } from '../../src/redis/keys.js';
import type { RoutingMoves } from '../../src/redis/scripts.js';
import { HttpError } from '../../src/errors.js';
import { ChatRouting } from '../../src/store/chat-routing.js';
import { RoutingModel } from '../helpers/routing-model.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ roles: ['api'] });
});
afterAll(async () => t?.stop());

/** A routing state of its own (a fresh key prefix) on the run's Redis. */
function freshRouting(opts: { maxAgents?: number; drainLimit?: number; seed?: number } = {}): ChatRouting {
  const { redis } = t.service.ctx;
  const keys = new Keys(`r${randomBytes(5).toString('hex')}`, 16, isCluster(redis));
  let seed = opts.seed ?? 1;
  return new ChatRouting(redis, keys, {
    maxAgents: opts.maxAgents ?? 50,
    drainLimit: opts.drainLimit,
    random: () => (seed = (seed * 48271) % 2147483647),
  });
}

describe('ChatRouting, by example', () => {
  it('assigns to the least loaded online agent, queues when none is free, drains the queue in order when a slot frees', async () => {
    const r = freshRouting();
    await r.setAgent('agent:a', { name: 'A', capacity: 1 });
    await r.setAgent('agent:b', { name: 'B', capacity: 2 });
    expect((await r.route('c1', 1000, null)).result).toEqual({ outcome: 'queued', position: 1 });
    await r.presence('agent:a', 'online');
    // Going online drained c1 to A.
    expect(await r.placeOf('c1')).toEqual({ agent: 'agent:a' });
    expect((await r.route('c2', 2000, null)).result).toEqual({ outcome: 'queued', position: 1 });
    expect((await r.route('c3', 3000, null)).result).toEqual({ outcome: 'queued', position: 2 });
    const online = await r.presence('agent:b', 'online');
    expect(online.assigned).toEqual([
      { conversation: 'c2', agent: 'agent:b' },
      { conversation: 'c3', agent: 'agent:b' },
    ]);
    expect((await r.route('c4', 4000, null)).result).toEqual({ outcome: 'queued', position: 1 });
    const released = await r.release('c1');
    expect(released.result).toEqual({ was: 'held', agent: 'agent:a' });
    expect(released.assigned).toEqual([{ conversation: 'c4', agent: 'agent:a' }]);
    // Every step counts one version, in the order they ran.
    expect(released.version).toBeGreaterThan(online.version);
    // A route again changes nothing: the step is idempotent.
    expect((await r.route('c4', 9999, null)).result).toEqual({ outcome: 'held', agent: 'agent:a' });
  });

  it('prefers the last agent only while online, connected and under capacity', async () => {
    const r = freshRouting();
    for (const a of ['agent:a', 'agent:b']) {
      await r.setAgent(a, { name: a, capacity: 5 });
      await r.presence(a, 'online');
    }
    await r.route('x1', 1, null);
    await r.route('x2', 2, null);
    // Loads are 1 and 1: the preferred one wins the tie, whoever it is.
    expect((await r.route('p1', 3, 'agent:b')).result).toEqual({ outcome: 'assigned', agent: 'agent:b' });
    await r.presence('agent:b', 'away');
    expect((await r.route('p2', 4, 'agent:b')).result).toEqual({ outcome: 'assigned', agent: 'agent:a' });
    await r.presence('agent:b', 'online');
    await r.presence('agent:b', 'disconnected', Date.now() + 60_000);
    expect((await r.route('p3', 5, 'agent:b')).result).toEqual({ outcome: 'assigned', agent: 'agent:a' });
    // Back within the grace period: the status they had, and their conversations.
    const back = await r.presence('agent:b', 'connected');
    expect(back.result).toEqual({ before: 'online', inGrace: true });
    // p1, and whichever of x1 and x2 the tie gave them.
    const held = await r.heldBy('agent:b');
    expect(held).toHaveLength(2);
    expect(held).toContain('p1');
  });

  it("requeues an agent's conversations at their first waiting_since when the grace ends, and gives them to the next free agent", async () => {
    const r = freshRouting();
    await r.setAgent('agent:a', { name: 'A', capacity: 2 });
    await r.presence('agent:a', 'online');
    await r.route('old', 100, null);
    await r.route('new', 300, null);
    await r.setAgent('agent:b', { name: 'B', capacity: 1 });
    await r.route('waiting', 200, null);
    await r.presence('agent:a', 'disconnected', 5000);
    expect((await r.sweepGrace(4999)).result).toEqual({ offline: 0, moreDue: false });
    expect(await r.heldBy('agent:a')).toEqual(['old', 'new']);
    await r.presence('agent:b', 'online');
    // B took the one waiting; A's come back in waiting_since order around it... once B is full, all wait.
    const swept = await r.sweepGrace(5000);
    expect(swept.result).toEqual({ offline: 1, moreDue: false });
    expect(swept.requeued.sort()).toEqual(['new', 'old']);
    expect((await r.queue(10)).waiting.map((w) => w.conversation)).toEqual(['old', 'new']);
    expect((await r.agents()).map((a) => [a.agent, a.status, a.load])).toEqual([
      ['agent:a', 'offline', 0],
      ['agent:b', 'online', 1],
    ]);
  });

  it('refuses a transfer to an agent who is away, full or unknown, and changes nothing', async () => {
    const r = freshRouting();
    await r.setAgent('agent:a', { name: 'A', capacity: 1 });
    await r.setAgent('agent:b', { name: 'B', capacity: 1 });
    await r.presence('agent:a', 'online');
    await r.presence('agent:b', 'online');
    await r.route('c1', 1, 'agent:a');
    await r.route('c2', 2, 'agent:b');
    for (const [to, code] of [
      ['agent:b', 'agent_unavailable'],
      ['agent:nobody', 'unknown_agent'],
    ] as const) {
      const err = await r.transfer('c1', to).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpError);
      expect((err as HttpError).code).toBe(code);
    }
    expect(((await r.transfer('nope', null).catch((e: unknown) => e)) as HttpError).code).toBe('not_assigned');
    expect(await r.placeOf('c1')).toEqual({ agent: 'agent:a' });
    expect(await r.placeOf('c2')).toEqual({ agent: 'agent:b' });
  });

  it('refuses a new agent past PMQ_CHAT_MAX_AGENTS, and still updates a registered one', async () => {
    const r = freshRouting({ maxAgents: 2 });
    await r.setAgent('agent:a', { name: 'A', capacity: 1 });
    await r.setAgent('agent:b', { name: 'B', capacity: 1 });
    expect(((await r.setAgent('agent:c', { name: 'C', capacity: 1 }).catch((e: unknown) => e)) as HttpError).code).toBe('too_many_agents');
    expect((await r.setAgent('agent:b', { name: 'Bee', capacity: 3 })).result).toEqual({ created: false });
    expect(await r.agent('agent:c')).toBeNull();
    expect((await r.agents()).map((a) => [a.agent, a.name, a.capacity])).toEqual([
      ['agent:a', 'A', 1],
      ['agent:b', 'Bee', 3],
    ]);
  });
});

type Op =
  | { op: 'set'; agent: number; capacity: number }
  | { op: 'remove'; agent: number }
  | { op: 'presence'; agent: number; presence: 'online' | 'away' | 'connected' | 'disconnected' | 'offline' }
  | { op: 'tick'; ms: number }
  | { op: 'open'; preferred: number | null }
  | { op: 'release'; pick: number }
  | { op: 'transfer'; pick: number; to: number | null };

const AGENTS = 4;
const agentName = (i: number) => `agent:${i}`;
const GRACE_MS = 1000;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), agent: fc.nat(AGENTS - 1), capacity: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant('remove' as const), agent: fc.nat(AGENTS - 1) }),
  fc.record({
    op: fc.constant('presence' as const),
    agent: fc.nat(AGENTS - 1),
    presence: fc.constantFrom('online' as const, 'away' as const, 'connected' as const, 'disconnected' as const, 'offline' as const),
  }),
  fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 1500 }) }),
  fc.record({ op: fc.constant('open' as const), preferred: fc.option(fc.nat(AGENTS - 1)) }),
  fc.record({ op: fc.constant('open' as const), preferred: fc.option(fc.nat(AGENTS - 1)) }),
  fc.record({ op: fc.constant('release' as const), pick: fc.nat(50) }),
  fc.record({ op: fc.constant('transfer' as const), pick: fc.nat(50), to: fc.option(fc.nat(AGENTS - 1)) }),
);

/** Checks the drain a step reported against the model, and applies it there. */
function applyDrain(m: RoutingModel, moves: RoutingMoves<unknown>): void {
  for (const { conversation, agent } of moves.assigned) {
    const head = m.queueOrder()[0];
    expect(head?.[0], 'a drain takes the head of the queue').toBe(conversation);
    expect(m.candidates(m.prefer.get(conversation))).toContain(agent);
    m.assign(conversation, agent, head![1]);
  }
}

async function expectSameState(r: ChatRouting, m: RoutingModel): Promise<void> {
  const agents = await r.agents();
  expect(agents.map((a) => [a.agent, a.capacity, a.status, a.inGrace, a.load])).toEqual(
    [...m.agents]
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([agent, a]) => [agent, a.capacity, a.status, a.graceUntil !== null, a.held.size]),
  );
  for (const a of agents) {
    // One agent read alone is the same as in the list.
    expect(await r.agent(a.agent)).toEqual(a);
    expect(a.load, `${a.agent} over capacity`).toBeLessThanOrEqual(a.capacity);
    expect((await r.heldBy(a.agent)).sort()).toEqual([...m.agents.get(a.agent)!.held.keys()].sort());
  }
  const q = await r.queue(1000);
  expect(q.waiting.map((w) => [w.conversation, w.since])).toEqual(m.queueOrder());
  // Every freed slot drains the queue: nobody waits while an agent is free.
  expect(m.drainable(), 'the queue waits while an agent is free').toBe(false);
}

describe('ChatRouting against the model', () => {
  it('keeps the rules over random agents, presence, conversations and transfers', async () => {
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 30, maxLength: 80 }), fc.integer({ min: 1, max: 2 ** 30 }), async (ops, seed) => {
        // A small drain limit, so that steps that stop at it (more) are exercised.
        const r = freshRouting({ drainLimit: 2, seed });
        const m = new RoutingModel();
        let now = 10_000;
        let opened = 0;
        const conversations: string[] = [];
        const settle = async (moves: RoutingMoves<unknown>) => {
          applyDrain(m, moves);
          let more = moves.more;
          while (more) {
            const next = await r.drain();
            applyDrain(m, next);
            more = next.more;
          }
        };

        for (const o of ops) {
          if (o.op === 'set') {
            const agent = agentName(o.agent);
            const moves = await r.setAgent(agent, { name: agent, capacity: o.capacity });
            const a = m.agents.get(agent) ?? { capacity: 0, status: 'offline' as const, graceUntil: null, held: new Map<string, number>() };
            a.capacity = o.capacity;
            m.agents.set(agent, a);
            // Over capacity now: the newest go back to the queue.
            const newest = [...a.held].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? 1 : -1)).slice(0, Math.max(0, a.held.size - o.capacity));
            expect(moves.requeued.sort()).toEqual(newest.map(([c]) => c).sort());
            for (const [c, since] of newest) {
              a.held.delete(c);
              m.queue.set(c, since);
            }
            await settle(moves);
          } else if (o.op === 'remove') {
            const agent = agentName(o.agent);
            const moves = await r.removeAgent(agent);
            expect(moves.result.removed).toBe(m.agents.has(agent));
            if (m.agents.has(agent)) {
              expect(moves.requeued.sort()).toEqual(m.requeueAll(agent).sort());
              m.agents.delete(agent);
            }
            await settle(moves);
          } else if (o.op === 'presence') {
            const agent = agentName(o.agent);
            const a = m.agents.get(agent);
            const call = r.presence(agent, o.presence, now + GRACE_MS);
            if (!a) {
              expect(((await call.catch((e: unknown) => e)) as HttpError).code).toBe('unknown_agent');
              continue;
            }
            const moves = await call;
            expect(moves.result).toEqual({ before: a.status, inGrace: a.graceUntil !== null });
            if (o.presence === 'online' || o.presence === 'away') {
              a.status = o.presence;
              a.graceUntil = null;
            } else if (o.presence === 'connected') {
              if (a.status === 'offline') a.status = 'online';
              a.graceUntil = null;
            } else if (o.presence === 'disconnected') {
              if (a.status !== 'offline') a.graceUntil = now + GRACE_MS;
            } else {
              a.status = 'offline';
              a.graceUntil = null;
              expect(moves.requeued.sort()).toEqual(m.requeueAll(agent).sort());
            }
            await settle(moves);
          } else if (o.op === 'tick') {
            now += o.ms;
            const moves = await r.sweepGrace(now, 100);
            const due = [...m.agents].filter(([, a]) => a.graceUntil !== null && a.graceUntil <= now);
            expect(moves.result).toEqual({ offline: due.length, moreDue: false });
            const requeued: string[] = [];
            for (const [agent, a] of due) {
              a.status = 'offline';
              a.graceUntil = null;
              requeued.push(...m.requeueAll(agent));
            }
            expect(moves.requeued.sort()).toEqual(requeued.sort());
            await settle(moves);
          } else if (o.op === 'open') {
            const conversation = `c${opened++}`;
            conversations.push(conversation);
            const preferred = o.preferred === null ? null : agentName(o.preferred);
            const candidates = m.candidates(preferred);
            const moves = await r.route(conversation, now, preferred);
            if (candidates.length > 0) {
              expect(moves.result.outcome).toBe('assigned');
              const agent = (moves.result as { agent: string }).agent;
              expect(candidates).toContain(agent);
              m.assign(conversation, agent, now);
            } else {
              m.queue.set(conversation, now);
              if (preferred) m.prefer.set(conversation, preferred);
              expect(moves.result).toEqual({ outcome: 'queued', position: m.queueOrder().findIndex(([c]) => c === conversation) + 1 });
            }
            await settle(moves);
          } else if (o.op === 'release') {
            if (conversations.length === 0) continue;
            const conversation = conversations[o.pick % conversations.length]!;
            const holder = m.holderOf(conversation);
            const moves = await r.release(conversation);
            if (holder) {
              expect(moves.result).toEqual({ was: 'held', agent: holder });
              m.unassign(conversation);
            } else if (m.queue.has(conversation)) {
              expect(moves.result).toEqual({ was: 'queued' });
              m.queue.delete(conversation);
              m.prefer.delete(conversation);
            } else {
              expect(moves.result).toEqual({ was: 'none' });
            }
            await settle(moves);
          } else {
            if (conversations.length === 0) continue;
            const conversation = conversations[o.pick % conversations.length]!;
            const to = o.to === null ? null : agentName(o.to);
            const from = m.holderOf(conversation);
            const call = r.transfer(conversation, to);
            const refusal = !from
              ? 'not_assigned'
              : to === null || to === from
                ? null
                : !m.agents.has(to)
                  ? 'unknown_agent'
                  : !m.available(to)
                    ? 'agent_unavailable'
                    : null;
            if (refusal) {
              expect(((await call.catch((e: unknown) => e)) as HttpError).code).toBe(refusal);
              continue;
            }
            const moves = await call;
            if (to === from) {
              expect(moves.result).toEqual({ outcome: 'same', agent: from });
            } else if (to === null) {
              expect(moves.result).toEqual({ outcome: 'queued', from });
              m.queue.set(conversation, m.unassign(conversation)!);
            } else {
              expect(moves.result).toEqual({ outcome: 'transferred', from, to });
              m.assign(conversation, to, m.unassign(conversation)!);
            }
            await settle(moves);
          }
          await expectSameState(r, m);
          steps++;
        }
      }),
      { numRuns: 40 },
    );
    // The runs did run steps, not only refusals.
    expect(steps).toBeGreaterThan(1000);
  });
});
