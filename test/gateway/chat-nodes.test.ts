// The chat across gateway nodes, with real processes (as test/gateway/cluster.test.ts
// runs them): the API and the workers run in this process; gateway nodes run as
// `pmq gateway` child processes on the same Redis and key prefix. Two of them
// (A and B) are shared by every test and never stopped; a test that stops or
// kills a node spawns one of its own.
//
// - A visitor and an agent on different nodes talk both ways; receipts and
//   typing cross nodes; every socket sees the conversation in seq order, each
//   message once (proved by a marker message after it).
// - The visitor's node stops (SIGTERM) mid-conversation: what the agent wrote
//   meanwhile comes once, in order, after the hello on the other node (and
//   one chat notification for it all, not one per message).
// - Both sides write at the same moment, from two nodes: every socket still
//   gets the conversation in seq order (push/chat-notifier.ts publishes a
//   conversation's messages in turn).
// - A flaky link: a send whose echo is lost (the socket dropped first), sent
//   again with the same client_id after a reconnect: one message, and the
//   resending socket gets it back.
// - The agent's node dies (SIGKILL), or stops (SIGTERM): once the node is gone
//   and PMQ_CHAT_AGENT_GRACE_SECONDS has passed, the conversation goes back to
//   the queue and the agent is offline.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation } from '../../src/chat/conversation.js';
import { resolveConversation } from '../../src/ops/chat-manage.js';
import { execEach } from '../../src/redis/slot-groups.js';
import { registryState, spawnGateway, type GatewayNode } from '../helpers/cluster.js';
import { runMaintenance } from '../helpers/maintenance.js';
import { drained, startTestService, testEnv, waitFor, type TestService } from '../helpers/service.js';
import { killAllRoles } from '../helpers/spawn-role.js';
import { mintToken, rawSocket, type RawSocket } from '../helpers/ws-client.js';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
const NODE_TTL_MS = 2000;
const GRACE_SECONDS = 1;

let t: TestService;
let env: Record<string, string>;
let A: GatewayNode;
let B: GatewayNode;
/** What the running test opened, closed when it ends (passed or not), so that a failure stays in its test. */
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  env = testEnv({
    PMQ_NODE_TTL_MS: String(NODE_TTL_MS),
    PMQ_ADMIN_KEY: ADMIN_KEY,
    PMQ_CHAT_AGENT_GRACE_SECONDS: String(GRACE_SECONDS),
    PMQ_RATE_LIMIT_PER_USER: '0',
  });
  t = await startTestService({ roles: ['api', 'worker'], env });
  [A, B] = await Promise.all([spawnGateway(env, `${env.PMQ_KEY_PREFIX}-a`), spawnGateway(env, `${env.PMQ_KEY_PREFIX}-b`)]);
});

afterEach(async () => {
  // Last in, first out: sockets close before their agents are removed.
  for (const close of closers.splice(0).reverse()) await close();
});

afterAll(async () => {
  await killAllRoles();
  await t?.stop();
});

/** A gateway node for the running test alone, to stop or kill; stopped when the test ends, its registry entries removed. */
async function ownNode(name: string): Promise<GatewayNode> {
  const node = await spawnGateway(env, `${env.PMQ_KEY_PREFIX}-${name}`);
  closers.push(async () => {
    const { child } = node.proc;
    if (child.exitCode === null && child.signalCode === null) await node.proc.kill('SIGTERM');
    const { redis, keys } = t.service.ctx;
    await execEach(redis, [
      [keys.nodes, (p) => p.zrem(keys.nodes, node.nodeId)],
      [keys.nodeUsers(node.nodeId), (p) => p.del(keys.nodeUsers(node.nodeId))],
    ]);
  });
  return node;
}

const tag = () => randomBytes(4).toString('hex');
const stores = () => t.service.ctx.chat;

