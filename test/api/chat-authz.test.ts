// Who may do what in the chat (DESIGN.md, "Customer-service chat" → "Who",
// "Routes", "Frames"): every chat route and every chat frame, tried by each
// kind of caller. A visitor sees and writes only in their own conversation; an
// agent sees the conversations assigned to them and the queue, and acts
// (writes, resolves, transfers) only on what they hold; an admin sees
// everything and may resolve and transfer any conversation, but writes in none
// (messages and images are its visitor's and its agent's); the main site's API
// key mints tokens and takes no part in conversations; nobody without
// credentials gets anywhere.
//
// The two tables below (HTTP_EXPECTED, WS_EXPECTED) are the expectations, one
// row per route or frame, one column per role. Each cell is its own test, on a
// scene of its own (fresh agents, visitors and conversations, all removed after
// it), so that a cell that wrongly changes something cannot spoil the next. A
// refused cell checks the exact error a user sees, and that nothing changed:
// the conversations' records (status, agent, last_seq...), who has an open
// conversation, the agents' states, the queue, the kept images; on /ws also
// that no chat frame reached anyone (proved by a marker sent after it).
// A cell the service gets wrong today is listed in HTTP_KNOWN_BUGS and marked
// `it.fails`: it still asserts the table.
import { readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation } from '../../src/chat/conversation.js';
import { resolveConversation } from '../../src/ops/chat-manage.js';
import { setPresence } from '../../src/ops/chat-presence.js';
import { sendMessage } from '../../src/ops/chat-send.js';
import { png } from '../helpers/images.js';
import { postMarker } from '../helpers/marker.js';
import { API_KEY, startTestService, waitFor, type TestService } from '../helpers/service.js';
import { rawSocket, wsUrl, type RawSocket } from '../helpers/ws-client.js';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
const WIDGET_KEY = 'widget-key-authz';

// ---------------------------------------------------------------------------
// The roles
// ---------------------------------------------------------------------------

const ROLES = ['api', 'anon', 'site', 'own', 'other', 'holder', 'otherAgent', 'queuedAgent', 'admin', 'none'] as const;
type Role = (typeof ROLES)[number];

const ROLE_NAMES: Record<Role, string> = {
  api: "the main site's API key",
  anon: 'an anonymous visitor (v:, from POST /v1/chat/visitors) with no conversation',
  site: 'a site-user visitor with no conversation',
  own: "the conversation's own visitor (anonymous, v:)",
  other: 'another visitor (a site user with an open conversation of their own)',
  holder: 'the agent who holds the conversation',
  otherAgent: 'another agent (online, full, holding another conversation)',
  queuedAgent: 'an agent, on a conversation that is queued',
  admin: 'the admin key',
  none: 'no credentials',
};

// ---------------------------------------------------------------------------
// What each role gets over HTTP. A cell is "<status>" for a success, or
// "<status> <code> [field]" for the error a user sees.
// ---------------------------------------------------------------------------

const HTTP_ROUTES = [
  'GET /v1/chat/conversations',
  'GET /v1/chat/conversations/:id',
  'GET /v1/chat/conversations/:id/messages',
  'POST /v1/chat/conversations/:id/messages',
  'POST /v1/chat/conversations/:id/resolve',
  'POST /v1/chat/conversations/:id/transfer {to: an agent with room}',
  'POST /v1/chat/uploads?conversation=:id',
  'GET /v1/chat/uploads/:image',
  'PUT /v1/admin/agents/:new',
  'GET /v1/admin/agents',
  'DELETE /v1/admin/agents/:holder',
  'POST /v1/tokens {uid: agent:<registered>}',
  'POST /v1/tokens {uid: agent:<unregistered>}',
  'POST /v1/tokens {uid: v:<visitor>}',
  'POST /v1/chat/visitors',
] as const;
type HttpRoute = (typeof HTTP_ROUTES)[number];

const FBD = '403 forbidden';
const NP = '403 not_participant';
const UNA = '401 unauthorized';
const UNK = '404 unknown_agent uid';
const RSV = '400 reserved_uid uid';

/** Columns in the order of ROLES: api, anon, site, own, other, holder, otherAgent, queuedAgent, admin, none. */
const row = (...cells: string[]): Record<Role, string> => {
  if (cells.length !== ROLES.length) throw new Error(`a row has ${cells.length} cells, not ${ROLES.length}`);
  return Object.fromEntries(ROLES.map((r, i) => [r, cells[i]!])) as Record<Role, string>;
};

