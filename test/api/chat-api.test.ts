// The chat over HTTP: the admin's agents, and conversations as visitors, agents
// and admins see and change them; who may do what, and every bad request's
// error naming its field. A visitor's first message goes through the same
// operation the WS frame `chat.send` calls (ops/chat-send.ts); agents are put
// online through the routing, as their sockets do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendMessage } from '../../src/ops/chat-send.js';
import { startTestService, type TestService } from '../helpers/service.js';

const ADMIN_KEY = 'admin-key-0123456789abcdef';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ roles: ['api'], env: { PMQ_ADMIN_KEY: ADMIN_KEY, PMQ_CHAT_MAX_CAPACITY: '10' } });
});
afterAll(async () => t?.stop());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { status: number; body: any };

const admin = (method: string, path: string, body?: unknown): Promise<Answer> => t.http(method, path, { auth: ADMIN_KEY, body });

async function tokenOf(uid: string): Promise<string> {
  const r = await t.http('POST', '/v1/tokens', { body: { uid } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.token as string;
}

function expectError(r: Answer, status: number, code: string, field?: string): void {
  expect(r.body, JSON.stringify(r.body)).toEqual({ error: { code, message: expect.any(String), ...(field !== undefined && { field }) } });
  expect(r.status).toBe(status);
}

/** A registered agent, online, and their token. */
async function onlineAgent(id: string, capacity: number): Promise<string> {
  expect((await admin('PUT', `/v1/admin/agents/${id}`, { name: `Agent ${id}`, capacity })).status).toBe(201);
  await t.service.ctx.chat.routing.presence(`agent:${id}`, 'online');
  return tokenOf(`agent:${id}`);
}

/** What a visitor's first `chat.send` does: opens their conversation (and routes it). */
async function visitorSays(visitor: string, text: string, clientId: string) {
  return sendMessage(
    t.service.ctx.chat,
    { kind: 'visitor', uid: visitor },
    { conversation: null, clientId, text, image: null },
    new Date(t.service.ctx.clock.now()),
  );
}

describe('the admin API: agents', () => {
  it('registers, changes, lists and removes agents', async () => {
    const put = await admin('PUT', '/v1/admin/agents/ann', { name: 'Ann', capacity: 3 });
    expect(put).toEqual({
      status: 201,
      body: { agent: { id: 'agent:ann', name: 'Ann', capacity: 3, status: 'offline', in_grace: false, load: 0 } },
    });
    expect(await admin('PUT', '/v1/admin/agents/ann', { name: 'Ann B.', capacity: 5 })).toMatchObject({ status: 200, body: { agent: { name: 'Ann B.', capacity: 5 } } });
    const list = await admin('GET', '/v1/admin/agents');
    expect(list.body.agents).toContainEqual({ id: 'agent:ann', name: 'Ann B.', capacity: 5, status: 'offline', in_grace: false, load: 0 });
    // A registered agent can be given a token now; once removed, no more.
    expect((await t.http('POST', '/v1/tokens', { body: { uid: 'agent:ann' } })).status).toBe(201);
    expect((await admin('DELETE', '/v1/admin/agents/ann')).status).toBe(204);
    expectError(await admin('DELETE', '/v1/admin/agents/ann'), 404, 'unknown_agent');
    expectError(await t.http('POST', '/v1/tokens', { body: { uid: 'agent:ann' } }), 404, 'unknown_agent', 'uid');
    expect((await admin('GET', '/v1/admin/agents')).body.agents.map((a: { id: string }) => a.id)).not.toContain('agent:ann');
  });

  it('refuses bad bodies and ids, naming the field, and registers nothing', async () => {
    expectError(await admin('PUT', '/v1/admin/agents/bob', { capacity: 1 }), 400, 'invalid_request', 'name');
    expectError(await admin('PUT', '/v1/admin/agents/bob', { name: 'Bob', capacity: 11 }), 400, 'invalid_request', 'capacity');
    expectError(await admin('PUT', '/v1/admin/agents/bob', { name: 'Bob', capacity: 1.5 }), 400, 'invalid_request', 'capacity');
    expectError(await admin('PUT', '/v1/admin/agents/bob', { name: 'Bob', capacity: 1, role: 'x' }), 400, 'invalid_request', 'role');
    expectError(await admin('PUT', '/v1/admin/agents/bob', { name: '', capacity: 1 }), 400, 'invalid_request', 'name');
    expectError(await admin('PUT', '/v1/admin/agents/b%20b', { name: 'Bob', capacity: 1 }), 400, 'invalid_request', 'id');
    expectError(await admin('PUT', `/v1/admin/agents/${'x'.repeat(59)}`, { name: 'Bob', capacity: 1 }), 400, 'invalid_request', 'id');
    expect((await admin('GET', '/v1/admin/agents')).body.agents.map((a: { id: string }) => a.id)).not.toContain('agent:bob');
  });

  it('takes the admin key only', async () => {
    expectError(await t.http('GET', '/v1/admin/agents'), 401, 'unauthorized');
    expectError(await t.http('GET', '/v1/admin/agents', { auth: 'not-the-admin-key' }), 401, 'unauthorized');
    const off = await startTestService({ roles: ['api'] });
    try {
      expectError(await off.http('GET', '/v1/admin/agents', { auth: ADMIN_KEY }), 404, 'not_found');
    } finally {
      await off.stop();
    }
  });
});

describe('conversations over HTTP', () => {
  it('a visitor and their agent talk; others see nothing; resends make one message', async () => {
    const cara = await onlineAgent('cara', 2);
    const opened = await visitorSays('v:one', 'hello', 'v1-1');
    const id = opened.message.conversation;
    const visitor = await tokenOf('v-one-site-user');
    // A site user is a visitor too; this one is not v:one, whose token only PMQ mints.
    const one = await t.http('POST', '/v1/tokens', { body: { uid: 'v:one' } });
    expectError(one, 400, 'reserved_uid', 'uid');

    const seen = await t.http('GET', `/v1/chat/conversations/${id}`, { auth: cara });
    expect(seen.body.receipts).toEqual([
      { by: 'v:one', delivered_seq: 2, read_seq: 2 },
      { by: 'agent:cara', delivered_seq: 0, read_seq: 0 },
    ]);
    expect(seen.body.conversation).toMatchObject({ id, visitor: 'v:one', status: 'assigned', agent: 'agent:cara', last_seq: 2 });
    const reply = await t.http('POST', `/v1/chat/conversations/${id}/messages`, { auth: cara, body: { client_id: 'c-1', text: 'Hi! How can I help?' } });
    expect(reply.status).toBe(201);
    expect(reply.body.message).toMatchObject({ conversation: id, seq: 3, from: 'agent:cara', kind: 'text', text: 'Hi! How can I help?', client_id: 'c-1' });
    const again = await t.http('POST', `/v1/chat/conversations/${id}/messages`, { auth: cara, body: { client_id: 'c-1', text: 'Hi! How can I help?' } });
    expect(again).toEqual({ status: 200, body: { message: reply.body.message } });
    // Each side's receipts, as a page opening the conversation shows them: a message sent is read up to it by its sender.
    expect((await t.http('GET', `/v1/chat/conversations/${id}`, { auth: cara })).body.receipts).toEqual([
      { by: 'v:one', delivered_seq: 2, read_seq: 2 },
      { by: 'agent:cara', delivered_seq: 3, read_seq: 3 },
    ]);

    const history = await t.http('GET', `/v1/chat/conversations/${id}/messages?limit=10`, { auth: cara });
    expect(history.body.messages.map((m: { seq: number; kind: string; text: string }) => [m.seq, m.kind, m.text])).toEqual([
      [3, 'text', 'Hi! How can I help?'],
      [2, 'text', 'hello'],
      [1, 'system', 'assigned'],
    ]);
    expect((await t.http('GET', `/v1/chat/conversations/${id}/messages?before=3&limit=1`, { auth: cara })).body.messages.map((m: { seq: number }) => m.seq)).toEqual([2]);

    // Someone else's visitor token, another agent, the main site's key: nothing.
    expectError(await t.http('GET', `/v1/chat/conversations/${id}`, { auth: visitor }), 403, 'not_participant');
    expectError(await t.http('POST', `/v1/chat/conversations/${id}/messages`, { auth: visitor, body: { client_id: 'x', text: 'hi' } }), 403, 'not_participant');
    const dan = await onlineAgent('dan', 1);
    expectError(await t.http('GET', `/v1/chat/conversations/${id}/messages`, { auth: dan }), 403, 'not_participant');
    expectError(await t.http('POST', `/v1/chat/conversations/${id}/resolve`, { auth: dan }), 403, 'not_participant');
    expectError(await t.http('GET', `/v1/chat/conversations/${id}`), 403, 'forbidden');
    expect((await t.http('GET', `/v1/chat/conversations/${id}`, { auth: cara })).body.conversation.last_seq).toBe(3);
  });

  it('transfers to an available agent only, resolves, and a visitor message reopens it with the last agent', async () => {
    const eve = await onlineAgent('eve', 1);
    const fay = await tokenOf((await admin('PUT', '/v1/admin/agents/fay', { name: 'Fay', capacity: 1 })).body.agent.id);
    // Eve is the only one with room: the conversation goes to her.
    await t.service.ctx.chat.routing.presence('agent:cara', 'away');
    await t.service.ctx.chat.routing.presence('agent:dan', 'away');
    const { message } = await visitorSays('v:two', 'help', 'v2-1');
    const id = message.conversation;
    expect((await t.http('GET', `/v1/chat/conversations/${id}`, { auth: eve })).body.conversation.agent).toBe('agent:eve');

    expectError(await t.http('POST', `/v1/chat/conversations/${id}/transfer`, { auth: eve, body: { to: 'agent:fay' } }), 409, 'agent_unavailable');
    expectError(await t.http('POST', `/v1/chat/conversations/${id}/transfer`, { auth: eve, body: { to: 'agent:nobody' } }), 404, 'unknown_agent');
    expectError(await t.http('POST', `/v1/chat/conversations/${id}/transfer`, { auth: eve, body: { to: 'fay' } }), 400, 'invalid_request', 'to');
    await t.service.ctx.chat.routing.presence('agent:fay', 'online');
    const moved = await t.http('POST', `/v1/chat/conversations/${id}/transfer`, { auth: eve, body: { to: 'agent:fay' } });
    expect(moved.body.conversation).toMatchObject({ status: 'assigned', agent: 'agent:fay' });
    // Eve holds it no more.
    expectError(await t.http('POST', `/v1/chat/conversations/${id}/resolve`, { auth: eve }), 403, 'not_participant');

    const resolved = await t.http('POST', `/v1/chat/conversations/${id}/resolve`, { auth: fay });
    expect(resolved.body.conversation).toMatchObject({ status: 'resolved', agent: 'agent:fay', resolved_at: expect.any(String) });
    const faysResolved = async () =>
      (await t.http('GET', '/v1/chat/conversations?status=resolved', { auth: fay })).body.conversations.map((c: { id: string }) => c.id);
    expect(await faysResolved()).toEqual([id]);
    // Fay's slot is free: Eve takes the next, and Fay is preferred when v:two comes back.
    await t.service.ctx.chat.routing.presence('agent:eve', 'away');
    const back = await visitorSays('v:two', 'one more thing', 'v2-2');
    expect(back.message.conversation).toBe(id);
    const reopened = await t.http('GET', `/v1/chat/conversations/${id}`, { auth: fay });
    expect(reopened.body.conversation).toMatchObject({ status: 'assigned', agent: 'agent:fay', resolved_at: null });
    // Open again: out of the resolved list.
    expect(await faysResolved()).toEqual([]);
    const texts = (await t.http('GET', `/v1/chat/conversations/${id}/messages`, { auth: fay })).body.messages.map((m: { text: string }) => m.text);
    expect(texts.slice(0, 4)).toEqual(['one more thing', 'assigned', 'reopened', 'resolved']);
  });

  it('lists what each may see: an agent their own and the queue, an admin everything open', async () => {
    const gus = await onlineAgent('gus', 1);
    for (const a of ['agent:cara', 'agent:dan', 'agent:eve', 'agent:fay']) await t.service.ctx.chat.routing.presence(a, 'away');
    const held = (await visitorSays('v:three', 'a', 'v3-1')).message.conversation;
    const waiting = (await visitorSays('v:four', 'b', 'v4-1')).message.conversation;
    const mine = await t.http('GET', '/v1/chat/conversations', { auth: gus });
    const ids = mine.body.conversations.map((c: { id: string }) => c.id);
    expect(ids).toContain(held);
    expect(ids).toContain(waiting);
    const queued = await admin('GET', '/v1/chat/conversations?status=queued');
    expect(queued.body.conversations.map((c: { id: string; status: string }) => [c.id, c.status])).toContainEqual([waiting, 'queued']);
    expect(queued.body.conversations.every((c: { status: string }) => c.status === 'queued')).toBe(true);
    const gusOnly = await admin('GET', '/v1/chat/conversations?agent=agent:gus');
    expect(gusOnly.body.conversations.map((c: { id: string }) => c.id)).toEqual([held]);
    // The queued conversation is visible to any agent; the held one only to Gus.
    const cara = await tokenOf('agent:cara');
    expect((await t.http('GET', `/v1/chat/conversations/${waiting}`, { auth: cara })).status).toBe(200);
    expectError(await t.http('GET', `/v1/chat/conversations/${held}`, { auth: cara }), 403, 'not_participant');
    expectError(await t.http('GET', '/v1/chat/conversations', { auth: await tokenOf('someone') }), 403, 'not_participant');
    expectError(await admin('GET', '/v1/chat/conversations?status=closed'), 400, 'invalid_request', 'status');
    expectError(await admin('GET', '/v1/chat/conversations?status=resolved&before=yesterday'), 400, 'invalid_request', 'before');
    // Resolved ones, newest first: all to an admin, their own to an agent; a reopened one is open again.
    const resolved = await admin('POST', `/v1/chat/conversations/${waiting}/resolve`);
    const resolvedAt = resolved.body.conversation.resolved_at as string;
    const all = await admin('GET', '/v1/chat/conversations?status=resolved');
    expect(all.body.conversations[0]).toMatchObject({ id: waiting, status: 'resolved' });
    expect((await admin('GET', `/v1/chat/conversations?status=resolved&before=${resolvedAt}`)).body.conversations.map((c: { id: string }) => c.id)).not.toContain(waiting);
    const fay = await tokenOf('agent:fay');
    const fays = (await t.http('GET', '/v1/chat/conversations?status=resolved', { auth: fay })).body.conversations.map((c: { id: string }) => c.id);
    expect(fays).not.toContain(waiting);
    // An agent removed: what they held goes back to the queue.
    expect((await admin('DELETE', '/v1/admin/agents/gus')).status).toBe(204);
    expect((await admin('GET', `/v1/chat/conversations/${held}`)).body.conversation).toMatchObject({ status: 'queued', agent: null });
  });

  it('refuses bad messages naming the field, and stores none of them', async () => {
    const hal = await onlineAgent('hal', 5);
    for (const a of ['agent:cara', 'agent:dan', 'agent:eve', 'agent:fay']) await t.service.ctx.chat.routing.presence(a, 'away');
    const id = (await visitorSays('v:five', 'hi', 'v5-1')).message.conversation;
    const post = (body: unknown) => t.http('POST', `/v1/chat/conversations/${id}/messages`, { auth: hal, body });
    expectError(await post({ client_id: 'k', text: 'a', image: 'AAAAAAAAAAAAAAAAAAAAAA' }), 400, 'invalid_request', 'image');
    expectError(await post({ client_id: 'k' }), 400, 'invalid_request', 'text');
    expectError(await post({ client_id: 'k', text: '' }), 400, 'invalid_request', 'text');
    expectError(await post({ client_id: 'k', text: 'x'.repeat(4001) }), 400, 'invalid_request', 'text');
    expectError(await post({ text: 'hi' }), 400, 'invalid_request', 'client_id');
    expectError(await post({ client_id: 'a b', text: 'hi' }), 400, 'invalid_request', 'client_id');
    expectError(await post({ client_id: 'k', text: 'hi', extra: 1 }), 400, 'invalid_request', 'extra');
    expectError(await post({ client_id: 'k', image: '../../etc/passwd' }), 400, 'invalid_request', 'image');
    expectError(await post([1]), 400, 'invalid_request');
    expectError(await t.http('GET', '/v1/chat/conversations/not-an-id', { auth: hal }), 400, 'invalid_request', 'id');
    expectError(await t.http('GET', `/v1/chat/conversations/${'A'.repeat(22)}`, { auth: hal }), 404, 'no_conversation');
    expectError(await t.http('GET', `/v1/chat/conversations/${id}/messages?limit=0`, { auth: hal }), 400, 'invalid_request', 'limit');
    expectError(await t.http('GET', `/v1/chat/conversations/${id}/messages?before=x`, { auth: hal }), 400, 'invalid_request', 'before');
    const text = 'x'.repeat(4000);
    expect((await post({ client_id: 'k', text })).body.message).toMatchObject({ seq: 3, text });
    expect((await t.http('GET', `/v1/chat/conversations/${id}`, { auth: hal })).body.conversation.last_seq).toBe(3);
  });
});

describe("the agents as the chat's pages see them", () => {
  it('lists umary agent to agents and admins, and names one agent to anyone in the chat', async () => {
    const quin = await onlineAgent('quin', 2);
    expect((await admin('PUT', '/v1/admin/agents/uma', { name: 'Uma', capacity: 1 })).status).toBe(201);
    const list = await t.http('GET', '/v1/chat/agents', { auth: quin });
    expect(list.status).toBe(200);
    expect(list.body.agents).toContainEqual({ id: 'agent:quin', name: 'Agent quin', capacity: 2, status: 'online', in_grace: false, load: 0 });
    expect(list.body.agents).toContainEqual({ id: 'agent:uma', name: 'Uma', capacity: 1, status: 'offline', in_grace: false, load: 0 });
    expect((await t.http('GET', '/v1/chat/agents', { auth: ADMIN_KEY })).body.agents).toEqual(list.body.agents);

    // A visitor (a site user here) asks the name of whoumar answers, by the id conversations carry.
    const visitor = await tokenOf('site-user-7');
    expect(await t.http('GET', '/v1/chat/agents/agent:uma', { auth: visitor })).toEqual({ status: 200, body: { agent: { id: 'agent:uma', name: 'Uma' } } });
    expect(await t.http('GET', '/v1/chat/agents/uma', { auth: visitor })).toEqual({ status: 200, body: { agent: { id: 'agent:uma', name: 'Uma' } } });
    expectError(await t.http('GET', '/v1/chat/agents', { auth: visitor }), 403, 'forbidden');
    expectError(await t.http('GET', '/v1/chat/agents/agent:nobody', { auth: visitor }), 404, 'unknown_agent');
    expectError(await t.http('GET', '/v1/chat/agents/a%20b', { auth: visitor }), 400, 'invalid_request', 'id');
    // The main site's API key is no chat caller; nor is nothing.
    expectError(await t.http('GET', '/v1/chat/agents/agent:uma'), 403, 'forbidden');
    expectError(await t.http('GET', '/v1/chat/agents/agent:uma', { auth: null }), 401, 'unauthorized');
    // Registered for this test only: the conversations of the others are not theirs to take.
    for (const id of ['quin', 'uma']) expect((await admin('DELETE', `/v1/admin/agents/${id}`)).status).toBe(204);
  });
});
