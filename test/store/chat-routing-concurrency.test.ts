// Routing from several processes at once, one of them SIGKILLed mid-run: every
// step is one Lua script, so whatever interleaves and whatever dies, no
// conversation is held twice, no agent is over capacity, and the queue never
// waits while an agent is free; the conversations' records, written after each
// step, are brought in line by the repair sweep.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairRouting } from '../../src/ops/chat-repair.js';
import { testEnv, startTestService, waitFor, type TestService } from '../helpers/service.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let t: TestService;
const children: ChildProcess[] = [];

beforeAll(async () => {
  t = await startTestService({ roles: ['api'] });
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await t?.stop();
});

function hammer(name: string, operations: number, seed: number) {
  // The same Redis and key prefix as the test's service.
  const env = { ...testEnv({ PMQ_KEY_PREFIX: t.config.keyPrefix }), PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/routing-hammer.ts', name, String(operations), String(seed)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited, progress: () => Number(/progress (\d+)\n(?!.*progress)/s.exec(out)?.[1] ?? 0) };
}

describe('routing from several processes', () => {
  it('keeps every rule while three processes route at once and one is killed mid-run', async () => {
    const { routing } = t.service.ctx.chat;
    for (const id of ['a0', 'a1', 'a2', 'a3']) {
      await routing.setAgent(`agent:${id}`, { name: id, capacity: 2 });
      await routing.presence(`agent:${id}`, 'online');
    }
    const runs = [hammer('p1', 300, 11), hammer('p2', 300, 22), hammer('p3', 2000, 33)];
    // The third dies mid-run, between any two of its steps or inside one.
    await waitFor(() => runs[2]!.progress() >= 100, 60_000, 'the third under way');
    runs[2]!.child.kill('SIGKILL');
    for (const r of runs.slice(0, 2)) expect(await r.exited, r.output()).toBe(0);
    expect(await runs[2]!.exited).toBeNull();

    // The routing state alone, as the processes left it.
    const agents = await routing.agents();
    const heldBy = new Map<string, string>();
    for (const a of agents) {
      expect(a.load, `${a.agent} over capacity`).toBeLessThanOrEqual(a.capacity);
      for (const c of await routing.heldBy(a.agent)) {
        expect(heldBy.has(c), `${c} held twice`).toBe(false);
        heldBy.set(c, a.agent);
      }
    }
    const held = await t.service.ctx.redis.hgetall(t.service.ctx.keys.chatRouting.held);
    expect(new Map(Object.entries(held))).toEqual(heldBy);
    const { waiting } = await routing.queue(10_000);
    for (const w of waiting) expect(heldBy.has(w.conversation), `${w.conversation} queued and held`).toBe(false);
    expect(waiting.map((w) => w.since)).toEqual([...waiting.map((w) => w.since)].sort((x, y) => x - y));
    // Nobody waits while an agent has room (a drain that stopped at its limit is finished first).
    while ((await routing.drain()).more);
    const free = (await routing.agents()).filter((a) => a.status === 'online' && !a.inGrace && a.load < a.capacity);
    if ((await routing.queue(1)).length > 0) expect(free).toEqual([]);

    // The records follow the routing once the repair sweep has run over it.
    for (let i = 0; i < 3; i++) await repairRouting(t.service.ctx.chat, new Date());
    for (const [conversation, agent] of Object.entries(await t.service.ctx.redis.hgetall(t.service.ctx.keys.chatRouting.held))) {
      expect(await t.service.ctx.chat.conversations.get(conversation)).toMatchObject({ status: 'assigned', agent });
    }
    for (const w of (await routing.queue(10_000)).waiting) {
      expect(await t.service.ctx.chat.conversations.get(w.conversation)).toMatchObject({ status: 'queued', agent: null });
    }
  });
});