// prettier-ignore
const HTTP_EXPECTED: Record<HttpRoute, Record<Role, string>> = {
  //                                                                       api    anon site own    other holder otherAgent queuedAgent admin  none
  'GET /v1/chat/conversations':                                        row(FBD,   NP,  NP,  NP,    NP,   '200', '200',     '200',      '200', UNA),
  'GET /v1/chat/conversations/:id':                                    row(FBD,   NP,  NP,  '200', NP,   '200', NP,        '200',      '200', UNA),
  'GET /v1/chat/conversations/:id/messages':                           row(FBD,   NP,  NP,  '200', NP,   '200', NP,        '200',      '200', UNA),
  'POST /v1/chat/conversations/:id/messages':                          row(FBD,   NP,  NP,  '201', NP,   '201', NP,        NP,         NP,    UNA),
  'POST /v1/chat/conversations/:id/resolve':                           row(FBD,   NP,  NP,  NP,    NP,   '200', NP,        NP,         '200', UNA),
  'POST /v1/chat/conversations/:id/transfer {to: an agent with room}': row(FBD,   NP,  NP,  NP,    NP,   '200', NP,        NP,         '200', UNA),
  'POST /v1/chat/uploads?conversation=:id':                            row(FBD,   NP,  NP,  '201', NP,   '201', NP,        NP,         NP,    UNA),
  'GET /v1/chat/uploads/:image':                                       row(FBD,   NP,  NP,  '200', NP,   '200', NP,        '200',      '200', UNA),
  'PUT /v1/admin/agents/:new':                                         row(UNA,   UNA, UNA, UNA,   UNA,  UNA,   UNA,       UNA,        '201', UNA),
  'GET /v1/admin/agents':                                              row(UNA,   UNA, UNA, UNA,   UNA,  UNA,   UNA,       UNA,        '200', UNA),
  'DELETE /v1/admin/agents/:holder':                                   row(UNA,   UNA, UNA, UNA,   UNA,  UNA,   UNA,       UNA,        '204', UNA),
  'POST /v1/tokens {uid: agent:<registered>}':                         row('201', FBD, FBD, FBD,   FBD,  FBD,   FBD,       FBD,        UNA,   UNA),
  'POST /v1/tokens {uid: agent:<unregistered>}':                       row(UNK,   FBD, FBD, FBD,   FBD,  FBD,   FBD,       FBD,        UNA,   UNA),
  'POST /v1/tokens {uid: v:<visitor>}':                                row(RSV,   FBD, FBD, FBD,   FBD,  FBD,   FBD,       FBD,        UNA,   UNA),
  // Only a widget key opens an anonymous visitor: none of these is one.
  'POST /v1/chat/visitors':                                            row(UNA,   UNA, UNA, UNA,   UNA,  UNA,   UNA,       UNA,        UNA,   UNA),
};

/**
 * Cells where the service answers otherwise today: each is a bug, its test
 * marked `it.fails` (it asserts the table's answer, and fails until the bug is fixed).
 */
const HTTP_KNOWN_BUGS: Partial<Record<`${HttpRoute} | ${Role}`, string>> = {};

// ---------------------------------------------------------------------------
// What each role gets on /ws. A cell is one of:
//   "close 4401"              the socket is closed at sign-in (not a user token)
//   "error <code> [field]"    an error frame (for chat.send, with ref = its client_id)
//   a success: "message"     the message comes back as chat.message, to both sides
//              "opens"       a new conversation of theirs, with the message in it
//              "receipt"     the other side gets chat.receipt
//              "typing"      the other side gets chat.typing
//              "resolved"    the visitor gets chat.conversation, status resolved
//              "transferred" the visitor gets chat.conversation, the new agent
//              "away"        the agent is away
// ---------------------------------------------------------------------------

const WS_FRAMES = [
  'chat.send {conversation}',
  'chat.send (no conversation)',
  'chat.read',
  'chat.typing',
  'chat.resolve',
  'chat.transfer {to: an agent with room}',
  'agent.status {away}',
] as const;
type WsFrame = (typeof WS_FRAMES)[number];

const C4401 = 'close 4401';
const UNAUTH = 'error unauthenticated';
const ENP = 'error not_participant';
const EINV = 'error invalid_request';
const EINVC = 'error invalid_request conversation';

// prettier-ignore
const WS_EXPECTED: Record<WsFrame, Record<Role, string>> = {
  //                                            api    anon     site     own        other      holder         otherAgent queuedAgent admin  none
  'chat.send {conversation}':               row(C4401, ENP,     ENP,     'message', ENP,       'message',     ENP,       ENP,        C4401, UNAUTH),
  'chat.send (no conversation)':            row(C4401, 'opens', 'opens', 'message', 'message', EINVC,         EINVC,     EINVC,      C4401, UNAUTH),
  'chat.read':                              row(C4401, ENP,     ENP,     'receipt', ENP,       'receipt',     ENP,       ENP,        C4401, UNAUTH),
  'chat.typing':                            row(C4401, ENP,     ENP,     'typing',  ENP,       'typing',      ENP,       ENP,        C4401, UNAUTH),
  'chat.resolve':                           row(C4401, EINV,    EINV,    EINV,      EINV,      'resolved',    ENP,       ENP,        C4401, UNAUTH),
  'chat.transfer {to: an agent with room}': row(C4401, EINV,    EINV,    EINV,      EINV,      'transferred', ENP,       ENP,        C4401, UNAUTH),
  'agent.status {away}':                    row(C4401, EINV,    EINV,    EINV,      EINV,      'away',        'away',    'away',     C4401, UNAUTH),
};

