// The chat on real sockets (roles api, gateway, worker and cron in one service):
// a visitor and an agent sign in, talk, see each other's receipts and typing,
// resend without duplicates, get what they missed while away, and an agent who
// leaves for longer than the grace period has their conversation requeued.
// Every refused frame gets its error, a refused send naming its client_id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';
import { png } from '../helpers/images.js';
import { mintToken, rawSocket, wsUrl, type RawSocket } from '../helpers/ws-client.js';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
type Frame = RawSocket['frames'][number];

let t: TestService;
const sockets: RawSocket[] = [];
beforeAll(async () => {
  t = await startTestService({
    roles: ['api', 'gateway', 'worker', 'cron'],
    env: { PMQ_ADMIN_KEY: ADMIN_KEY, PMQ_CHAT_AGENT_GRACE_SECONDS: '1', PMQ_CRON_CHAT_SWEEP: '* * * * * *' },
  });
});
afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await t?.stop();
});

async function signIn(uid: string): Promise<RawSocket & { hello: Frame; token: string }> {
  const token = await mintToken(t, uid);
  const s = await rawSocket(`${wsUrl(t)}?token=${token}`);
  sockets.push(s);
  return Object.assign(s, { hello: await s.waitForFrame('hello'), token });
}

async function agent(id: string, capacity: number) {
  const r = await t.http('PUT', `/v1/admin/agents/${id}`, { auth: ADMIN_KEY, body: { name: `Agent ${id}`, capacity } });
  expect([200, 201]).toContain(r.status);
  return signIn(`agent:${id}`);
}

const of = (s: RawSocket, type: string) => s.frames.filter((f) => f.type === type);
const texts = (s: RawSocket) => of(s, 'chat.message').map((m) => m.text);
/** Waits for a chat.message with this text on `s`. */
const heard = (s: RawSocket, text: string) =>
  waitFor(() => of(s, 'chat.message').find((m) => m.text === text), 10_000, `"${text}" (have ${JSON.stringify(texts(s))})`);