/** An agent of the running test's own (capacity 1), removed when it ends, with their conversations. */
async function agent(name: string): Promise<{ uid: string; token: string }> {
  const id = `${name}-${tag()}`;
  const r = await t.http('PUT', `/v1/admin/agents/${id}`, { auth: ADMIN_KEY, body: { name, capacity: 1 } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const uid = `agent:${id}`;
  closers.unshift(async () => {
    // Removed last (closers run in reverse): whatever they held goes back to the queue, then is resolved.
    const held = await stores().routing.heldBy(uid);
    await t.http('DELETE', `/v1/admin/agents/${id}`, { auth: ADMIN_KEY });
    for (const c of held) await resolveConversation(stores(), { kind: 'admin' }, c, new Date());
  });
  return { uid, token: await mintToken(t, uid) };
}

/** A site visitor of the running test's own; their open conversation is resolved when it ends. */
async function visitor(name: string): Promise<{ uid: string; token: string }> {
  const uid = `${name}-${tag()}`;
  closers.unshift(async () => {
    const open = await stores().conversations.openOf(uid);
    if (open !== null) await resolveConversation(stores(), { kind: 'admin' }, open, new Date());
  });
  return { uid, token: await mintToken(t, uid) };
}

type Frame = RawSocket['frames'][number];

/** A raw socket signed in by URL that acks each chat message as it comes (unless told not to), and reads its chat frames. */
interface ChatSocket extends RawSocket {
  hello: Frame;
  /** chat.message frames of one conversation, in arrival order, duplicates included. */
  messages(conversation: string): Frame[];
  /** Waits for a chat.message with this text; resolves with it. */
  heard(text: string, timeoutMs?: number): Promise<Frame>;
  /** Waits for a frame of `type` that matches `fields`. */
  got(type: string, fields: Record<string, unknown>, timeoutMs?: number): Promise<Frame>;
}

async function chatSocket(url: string, token: string, opts: { ack?: boolean } = {}): Promise<ChatSocket> {
  const raw = await rawSocket(`${url}?token=${token}`);
  closers.push(() => raw.ws.terminate());
  if (opts.ack !== false) {
    const ack = (f: Frame) => {
      if (f.type === 'chat.message' && raw.ws.readyState === raw.ws.OPEN) raw.send({ type: 'ack', ids: [f.id] });
    };
    raw.frames.forEach(ack);
    raw.ws.on('message', (d) => ack(JSON.parse(d.toString()) as Frame));
  }
  const hello = await raw.waitForFrame('hello');
  const chatMessages = () => raw.frames.filter((f) => f.type === 'chat.message');
  const matches = (f: Frame, fields: Record<string, unknown>) => Object.entries(fields).every(([k, v]) => f[k] === v);
  return {
    ...raw,
    hello,
    messages: (conversation) => chatMessages().filter((f) => f.conversation === conversation),
    heard: (text, timeoutMs = 10_000) =>
      waitFor(() => chatMessages().find((f) => f.text === text), timeoutMs, `"${text}" (have ${JSON.stringify(chatMessages().map((f) => f.text))})`),
    got: (type, fields, timeoutMs = 10_000) =>
      waitFor(
        () => raw.frames.find((f) => f.type === type && matches(f, fields)),
        timeoutMs,
        `a ${type} ${JSON.stringify(fields)} (have ${JSON.stringify(raw.frames.filter((f) => f.type === type))})`,
      ),
  };
}

const seqs = (frames: Frame[]) => frames.map((f) => f.seq as number);
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function record(id: string): Promise<Conversation> {
  const c = await stores().conversations.get(id);
  expect(c).not.toBeNull();
  return c!;
}

/** The visitor opens a conversation from `v`; it goes to `ag`, who gets it and its history. */
async function opened(v: ChatSocket, ag: ChatSocket, agentUid: string, text: string): Promise<string> {
  v.send({ type: 'chat.send', client_id: `open-${tag()}`, text });
  const conversation = (await v.heard(text)).conversation as string;
  await ag.got('chat.conversation', { id: conversation, status: 'assigned', agent: agentUid });
  await ag.heard(text);
  return conversation;
}

/** Runs the node sweep once `node`'s heartbeat is older than the TTL; resolves with what it swept. */
async function sweepDeadNode(node: GatewayNode) {
  const { redis, keys } = t.service.ctx;
  const beat = (await registryState(redis, keys, node.nodeId, [])).heartbeat;
  expect(beat).not.toBeNull();
  await waitFor(() => Date.now() - beat! > NODE_TTL_MS + 50, NODE_TTL_MS + 5000, "the node's heartbeat to grow older than the TTL");
  return runMaintenance(t, 'node-sweep');
}

describe('a visitor and an agent on different nodes', () => {
  it('talk both ways; receipts and typing cross nodes; every socket sees each message once, in seq order', async () => {
    const ann = await agent('ann');
    const ag = await chatSocket(B.wsUrl, ann.token);
    expect(ag.hello).toMatchObject({ node: B.nodeId, agent: { status: 'online', capacity: 1, conversations: [] } });
    const alice = await visitor('alice');
    // Alice on A, and her phone on B with the agent.
    const v = await chatSocket(A.wsUrl, alice.token);
    const phone = await chatSocket(B.wsUrl, alice.token);
    expect([v.hello.node, phone.hello.node]).toEqual([A.nodeId, B.nodeId]);

    const conversation = await opened(v, ag, ann.uid, 'hello from A');
    // seq 1 assigned, 2 her first message.
    expect(seqs(ag.messages(conversation))).toEqual([1, 2]);

    // They take turns, each writing a few lines at once: 3 rounds of 3 messages each side.
    for (let round = 1; round <= 3; round++) {
      for (const [who, name] of [
        [v, 'visitor'],
        [ag, 'agent'],
      ] as const) {
        for (let i = 1; i <= 3; i++) who.send({ type: 'chat.send', conversation, client_id: `${name}-${round}-${i}`, text: `${name} ${round}.${i}` });
        for (const s of [v, phone, ag]) await s.heard(`${name} ${round}.3`);
      }
    }
    const last = (await record(conversation)).last_seq;
    expect(last).toBe(20);
    // Every socket, on either node, the sender's too: 1..20, in order, once each.
    for (const s of [v, phone, ag]) expect(seqs(s.messages(conversation))).toEqual(upTo(last));
    // What each side saw is what is stored.
    const history = (await t.http('GET', `/v1/chat/conversations/${conversation}/messages?limit=50`, { auth: ADMIN_KEY })).body.messages as Frame[];
    const stored = [...history].reverse().map((m) => ({ ...m, type: 'chat.message' }));
    for (const s of [v, phone, ag]) expect(s.messages(conversation)).toEqual(stored);

    // Receipts cross nodes. The agent reads on B: the visitor on A hears of it.
    v.send({ type: 'chat.send', conversation, client_id: 'v-last', text: 'visitor last' });
    await ag.heard('visitor last');
    ag.send({ type: 'chat.read', conversation, seq: last + 1 });
    expect(await v.got('chat.receipt', { by: ann.uid, read_seq: last + 1 })).toEqual({
      type: 'chat.receipt',
      conversation,
      by: ann.uid,
      delivered_seq: last + 1,
      read_seq: last + 1,
    });
    // The visitor's device on A acks the agent's next message (delivered, not yet read):
    // the agent and her phone, on B, hear of it; then she reads it.
    ag.send({ type: 'chat.send', conversation, client_id: 'a-last', text: 'agent last' });
    await v.heard('agent last');
    for (const s of [ag, phone]) await s.got('chat.receipt', { by: alice.uid, delivered_seq: last + 2, read_seq: last + 1 });
    v.send({ type: 'chat.read', conversation, seq: last + 2 });
    for (const s of [ag, phone]) {
      expect(await s.got('chat.receipt', { by: alice.uid, read_seq: last + 2 })).toEqual({
        type: 'chat.receipt',
        conversation,
        by: alice.uid,
        delivered_seq: last + 2,
        read_seq: last + 2,
      });
    }

    // Typing crosses nodes, both ways.
    v.send({ type: 'chat.typing', conversation, on: true });
    expect(await ag.got('chat.typing', { by: alice.uid })).toEqual({ type: 'chat.typing', conversation, by: alice.uid, on: true });
    ag.send({ type: 'chat.typing', conversation, on: true });
    expect(await v.got('chat.typing', { by: ann.uid })).toEqual({ type: 'chat.typing', conversation, by: ann.uid, on: true });
    expect(await phone.got('chat.typing', { by: ann.uid })).toMatchObject({ on: true });

    // Nothing came twice, nothing more is coming: a marker is the next message on each socket.
    ag.send({ type: 'chat.send', conversation, client_id: 'marker', text: 'marker' });
    for (const s of [v, phone, ag]) {
      await s.heard('marker');
      expect(seqs(s.messages(conversation))).toEqual(upTo(last + 3));
      // Typing goes to the other side only, never back to its author's devices.
      expect(s.frames.filter((f) => f.type === 'chat.typing' && f.by === (s === ag ? ann.uid : alice.uid))).toEqual([]);
    }
  });

  // BUG: the order by seq does not hold when both sides write at once.
  // Each message takes its seq in one Lua step on the conversation
  // (chat-message-add-4.lua), and is then published by the node that took it
  // (ops/chat-send.ts: store, then notifier.message → publisher.chat: HKEYS of
  // the users' nodes, then PUBLISH). The two writers' nodes publish
  // independently, so a message stored first may be published after later
  // ones. Observed (every run, within the first two rounds of 5 + 5
  // messages): every socket, on both nodes, gets e.g. seqs 1,2,4,5,6,7,8,3,9
  // — the same wrong order on all of them (the publish order). A client that
  // shows frames as they come shows the conversation out of order; one that
  // sorts by seq sees a "gap" that is not one. A publish inside the same
  // atomic step as the seq (or a per-conversation reorder by seq before the
  // socket) would keep the order. The rounds stop at the first disorder; the
  // test asserts none in 20 rounds.
  it('both write at the same moment: every socket still gets the conversation in seq order', async () => {
    const fay = await agent('fay');
    const ag = await chatSocket(B.wsUrl, fay.token, { ack: false });
    const fred = await visitor('fred');
    const v = await chatSocket(A.wsUrl, fred.token, { ack: false });
    const phone = await chatSocket(B.wsUrl, fred.token, { ack: false });
    const conversation = await opened(v, ag, fay.uid, 'hello');
    let last = 2;
    const disorder: string[] = [];
    for (let round = 1; round <= 20 && disorder.length === 0; round++) {
      for (let i = 1; i <= 5; i++) {
        v.send({ type: 'chat.send', conversation, client_id: `v-${round}-${i}`, text: `visitor ${round}.${i}` });
        ag.send({ type: 'chat.send', conversation, client_id: `a-${round}-${i}`, text: `agent ${round}.${i}` });
      }
      for (const s of [v, phone, ag]) {
        await s.heard(`visitor ${round}.5`);
        await s.heard(`agent ${round}.5`);
      }
      last += 10;
      for (const [name, s] of [['visitor on A', v], ['visitor on B', phone], ['agent on B', ag]] as const) {
        const got = seqs(s.messages(conversation));
        if (JSON.stringify(got) !== JSON.stringify(upTo(last))) disorder.push(`round ${round}, ${name}: ${got.slice(-12).join(',')}`);
      }
    }
    expect(disorder).toEqual([]);
  });
});

describe("the visitor's node stopped (SIGTERM) mid-conversation", () => {
  it('what the agent wrote meanwhile comes once, in order, after the hello, on the other node', async () => {
    const C = await ownNode('stopped');
    const bea = await agent('bea');
    const ag = await chatSocket(B.wsUrl, bea.token);
    const bob = await visitor('bob');
    const v = await chatSocket(C.wsUrl, bob.token);
    const conversation = await opened(v, ag, bea.uid, 'my order is late');
    ag.send({ type: 'chat.send', conversation, client_id: 'r-1', text: 'let me look' });
    const reply = await v.heard('let me look');
    // Bob's ack of it reached the store: the agent sees it delivered.
    await ag.got('chat.receipt', { by: bob.uid, delivered_seq: reply.seq });

    expect(await C.proc.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await v.closed).toMatchObject({ code: 1012 });

    // Meanwhile, the agent writes.
    for (let i = 1; i <= 5; i++) ag.send({ type: 'chat.send', conversation, client_id: `m-${i}`, text: `meanwhile ${i}` });
    await ag.heard('meanwhile 5');
    const meanwhile = ag.messages(conversation).filter((f) => String(f.text).startsWith('meanwhile'));
    expect(meanwhile.map((f) => f.text)).toEqual([1, 2, 3, 4, 5].map((i) => `meanwhile ${i}`));

    // Bob was away when the agent wrote: one notification of category chat is waiting for him (not five).
    await drained(t);

    // Bob is back, on A.
    const back = await chatSocket(A.wsUrl, bob.token);
    expect(back.hello).toMatchObject({ node: A.nodeId, conversation: { id: conversation, status: 'assigned', agent: bea.uid } });
    await back.heard('meanwhile 5');
    ag.send({ type: 'chat.send', conversation, client_id: 'marker', text: 'marker' });
    await back.heard('marker');
    // After the hello: what he missed, in order, once; then the marker, and nothing else.
    const helloAt = back.frames.findIndex((f) => f.type === 'hello');
    expect(helloAt).toBe(0);
    expect(back.frames.filter((f) => f.type === 'chat.message')).toEqual([...meanwhile, await ag.heard('marker')]);
    expect(back.frames.filter((f) => f.type === 'message').map((f) => [f.category, f.id])).toEqual([['chat', `chat-${conversation}-${(reply.seq as number) - 1}`]]);
  });
});

describe('a flaky link', () => {
  // DESIGN.md: "a resend with the same client_id in the same conversation
  // returns the first message, never a second (a lost ack on a weak link)".
  // Over /ws the answer to a send is its chat.message: the client that lost the
  // echo gets the first message back on the socket it resent from.
  it('a send whose echo was lost, sent again with the same client_id after a reconnect: one message, and the resender gets it', async () => {
    const cy = await agent('cy');
    const ag = await chatSocket(B.wsUrl, cy.token);
    const cat = await visitor('cat');
    const first = await chatSocket(A.wsUrl, cat.token);
    const conversation = await opened(first, ag, cy.uid, 'hi');
    first.ws.terminate();

    for (const [i, node] of [A, B, A].entries()) {
      const clientId = `flaky-${i}`;
      // The link goes deaf: the socket reads nothing more, so the echo never reaches the client.
      const s = await chatSocket(node.wsUrl, cat.token, { ack: false });
      s.ws.pause();
      s.send({ type: 'chat.send', conversation, client_id: clientId, text: `try ${i}` });
      // The message was taken: the agent (on B) has it.
      const taken = await ag.heard(`try ${i}`);
      s.ws.terminate();
      expect(s.messages(conversation).filter((f) => f.client_id === clientId)).toEqual([]);

      // Reconnected (on the other node), the client sends it again, as a client with an outbox does...
      const again = await chatSocket(node === A ? B.wsUrl : A.wsUrl, cat.token);
      again.send({ type: 'chat.send', conversation, client_id: clientId, text: `try ${i}` });
      // ...and gets the first message back: same id, same seq.
      expect(await again.heard(`try ${i}`)).toEqual(taken);
      // Something new after it: it comes next, on both sides (no second "try").
      again.send({ type: 'chat.send', conversation, client_id: `after-${i}`, text: `after ${i}` });
      await ag.heard(`after ${i}`);
      await again.heard(`after ${i}`);
      expect(again.messages(conversation).map((f) => f.text)).toEqual([`try ${i}`, `after ${i}`]);
      again.ws.terminate();
    }
    // One message per client_id, stored and on the agent's screen.
    const history = (await t.http('GET', `/v1/chat/conversations/${conversation}/messages?limit=50`, { auth: ADMIN_KEY })).body.messages as Frame[];
    expect([...history].reverse().map((m) => m.text)).toEqual(['assigned', 'hi', 'try 0', 'after 0', 'try 1', 'after 1', 'try 2', 'after 2']);
    expect(seqs(ag.messages(conversation))).toEqual(upTo(history.length));
    ag.send({ type: 'chat.send', conversation, client_id: 'marker', text: 'marker' });
    await ag.heard('marker');
    expect(seqs(ag.messages(conversation))).toEqual(upTo(history.length + 1));
  });
});

describe("the agent's node gone", () => {
  /**
   * Kills or stops the agent's node; once the node sweep has run and the grace
   * has passed, the conversation must be back in the queue (its original
   * waiting_since), the visitor told, and the agent offline.
   */
  async function agentNodeGone(signal: 'SIGKILL' | 'SIGTERM') {
    const K = await ownNode(signal === 'SIGKILL' ? 'agent-killed' : 'agent-stopped');
    const eve = await agent('eve');
    const ag = await chatSocket(K.wsUrl, eve.token);
    const ed = await visitor('ed');
    const v = await chatSocket(A.wsUrl, ed.token);
    const conversation = await opened(v, ag, eve.uid, 'are you there?');
    const before = await record(conversation);

    const exit = await K.proc.kill(signal);
    expect(exit).toEqual(signal === 'SIGKILL' ? { code: null, signal: 'SIGKILL' } : { code: 0, signal: null });
    await ag.closed;
    if (signal === 'SIGKILL') {
      // Nobody closed her socket: only the node sweep (its heartbeat past PMQ_NODE_TTL_MS) learns that she left.
      expect(await sweepDeadNode(K)).toMatchObject({ nodes: 1 });
    }
    expect((await registryState(t.service.ctx.redis, t.service.ctx.keys, K.nodeId, [eve.uid])).userHasNode).toEqual({ [eve.uid]: false });
    // Her grace has begun: she keeps the conversation (no chat sweep has run yet, so nothing may have moved it).
    expect((await stores().routing.agents()).find((a) => a.agent === eve.uid)).toMatchObject({ status: 'online', inGrace: true, load: 1 });
    expect(await record(conversation)).toEqual(before);

    // The grace (1 s) passes; the chat sweep (cron's, every 5 s in production) takes her offline.
    const gone = await waitFor(
      async () => {
        await runMaintenance(t, 'chat-sweep');
        const state = (await stores().routing.agents()).find((a) => a.agent === eve.uid);
        return state?.status === 'offline' && state;
      },
      GRACE_SECONDS * 1000 + 8000,
      `${eve.uid} offline after the grace (now ${JSON.stringify((await stores().routing.agents()).find((a) => a.agent === eve.uid))})`,
    );
    expect(gone).toMatchObject({ status: 'offline', inGrace: false, load: 0 });
    expect(await record(conversation)).toMatchObject({ status: 'queued', agent: null, waiting_since: before.waiting_since });
    expect(await stores().routing.placeOf(conversation)).toEqual({ position: expect.any(Number) });
    await v.got('chat.conversation', { id: conversation, status: 'queued', agent: null });
  }

  // Observed (with src/ as it stood when this ran): the node sweep
  // (workers/maintenance.worker.ts, node-sweep) finds her among the dead node's
  // users and, as she has no socket left on any node, starts her grace
  // (ops/chat-presence.ts agentMayHaveLeft); the chat sweep after the grace
  // takes her offline and requeues the conversation at its first
  // waiting_since; the visitor (on A) is told. (When this test was written,
  // the node sweep did not touch the chat and she stayed online, holding the
  // conversation for ever; that was fixed in src/ meanwhile.)
  it('SIGKILL: after the node sweep and the grace, the conversation is requeued and the agent offline', async () => {
    await agentNodeGone('SIGKILL');
  });

  it('SIGTERM: the node closes her socket; after the grace, the conversation is requeued and the agent offline', async () => {
    await agentNodeGone('SIGTERM');
  });
});
