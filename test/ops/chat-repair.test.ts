// The repair sweep brings conversation records in line with the routing state
// after a crash between the two writes (simulated here by doing only the first),
// and frees what the routing still holds of a resolved conversation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairRouting } from '../../src/ops/chat-repair.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ roles: ['api'] });
});
afterAll(async () => t?.stop());

const now = () => new Date();

describe('repairRouting', () => {
  it('writes on a record the agent the routing gave it when the record never heard, and changes nothing when all is in line', async () => {
    const { routing, conversations } = t.service.ctx.chat;
    await routing.setAgent('agent:r1', { name: 'R1', capacity: 1 });
    await routing.presence('agent:r1', 'online');
    const { conversation } = await conversations.openForVisitor('rv1', now());
    // The crash: routed, but the record was never told.
    const routed = await routing.route(conversation.id, Date.parse(conversation.waiting_since), null);
    expect(routed.result).toEqual({ outcome: 'assigned', agent: 'agent:r1' });
    expect((await conversations.get(conversation.id))!.status).toBe('queued');

    expect(await repairRouting(t.service.ctx.chat, now())).toMatchObject({ fixed: 1, released: 0 });
    expect(await conversations.get(conversation.id)).toMatchObject({ status: 'assigned', agent: 'agent:r1' });
    expect((await conversations.messages(conversation.id, null, 5)).map((m) => m.text)).toEqual(['assigned']);
    // In line now: a second run finds nothing to do.
    expect(await repairRouting(t.service.ctx.chat, now())).toEqual({ fixed: 0, released: 0 });
  });

  it("frees the slot of a resolved conversation the routing still holds, and the queue moves on", async () => {
    const { routing, conversations } = t.service.ctx.chat;
    const held = (await routing.heldBy('agent:r1'))[0]!;
    const { conversation: waiting } = await conversations.openForVisitor('rv2', now());
    await routing.route(waiting.id, Date.parse(waiting.waiting_since), null);
    expect(await routing.placeOf(waiting.id)).toEqual({ position: 1 });
    // The crash: resolved on its record, never released from the routing.
    await conversations.resolve(held, 'agent:r1', now());

    expect(await repairRouting(t.service.ctx.chat, now())).toMatchObject({ released: 1 });
    expect(await routing.placeOf(held)).toBeNull();
    expect(await routing.placeOf(waiting.id)).toEqual({ agent: 'agent:r1' });
    expect(await conversations.get(waiting.id)).toMatchObject({ status: 'assigned', agent: 'agent:r1' });
  });
});