describe('chat over /ws', () => {
  it('a visitor and an agent talk: the conversation, its history and every message reach both; resends make one message', async () => {
    const a = await agent('ws1', 2);
    expect(a.hello.agent).toEqual({ status: 'online', capacity: 2, conversations: [] });
    const v = await signIn('alice');
    expect(v.hello.conversation).toBeNull();

    v.send({ type: 'chat.send', client_id: 'a-1', text: 'hello, anyone?' });
    const mine = await heard(v, 'hello, anyone?');
    const conversation = mine.conversation as string;
    expect(mine).toMatchObject({ from: 'alice', kind: 'text', client_id: 'a-1' });
    // The agent got the conversation, then its history (assigned, and what alice wrote).
    const record = await a.waitForFrame('chat.conversation');
    expect(record).toMatchObject({ id: conversation, visitor: 'alice', status: 'assigned', agent: 'agent:ws1' });
    await heard(a, 'hello, anyone?');
    expect(of(v, 'chat.conversation').at(-1)).toMatchObject({ id: conversation, status: 'assigned', agent: 'agent:ws1' });

    a.send({ type: 'chat.send', conversation, client_id: 'b-1', text: 'Hi Alice!' });
    const reply = await heard(v, 'Hi Alice!');
    expect(reply).toMatchObject({ from: 'agent:ws1', conversation });
    // A resend with the same client_id: nothing new; the next message is the marker.
    a.send({ type: 'chat.send', conversation, client_id: 'b-1', text: 'Hi Alice!' });
    a.send({ type: 'chat.send', conversation, client_id: 'b-2', text: 'marker' });
    await heard(v, 'marker');
    expect(texts(v).filter((x) => x === 'Hi Alice!')).toHaveLength(1);
    expect(of(v, 'chat.message').map((m) => m.seq)).toEqual([...of(v, 'chat.message').map((m) => m.seq)].sort((x, y) => (x as number) - (y as number)));

    // Receipts and typing go to the other side.
    v.send({ type: 'chat.read', conversation, seq: reply.seq });
    expect(await a.waitForFrame('chat.receipt')).toEqual({
      type: 'chat.receipt',
      conversation,
      by: 'alice',
      delivered_seq: reply.seq,
      read_seq: reply.seq,
    });
    v.send({ type: 'chat.typing', conversation, on: true });
    expect(await a.waitForFrame('chat.typing')).toEqual({ type: 'chat.typing', conversation, by: 'alice', on: true });
  });

  it('refuses bad chat frames with an error naming the field, a send with its client_id, and the socket stays', async () => {
    const v = await signIn('bob');
    const errors = () => of(v, 'error');
    v.send({ type: 'chat.send', client_id: 'x-1', text: 'a', image: 'AAAAAAAAAAAAAAAAAAAAAA' });
    v.send({ type: 'chat.send', client_id: 'x-2' });
    v.send({ type: 'chat.send', client_id: 'x-3', text: 'x'.repeat(4001) });
    v.send({ type: 'chat.send', conversation: 'nope', client_id: 'x-4', text: 'hi' });
    v.send({ type: 'chat.read', conversation: 'A'.repeat(22), seq: -1 });
    v.send({ type: 'chat.resolve', conversation: 'A'.repeat(22) });
    v.send({ type: 'agent.status', status: 'online' });
    v.send({ type: 'agent.status', status: 'busy' });
    await waitFor(() => errors().length >= 8, 10_000, 'eight errors');
    // Schema errors answer at once, the others once their step has run: compared in any order.
    const sorted = <T>(xs: T[]) => xs.map((x) => JSON.stringify(x)).sort();
    expect(sorted(errors().map((e) => [e.code, e.field ?? null, e.ref ?? null]))).toEqual(sorted([
      ['invalid_frame', 'image', 'x-1'],
      ['invalid_frame', 'text', 'x-2'],
      ['invalid_frame', 'text', 'x-3'],
      ['invalid_frame', 'conversation', 'x-4'],
      ['invalid_frame', 'seq', null],
      ['invalid_request', null, null],
      ['invalid_request', null, null],
      ['invalid_frame', 'status', null],
    ]));
    // Nothing was opened for bob by the refused sends; the socket still works.
    v.send({ type: 'ping' });
    await v.waitForFrame('pong');
    expect((await t.http('GET', '/v1/chat/conversations?status=queued', { auth: ADMIN_KEY })).body.conversations.map((c: { visitor: string }) => c.visitor)).not.toContain('bob');
  });

  it("someone else's conversation: no send, no read, no typing", async () => {
    const a = await agent('ws2', 1);
    const owner = await signIn('carol');
    owner.send({ type: 'chat.send', client_id: 'c-1', text: 'mine' });
    const conversation = (await heard(owner, 'mine')).conversation;
    await waitFor(() => of(a, 'chat.conversation').length > 0 || of(owner, 'chat.conversation').length > 0, 10_000, 'routed');
    const other = await signIn('dave');
    other.send({ type: 'chat.send', conversation, client_id: 'd-1', text: 'let me in' });
    other.send({ type: 'chat.read', conversation, seq: 1 });
    other.send({ type: 'chat.typing', conversation, on: true });
    await waitFor(() => of(other, 'error').length >= 3, 10_000, 'three errors');
    expect(of(other, 'error').map((e) => [e.code, e.ref ?? null]).map((x) => JSON.stringify(x)).sort()).toEqual(
      [['not_participant', 'd-1'], ['not_participant', null], ['not_participant', null]].map((x) => JSON.stringify(x)).sort(),
    );
  });

  it('what a visitor missed while away comes after their hello; their ack tells the agent it was delivered', async () => {
    const a = await agent('ws3', 3);
    for (const id of ['ws1', 'ws2']) await t.service.ctx.chat.routing.presence(`agent:${id}`, 'away');
    const v = await signIn('erin');
    v.send({ type: 'chat.send', client_id: 'e-1', text: 'question' });
    const conversation = (await heard(v, 'question')).conversation as string;
    await heard(a, 'question');
    v.ws.close();
    await v.closed;
    a.send({ type: 'chat.send', conversation, client_id: 'f-1', text: 'answer 1' });
    a.send({ type: 'chat.send', conversation, client_id: 'f-2', text: 'answer 2' });
    await heard(a, 'answer 2');
    // Away, erin got one chat notification for the two answers, not two.
    await waitFor(async () => ((await t.http('GET', '/v1/users/erin/unread')).body.total === 1 ? true : undefined), 10_000, "erin's notice");
    await drained(t);
    expect((await t.http('GET', '/v1/users/erin/unread')).body).toEqual({ uid: 'erin', total: 1, counts: { chat: 1 } });
    const notices = (await t.http('GET', '/v1/users/erin/messages')).body.messages;
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ category: 'chat', from: 'agent:ws3', data: { conversation } });

    const back = await signIn('erin');
    expect(back.hello.conversation).toMatchObject({ id: conversation, status: 'assigned', agent: 'agent:ws3' });
    await heard(back, 'answer 2');
    const missed = of(back, 'chat.message');
    expect(missed.map((m) => m.text)).toEqual(['answer 1', 'answer 2']);
    // The hello came first.
    expect(back.frames.findIndex((f) => f.type === 'hello')).toBeLessThan(back.frames.findIndex((f) => f.type === 'chat.message'));
    back.send({ type: 'ack', ids: missed.map((m) => m.id) });
    const receipt = await waitFor(() => of(a, 'chat.receipt').find((r) => r.by === 'erin' && r.delivered_seq === missed.at(-1)!.seq), 10_000, 'the delivered receipt');
    expect(receipt).toMatchObject({ conversation, read_seq: (missed[0]!.seq as number) - 1 });
    // Read in the chat: the notification is read too.
    back.send({ type: 'chat.read', conversation, seq: missed.at(-1)!.seq });
    await waitFor(async () => ((await t.http('GET', '/v1/users/erin/unread')).body.total === 0 ? true : undefined), 10_000, 'the notice read');
    // Acked: a third sign-in misses nothing.
    const third = await signIn('erin');
    third.send({ type: 'ping' });
    await third.waitForFrame('pong');
    expect(of(third, 'chat.message')).toEqual([]);
  });

  it('an agent who leaves past the grace period: their conversation goes back to the queue and on to the next agent', async () => {
    for (const id of ['ws1', 'ws2', 'ws3']) await t.service.ctx.chat.routing.presence(`agent:${id}`, 'away');
    const leaving = await agent('ws4', 1);
    const v = await signIn('frank');
    v.send({ type: 'chat.send', client_id: 'g-1', text: 'help please' });
    const conversation = (await heard(v, 'help please')).conversation as string;
    await heard(leaving, 'help please');
    const next = await agent('ws5', 1);
    // ws5 came online with a free slot but the queue was empty: nothing for them yet.
    leaving.ws.terminate();
    await leaving.closed;
    // Within a second the grace ends, the cron's sweep requeues, the queue drains to ws5.
    const handed = await waitFor(
      () => of(next, 'chat.conversation').find((c) => c.id === conversation && c.agent === 'agent:ws5'),
      15_000,
      'the conversation handed to ws5',
    );
    expect(handed).toMatchObject({ status: 'assigned' });
    await heard(next, 'help please');
    await waitFor(() => of(v, 'chat.conversation').find((c) => c.agent === 'agent:ws5'), 10_000, 'frank told of ws5');
    const agents = (await t.http('GET', '/v1/admin/agents', { auth: ADMIN_KEY })).body.agents as { id: string; status: string; load: number }[];
    expect(agents.find((x) => x.id === 'agent:ws4')).toMatchObject({ status: 'offline', load: 0 });
  });

  it("sends an image uploaded to the conversation, and refuses one of another conversation", async () => {
    for (const id of ['ws1', 'ws2', 'ws3', 'ws4', 'ws5']) await t.service.ctx.chat.routing.presence(`agent:${id}`, 'away').catch(() => undefined);
    const a = await agent('ws6', 5);
    const v = await signIn('gina');
    v.send({ type: 'chat.send', client_id: 'h-1', text: 'look' });
    const conversation = (await heard(v, 'look')).conversation as string;
    const uploaded = await fetch(`${t.url}/v1/chat/uploads?conversation=${conversation}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${v.token}`, 'content-type': 'image/png' },
      body: new Uint8Array(png(3, 2)),
    });
    expect(uploaded.status).toBe(201);
    const { image } = (await uploaded.json()) as { image: { id: string; width: number; height: number } };
    expect(image).toMatchObject({ width: 3, height: 2 });
    v.send({ type: 'chat.send', client_id: 'h-2', image: image.id });
    const sent = await waitFor(() => of(a, 'chat.message').find((m) => m.kind === 'image'), 10_000, 'the image message');
    expect(sent).toMatchObject({ conversation, from: 'gina', image: image.id, text: null });

    // Another visitor's conversation's image: refused, naming the send.
    const other = await signIn('hank');
    other.send({ type: 'chat.send', client_id: 'i-1', image: image.id });
    const refused = await other.waitForFrame('error');
    expect(refused).toMatchObject({ code: 'invalid_request', field: 'image', ref: 'i-1' });
    // The refused send opened nothing for hank.
    expect(await t.service.ctx.chat.conversations.openOf('hank')).toBeNull();
  });

  it("tells every socket of an agent when their status or capacity changes (chat.agent)", async () => {
    await agent('st1', 2);
    const a = await signIn('agent:st1');
    const b = await signIn('agent:st1');
    a.send({ type: 'agent.status', status: 'away' });
    for (const s of [a, b]) {
      const f = await waitFor(() => of(s, 'chat.agent').find((x) => x.status === 'away'), 10_000, 'chat.agent away');
      expect(f).toEqual({ type: 'chat.agent', agent: 'agent:st1', name: 'Agent st1', status: 'away', capacity: 2, load: 0 });
    }
    expect((await t.http('PUT', '/v1/admin/agents/st1', { auth: ADMIN_KEY, body: { name: 'Stella', capacity: 4 } })).status).toBe(200);
    for (const s of [a, b]) {
      const f = await waitFor(() => of(s, 'chat.agent').find((x) => x.capacity === 4), 10_000, 'chat.agent capacity 4');
      expect(f).toEqual({ type: 'chat.agent', agent: 'agent:st1', name: 'Stella', status: 'away', capacity: 4, load: 0 });
    }
    b.send({ type: 'agent.status', status: 'online' });
    await waitFor(() => of(a, 'chat.agent').find((x) => x.status === 'online'), 10_000, 'chat.agent online');
  });
});