// ---------------------------------------------------------------------------
// The service and the scenes
// ---------------------------------------------------------------------------

let t: TestService;
beforeAll(async () => {
  t = await startTestService({
    roles: ['api', 'gateway', 'worker'],
    env: {
      PMQ_ADMIN_KEY: ADMIN_KEY,
      PMQ_WIDGET_KEYS: WIDGET_KEY,
      PMQ_CHAT_VISITORS_PER_MINUTE: '0',
      // Each cell makes many requests in a second with the same keys: no rate limits here.
      PMQ_RATE_LIMIT_PER_KEY: '0',
      PMQ_RATE_LIMIT_PER_USER: '0',
    },
  });
});
afterAll(async () => t?.stop());

interface Person {
  uid: string;
  token: string;
}
interface Agent extends Person {
  /** The admin API's :id (uid without "agent:"). */
  id: string;
}

/**
 * One cell's world. Agents: the holder (capacity 1) holds `c`; the other agent
 * (capacity 1) holds `c2`; both are online and full, so `q` waits in the queue.
 * The spare agent (capacity 2) is registered and offline (a transfer cell puts
 * them online first). Visitors: `own` (anonymous) wrote in `c`, which the
 * holder answered (seq 1 assigned, 2 the visitor's, 3 the holder's); `other`
 * (site user) holds `c2`; `queued` waits with `q`; `anon` and `site` have none.
 */
interface Scene {
  tag: string;
  holder: Agent;
  otherAgent: Agent;
  spare: Agent;
  /** The agent a PUT cell registers. */
  newAgentId: string;
  own: Person;
  other: Person;
  queued: Person;
  anon: Person;
  site: Person;
  c: string;
  c2: string;
  q: string;
  /** Images uploaded by the visitors of c and q (for the GET upload cells). */
  images: { c: string; q: string } | null;
}

type Answer = { status: number; body: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const now = () => new Date(t.service.ctx.clock.now());
const stores = () => t.service.ctx.chat;

async function mint(uid: string): Promise<string> {
  const r = await t.http('POST', '/v1/tokens', { body: { uid } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.token as string;
}

async function registerAgent(id: string, capacity: number): Promise<Agent> {
  const r = await t.http('PUT', `/v1/admin/agents/${id}`, { auth: ADMIN_KEY, body: { name: `Agent ${id}`, capacity } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return { id, uid: `agent:${id}`, token: await mint(`agent:${id}`) };
}

async function anonymousVisitor(): Promise<Person> {
  const r = await t.http('POST', '/v1/chat/visitors', { auth: WIDGET_KEY });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return { uid: r.body.visitor as string, token: r.body.token as string };
}

async function siteVisitor(uid: string): Promise<Person> {
  return { uid, token: await mint(uid) };
}

/** What a visitor's message does (as chat.send would), or an agent's in a conversation they hold. */
async function says(who: Person, text: string, conversation: string | null = null) {
  const caller = who.uid.startsWith('agent:') ? { kind: 'agent' as const, uid: who.uid } : { kind: 'visitor' as const, uid: who.uid };
  const r = await sendMessage(stores(), caller, { conversation, clientId: `setup-${randomBytes(4).toString('hex')}`, text, image: null }, now());
  return r.message;
}

async function record(id: string): Promise<Conversation> {
  const c = await stores().conversations.get(id);
  expect(c, `conversation ${id}`).not.toBeNull();
  return c!;
}

async function uploadPng(token: string, conversation: string): Promise<Answer> {
  const res = await fetch(`${t.url}/v1/chat/uploads?conversation=${conversation}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'image/png' },
    body: new Uint8Array(png(4, 3)),
  });
  return { status: res.status, body: await res.json() };
}

async function buildScene(opts: { images?: boolean } = {}): Promise<Scene> {
  const { routing } = stores();
  // Every scene before this one was taken down: nobody waits, nobody is free to take a conversation.
  expect((await routing.queue(10)).length, 'the queue is empty before a scene').toBe(0);
  const tag = randomBytes(4).toString('hex');
  const [holder, otherAgent, spare] = await Promise.all([registerAgent(`h-${tag}`, 1), registerAgent(`o-${tag}`, 1), registerAgent(`t-${tag}`, 2)]);

  await routing.presence(holder.uid, 'online');
  const own = await anonymousVisitor();
  const c = (await says(own, 'hello')).conversation;
  await says(holder, 'hi, how can I help?', c);
  expect(await record(c)).toMatchObject({ status: 'assigned', agent: holder.uid, last_seq: 3 });

  await routing.presence(otherAgent.uid, 'online');
  const other = await siteVisitor(`w-${tag}`);
  const c2 = (await says(other, 'me too')).conversation;
  expect(await record(c2)).toMatchObject({ status: 'assigned', agent: otherAgent.uid });

  const queued = await siteVisitor(`q-${tag}`);
  const q = (await says(queued, 'anyone?')).conversation;
  expect(await record(q)).toMatchObject({ status: 'queued', agent: null, last_seq: 1 });

  const [anon, site] = await Promise.all([anonymousVisitor(), siteVisitor(`s-${tag}`)]);
  let images: Scene['images'] = null;
  if (opts.images) {
    const [ic, iq] = await Promise.all([uploadPng(own.token, c), uploadPng(queued.token, q)]);
    expect([ic.status, iq.status]).toEqual([201, 201]);
    images = { c: ic.body.image.id, q: iq.body.image.id };
  }
  return { tag, holder, otherAgent, spare, newAgentId: `n-${tag}`, own, other, queued, anon, site, c, c2, q, images };
}

/** Takes a scene down: its agents removed, every conversation of its visitors resolved; the queue is empty again. */
async function takeDown(s: Scene): Promise<void> {
  for (const a of [s.holder.id, s.otherAgent.id, s.spare.id, s.newAgentId]) {
    const r = await t.http('DELETE', `/v1/admin/agents/${a}`, { auth: ADMIN_KEY });
    expect([204, 404]).toContain(r.status);
  }
  for (const v of [s.own, s.other, s.queued, s.anon, s.site]) {
    const open = await stores().conversations.openOf(v.uid);
    if (open !== null) await resolveConversation(stores(), { kind: 'admin' }, open, now());
  }
  for (const id of [s.c, s.c2, s.q]) {
    if ((await record(id)).status !== 'resolved') await resolveConversation(stores(), { kind: 'admin' }, id, now());
  }
  expect((await stores().routing.queue(10)).length, 'the queue is empty after a scene').toBe(0);
}

/** Every file under the upload dir (an upload leaves its image and its records there). */
async function uploadFiles(): Promise<number> {
  const entries = await readdir(t.config.chat.uploadDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

/** Everything a refused request must leave as it was. */
async function snapshot(s: Scene) {
  const { conversations, routing } = stores();
  const people = [s.own, s.other, s.queued, s.anon, s.site, s.holder, s.otherAgent, s.spare];
  const ours = new Set([s.holder.uid, s.otherAgent.uid, s.spare.uid, `agent:${s.newAgentId}`]);
  return {
    c: await record(s.c),
    c2: await record(s.c2),
    q: await record(s.q),
    history: (await conversations.messages(s.c, null, 50)).map((m) => [m.seq, m.from, m.text]),
    open: Object.fromEntries(await Promise.all(people.map(async (p) => [p.uid, await conversations.openOf(p.uid)] as const))),
    agents: (await routing.agents())
      .filter((a) => ours.has(a.agent))
      .map((a) => ({ agent: a.agent, capacity: a.capacity, status: a.status, load: a.load })),
    held: Object.fromEntries(await Promise.all([s.holder, s.otherAgent, s.spare].map(async (a) => [a.uid, await routing.heldBy(a.uid)] as const))),
    queue: (await routing.queue(50)).waiting.map((w) => w.conversation),
    receipts: await Promise.all([s.own.uid, s.holder.uid].map((u) => conversations.receiptsOf(s.c, u))),
    files: await uploadFiles(),
  };
}

/** The credentials a role sends, and the conversation it acts on. */
function actor(s: Scene, role: Role): { auth: string | null; uid: string | null; conversation: string } {
  const on = role === 'queuedAgent' ? s.q : s.c;
  switch (role) {
    case 'api':
      return { auth: API_KEY, uid: null, conversation: on };
    case 'admin':
      return { auth: ADMIN_KEY, uid: null, conversation: on };
    case 'none':
      return { auth: null, uid: null, conversation: on };
    case 'queuedAgent':
      return { auth: s.otherAgent.token, uid: s.otherAgent.uid, conversation: on };
    default: {
      const p = { anon: s.anon, site: s.site, own: s.own, other: s.other, holder: s.holder, otherAgent: s.otherAgent }[role];
      return { auth: p.token, uid: p.uid, conversation: on };
    }
  }
}

/** "403 not_participant" → {status, code, field?}; "200" → {status}. */
function parseCell(cell: string): { status: number; code?: string; field?: string } {
  const [status, code, field] = cell.split(' ');
  return { status: Number(status), ...(code !== undefined && { code }), ...(field !== undefined && { field }) };
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

/** What a transfer cell needs first: the spare agent online with room (their coming online hands them q: one slot left). */
async function spareOnline(s: Scene): Promise<void> {
  // As an agent.status frame does: the routing step, then the moves recorded on the conversations.
  await setPresence(stores(), s.spare.uid, 'online', now());
  expect(await record(s.q)).toMatchObject({ status: 'assigned', agent: s.spare.uid });
}

async function callHttp(s: Scene, route: HttpRoute, role: Role): Promise<Answer & { headers?: Headers; bytes?: Buffer }> {
  const a = actor(s, role);
  const id = a.conversation;
  const http = (method: string, path: string, body?: unknown) => t.http(method, path, { auth: a.auth, ...(body !== undefined && { body }) });
  switch (route) {
    case 'GET /v1/chat/conversations':
      return http('GET', '/v1/chat/conversations');
    case 'GET /v1/chat/conversations/:id':
      return http('GET', `/v1/chat/conversations/${id}`);
    case 'GET /v1/chat/conversations/:id/messages':
      return http('GET', `/v1/chat/conversations/${id}/messages`);
    case 'POST /v1/chat/conversations/:id/messages':
      return http('POST', `/v1/chat/conversations/${id}/messages`, { client_id: `cell-${role}`, text: `from ${role}` });
    case 'POST /v1/chat/conversations/:id/resolve':
      return http('POST', `/v1/chat/conversations/${id}/resolve`);
    case 'POST /v1/chat/conversations/:id/transfer {to: an agent with room}':
      return http('POST', `/v1/chat/conversations/${id}/transfer`, { to: s.spare.uid });
    case 'POST /v1/chat/uploads?conversation=:id': {
      const res = await fetch(`${t.url}/v1/chat/uploads?conversation=${id}`, {
        method: 'POST',
        headers: { ...(a.auth !== null && { authorization: `Bearer ${a.auth}` }), 'content-type': 'image/png' },
        body: new Uint8Array(png(5, 5)),
      });
      return { status: res.status, body: await res.json() };
    }
    case 'GET /v1/chat/uploads/:image': {
      const image = role === 'queuedAgent' ? s.images!.q : s.images!.c;
      const res = await fetch(`${t.url}/v1/chat/uploads/${image}`, { headers: a.auth === null ? {} : { authorization: `Bearer ${a.auth}` } });
      const bytes = Buffer.from(await res.arrayBuffer());
      let body: unknown = null;
      if ((res.headers.get('content-type') ?? '').startsWith('application/json')) body = JSON.parse(bytes.toString('utf8'));
      return { status: res.status, body, headers: res.headers, bytes };
    }
    case 'PUT /v1/admin/agents/:new':
      return http('PUT', `/v1/admin/agents/${s.newAgentId}`, { name: 'New', capacity: 1 });
    case 'GET /v1/admin/agents':
      return http('GET', '/v1/admin/agents');
    case 'DELETE /v1/admin/agents/:holder':
      return http('DELETE', `/v1/admin/agents/${s.holder.id}`);
    case 'POST /v1/tokens {uid: agent:<registered>}':
      return http('POST', '/v1/tokens', { uid: s.holder.uid });
    case 'POST /v1/tokens {uid: agent:<unregistered>}':
      return http('POST', '/v1/tokens', { uid: `agent:nobody-${s.tag}` });
    case 'POST /v1/tokens {uid: v:<visitor>}':
      return http('POST', '/v1/tokens', { uid: s.own.uid });
    case 'POST /v1/chat/visitors':
      return http('POST', '/v1/chat/visitors');
  }
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/** What a successful cell must show: its answer, and what it changed (nothing, for a read). */
async function httpSuccess(s: Scene, route: HttpRoute, role: Role, r: Awaited<ReturnType<typeof callHttp>>, before: Snapshot): Promise<void> {
  const a = actor(s, role);
  const after = await snapshot(s);
  const unchanged = () => expect(after).toEqual(before);
  switch (route) {
    case 'GET /v1/chat/conversations': {
      const ids = (r.body.conversations as Conversation[]).map((c) => c.id);
      // An agent: their own and the queue; an admin: every open one.
      const seen: Partial<Record<Role, string[]>> = { holder: [s.c, s.q], otherAgent: [s.c2, s.q], queuedAgent: [s.c2, s.q], admin: [s.c, s.c2, s.q] };
      const sees = seen[role]!;
      const hidden = [s.c, s.c2, s.q].filter((id) => !sees.includes(id));
      for (const id of sees) expect(ids).toContain(id);
      for (const id of hidden) expect(ids).not.toContain(id);
      return unchanged();
    }
    case 'GET /v1/chat/conversations/:id':
      expect(r.body).toEqual({ conversation: a.conversation === s.q ? before.q : before.c, receipts: expect.any(Array) });
      expect(r.body.receipts.map((x: { by: string }) => x.by)).toEqual(a.conversation === s.q ? [before.q.visitor] : [before.c.visitor, before.c.agent]);
      return unchanged();
    case 'GET /v1/chat/conversations/:id/messages': {
      const want = a.conversation === s.q ? [1] : [3, 2, 1];
      expect(r.body.messages.map((m: { seq: number }) => m.seq)).toEqual(want);
      return unchanged();
    }
    case 'POST /v1/chat/conversations/:id/messages':
      expect(r.body.message).toMatchObject({ conversation: s.c, seq: 4, from: a.uid, kind: 'text', text: `from ${role}`, client_id: `cell-${role}` });
      expect(after.c).toEqual({ ...before.c, last_seq: 4 });
      return;
    case 'POST /v1/chat/conversations/:id/resolve':
      expect(r.body.conversation).toMatchObject({ id: s.c, status: 'resolved', agent: s.holder.uid, resolved_at: expect.any(String) });
      expect(after.c).toMatchObject({ status: 'resolved' });
      expect(after.open[s.own.uid]).toBeNull();
      return;
    case 'POST /v1/chat/conversations/:id/transfer {to: an agent with room}':
      expect(r.body.conversation).toMatchObject({ id: s.c, status: 'assigned', agent: s.spare.uid });
      expect(after.c).toMatchObject({ status: 'assigned', agent: s.spare.uid });
      expect(after.held[s.holder.uid]).toEqual([]);
      return;
    case 'POST /v1/chat/uploads?conversation=:id':
      expect(r.body).toEqual({ image: { id: expect.any(String), type: 'image/png', bytes: png(5, 5).length, width: 5, height: 5 } });
      expect(after.files).toBeGreaterThan(before.files);
      expect({ ...after, files: before.files }).toEqual(before);
      return;
    case 'GET /v1/chat/uploads/:image':
      expect(r.headers!.get('content-type')).toBe('image/png');
      expect(r.bytes!.equals(png(4, 3))).toBe(true);
      return unchanged();
    case 'PUT /v1/admin/agents/:new':
      expect(r.body).toEqual({ agent: { id: `agent:${s.newAgentId}`, name: 'New', capacity: 1, status: 'offline', in_grace: false, load: 0 } });
      expect(after.agents).toContainEqual({ agent: `agent:${s.newAgentId}`, capacity: 1, status: 'offline', load: 0 });
      return;
    case 'GET /v1/admin/agents':
      expect(r.body.agents).toContainEqual({ id: s.holder.uid, name: `Agent ${s.holder.id}`, capacity: 1, status: 'online', in_grace: false, load: 1 });
      expect(r.body.agents).toContainEqual({ id: s.spare.uid, name: `Agent ${s.spare.id}`, capacity: 2, status: 'offline', in_grace: false, load: 0 });
      return unchanged();
    case 'DELETE /v1/admin/agents/:holder':
      expect(r.body).toBe('');
      expect(after.agents.map((x) => x.agent)).not.toContain(s.holder.uid);
      // Their conversation goes back to the queue (nobody else has room: it waits).
      expect(after.c).toMatchObject({ status: 'queued', agent: null });
      return;
    case 'POST /v1/tokens {uid: agent:<registered>}': {
      expect(r.body).toEqual({ uid: s.holder.uid, token: expect.any(String), expires_at: expect.any(String) });
      // It is the holder's token: it opens their conversation.
      expect((await t.http('GET', `/v1/chat/conversations/${s.c}`, { auth: r.body.token })).status).toBe(200);
      return unchanged();
    }
    default:
      throw new Error(`no success check for ${route}`);
  }
}

describe('every chat route, tried by each role (HTTP)', () => {
  for (const route of HTTP_ROUTES) {
    describe(route, () => {
      for (const role of ROLES) {
        const cell = HTTP_EXPECTED[route][role];
        const bug = HTTP_KNOWN_BUGS[`${route} | ${role}`];
        (bug === undefined ? it : it.fails)(`${ROLE_NAMES[role]}: ${cell}${bug === undefined ? '' : ` (known bug: ${bug})`}`, async () => {
          const s = await buildScene({ images: route === 'GET /v1/chat/uploads/:image' });
          try {
            if (route.startsWith('POST /v1/chat/conversations/:id/transfer') && role !== 'queuedAgent') await spareOnline(s);
            const before = await snapshot(s);
            const r = await callHttp(s, route, role);
            const want = parseCell(cell);
            if (want.code === undefined) {
              expect(r.status, JSON.stringify(r.body)).toBe(want.status);
              await httpSuccess(s, route, role, r, before);
            } else {
              expect(r.body, `status ${r.status}`).toEqual({
                error: { code: want.code, message: expect.any(String), ...(want.field !== undefined && { field: want.field }) },
              });
              expect(r.status).toBe(want.status);
              // Refused: nothing changed.
              expect(await snapshot(s)).toEqual(before);
            }
          } finally {
            await takeDown(s);
          }
        });
      }
    });
  }
});

// ---------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------

type Frame = RawSocket['frames'][number];

const sockets = new Set<RawSocket>();

async function signIn(token: string): Promise<RawSocket & { helloAt: number }> {
  const s = await rawSocket(`${wsUrl(t)}?token=${token}`);
  sockets.add(s);
  await s.waitForFrame('hello');
  return Object.assign(s, { helloAt: s.frames.findIndex((f) => f.type === 'hello') });
}

function closeAll(): void {
  for (const s of sockets) s.ws.terminate();
  sockets.clear();
}

const CHAT_TYPES = new Set(['chat.message', 'chat.typing', 'chat.receipt', 'chat.conversation', 'chat.queue']);

/**
 * The chat frames a socket got after its hello that are news: any but the
 * messages it was welcomed with (those of c, c2 and q up to their last_seq before the cell).
 */
function newsOn(sock: RawSocket & { helloAt: number }, s: Scene, before: Snapshot, upTo = sock.frames.length): Frame[] {
  const lastSeq = new Map([
    [s.c, before.c.last_seq],
    [s.c2, before.c2.last_seq],
    [s.q, before.q.last_seq],
  ]);
  return sock.frames
    .slice(sock.helloAt + 1, upTo)
    .filter((f) => CHAT_TYPES.has(f.type))
    .filter((f) => !(f.type === 'chat.message' && (f.seq as number) <= (lastSeq.get(f.conversation as string) ?? 0)));
}

function frameOf(s: Scene, frame: WsFrame, role: Role, seq: number): Record<string, unknown> {
  const { conversation } = actor(s, role);
  switch (frame) {
    case 'chat.send {conversation}':
      return { type: 'chat.send', conversation, client_id: `cell-${role}`, text: `from ${role}` };
    case 'chat.send (no conversation)':
      return { type: 'chat.send', client_id: `cell-${role}`, text: `from ${role}` };
    case 'chat.read':
      return { type: 'chat.read', conversation, seq };
    case 'chat.typing':
      return { type: 'chat.typing', conversation, on: true };
    case 'chat.resolve':
      return { type: 'chat.resolve', conversation };
    case 'chat.transfer {to: an agent with room}':
      return { type: 'chat.transfer', conversation, to: s.spare.uid };
    case 'agent.status {away}':
      return { type: 'agent.status', status: 'away' };
  }
}

describe('every chat frame, tried by each role (/ws)', () => {
  for (const frame of WS_FRAMES) {
    describe(frame, () => {
      for (const role of ROLES) {
        const cell = WS_EXPECTED[frame][role];
        it(`${ROLE_NAMES[role]}: ${cell}`, async () => {
          const s = await buildScene();
          try {
            await wsCell(s, frame, role, cell);
          } finally {
            closeAll();
            await takeDown(s);
          }
        });
      }
    });
  }
});

async function wsCell(s: Scene, frame: WsFrame, role: Role, cell: string): Promise<void> {
  const a = actor(s, role);
  // What some cells need before anyone signs in.
  if (frame === 'chat.transfer {to: an agent with room}' && role !== 'queuedAgent') await spareOnline(s);
  // The holder has read all they wrote (seq 3): the visitor writes once more, for their read to move.
  if (frame === 'chat.read' && role === 'holder') await says(s.own, 'one more thing', s.c);

  // Both sides of c watch, each on a socket of their own.
  const ownSees = await signIn(s.own.token);
  const holderSees = await signIn(s.holder.token);
  const before = await snapshot(s);
  const target = a.conversation === s.q ? before.q : before.c;
  const sent = frameOf(s, frame, role, target.last_seq);

  let sock: (RawSocket & { helloAt: number }) | null = null;
  if (role === 'api' || role === 'admin') {
    // Not a user token: no socket.
    const r = await rawSocket(`${wsUrl(t)}?token=${a.auth}`);
    sockets.add(r);
    expect(await r.closed).toMatchObject({ code: 4401 });
    expect(r.frames.filter((f) => f.type === 'hello')).toEqual([]);
  } else if (role === 'none') {
    const r = await rawSocket(wsUrl(t));
    sockets.add(r);
    r.send(sent);
    expect(await r.waitForFrame('error')).toMatchObject({ code: 'unauthenticated' });
  } else {
    sock = await signIn(a.auth!);
    sock.send(sent);
  }

  const expected = cell.split(' ');
  if (expected[0] === 'error' || expected[0] === 'close') {
    if (sock !== null) {
      const err = await sock.waitForFrame('error');
      const ref = frame.startsWith('chat.send') ? { ref: `cell-${role}` } : {};
      expect(err).toEqual({
        type: 'error',
        code: expected[1],
        message: expect.any(String),
        ...(expected[2] !== undefined && { field: expected[2] }),
        ...ref,
      });
    }
    expect(await snapshot(s)).toEqual(before);
    await nothingReached(s, before, ownSees, holderSees, sock);
    return;
  }

  // A success: what the user sees.
  const sockOf = sock!;
  const chatMessage = (on: RawSocket, clientId: string) =>
    waitFor(() => on.frames.find((f) => f.type === 'chat.message' && f.client_id === clientId), 10_000, `the chat.message ${clientId}`);
  switch (cell) {
    case 'message': {
      const mine = await chatMessage(sockOf, `cell-${role}`);
      const where = role === 'other' ? s.c2 : s.c;
      expect(mine).toMatchObject({ conversation: where, from: a.uid, kind: 'text', text: `from ${role}` });
      if (where === s.c) {
        expect(mine.seq).toBe(before.c.last_seq + 1);
        // The other side too.
        for (const on of [ownSees, holderSees]) expect(await chatMessage(on, `cell-${role}`)).toEqual(mine);
        expect(await record(s.c)).toEqual({ ...before.c, last_seq: before.c.last_seq + 1 });
      } else {
        expect(await record(s.c)).toEqual(before.c);
      }
      return;
    }
    case 'opens': {
      const mine = await chatMessage(sockOf, `cell-${role}`);
      expect(mine.conversation).not.toBe(s.c);
      expect(mine).toMatchObject({ from: a.uid, kind: 'text' });
      const opened = await record(mine.conversation as string);
      // Nobody has room: it waits.
      expect(opened).toMatchObject({ visitor: a.uid, status: 'queued', agent: null });
      expect(await stores().conversations.openOf(a.uid!)).toBe(opened.id);
      expect(await record(s.c)).toEqual(before.c);
      return;
    }
    case 'receipt': {
      const other = role === 'own' ? holderSees : ownSees;
      const receipt = await other.waitForFrame('chat.receipt');
      expect(receipt).toEqual({ type: 'chat.receipt', conversation: s.c, by: a.uid, delivered_seq: target.last_seq, read_seq: target.last_seq });
      expect(await record(s.c)).toEqual(before.c);
      return;
    }
    case 'typing': {
      const other = role === 'own' ? holderSees : ownSees;
      expect(await other.waitForFrame('chat.typing')).toEqual({ type: 'chat.typing', conversation: s.c, by: a.uid, on: true });
      expect(await record(s.c)).toEqual(before.c);
      return;
    }
    case 'resolved': {
      const told = await waitFor(() => ownSees.frames.find((f) => f.type === 'chat.conversation' && f.status === 'resolved'), 10_000, 'the visitor told of the resolve');
      expect(told).toMatchObject({ id: s.c, status: 'resolved', agent: s.holder.uid });
      expect(await record(s.c)).toMatchObject({ status: 'resolved' });
      return;
    }
    case 'transferred': {
      const told = await waitFor(() => ownSees.frames.find((f) => f.type === 'chat.conversation' && f.agent === s.spare.uid), 10_000, 'the visitor told of the transfer');
      expect(told).toMatchObject({ id: s.c, status: 'assigned', agent: s.spare.uid });
      expect(await record(s.c)).toMatchObject({ status: 'assigned', agent: s.spare.uid });
      return;
    }
    case 'away': {
      await waitFor(async () => (await stores().routing.agents()).find((x) => x.agent === a.uid)?.status === 'away', 10_000, `${a.uid} away`);
      expect(await record(s.c)).toEqual(before.c);
      return;
    }
    default:
      throw new Error(`no success check for ${cell}`);
  }
}

/**
 * Proves that a refused frame reached nobody: the visitor of c writes a marker
 * (it reaches both sides of c), and the actor gets a notification marker; on
 * each socket, nothing chat-like came before its marker.
 */
async function nothingReached(
  s: Scene,
  before: Snapshot,
  ownSees: RawSocket & { helloAt: number },
  holderSees: RawSocket & { helloAt: number },
  sock: (RawSocket & { helloAt: number }) | null,
): Promise<void> {
  const marker = await says(s.own, `marker-${s.tag}`, s.c);
  for (const on of [ownSees, holderSees]) {
    await waitFor(() => on.frames.some((f) => f.type === 'chat.message' && f.id === marker.id), 10_000, 'the chat marker');
    const at = on.frames.findIndex((f) => f.type === 'chat.message' && f.id === marker.id);
    expect(newsOn(on, s, before, at + 1).map((f) => [f.type, f.id ?? null])).toEqual([['chat.message', marker.id]]);
  }
  if (sock === null) return;
  const me = sock.frames[sock.helloAt]!.uid as string;
  const id = await postMarker(t, me);
  await waitFor(() => sock.frames.some((f) => f.type === 'message' && f.id === id), 10_000, 'the notification marker');
  const upTo = sock.frames.findIndex((f) => f.type === 'message' && f.id === id);
  // A participant of c, acting, gets the chat marker too; nobody else gets any chat frame.
  const participant = me === s.own.uid || me === s.holder.uid;
  expect(newsOn(sock, s, before, upTo).map((f) => [f.type, f.id ?? null])).toEqual(participant ? [['chat.message', marker.id]] : []);
}
