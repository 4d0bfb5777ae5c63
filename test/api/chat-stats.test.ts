// The chat's figures as an admin and an operator see them: GET /v1/admin/stats
// (service-wide, the last hour kept in Redis) and the pmq_chat_* series of
// GET /metrics, moved by the real operations (a visitor's message, an agent
// going online, a reply, a transfer, an upload) on a clock the test moves.
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatCaller } from '../../src/ops/chat-caller.js';
import { transferConversation } from '../../src/ops/chat-manage.js';
import { recordMoves } from '../../src/ops/chat-moves.js';
import { setPresence } from '../../src/ops/chat-presence.js';
import { sendMessage } from '../../src/ops/chat-send.js';
import { gif, png } from '../helpers/images.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { drained, startTestService, waitFor, type TestService } from '../helpers/service.js';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
const SECOND = 1000;
const MINUTE = 60 * SECOND;

let t: TestService;
let clock: ManualClock;
afterEach(async () => t?.stop());

/** A service of its own (its keys, its metrics), on a clock that stands still. */
async function start(env: Record<string, string> = {}): Promise<void> {
  clock = new ManualClock();
  t = await startTestService({ roles: ['api'], clock, env: { PMQ_ADMIN_KEY: ADMIN_KEY, PMQ_CHAT_MAX_CAPACITY: '10', ...env } });
}

const now = () => new Date(clock.now());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function stats(): Promise<any> {
  const r = await t.http('GET', '/v1/admin/stats', { auth: ADMIN_KEY });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** GET /metrics as series -> value (`name{labels}` as printed). */
async function scrape(): Promise<Map<string, number>> {
  const r = await t.http('GET', '/metrics', { auth: null });
  expect(r.status).toBe(200);
  const values = new Map<string, number>();
  for (const line of (r.body as string).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** Registers an agent (offline until told otherwise). */
async function agent(id: string, capacity: number): Promise<string> {
  expect((await t.http('PUT', `/v1/admin/agents/${id}`, { auth: ADMIN_KEY, body: { name: id, capacity } })).status).toBe(201);
  return `agent:${id}`;
}

/** What a visitor's `chat.send` does; returns their conversation. */
async function visitorSays(visitor: string, text: string, clientId = `${visitor}-${clock.now()}`): Promise<string> {
  const caller: ChatCaller = { kind: 'visitor', uid: visitor };
  return (await sendMessage(t.service.ctx.chat, caller, { conversation: null, clientId, text, image: null }, now())).message.conversation;
}

async function agentSays(uid: string, conversation: string, text: string, clientId = `${uid}-${clock.now()}`) {
  return sendMessage(t.service.ctx.chat, { kind: 'agent', uid }, { conversation, clientId, text, image: null }, now());
}

describe('GET /v1/admin/stats and the pmq_chat_* metrics', () => {
  it('show the queue, its longest wait, open conversations and agents by status as they move', async () => {
    await start();
    expect(await stats()).toEqual({
      queued: 0,
      longest_wait_seconds: 0,
      agents_online: 0,
      agents_away: 0,
      open_conversations: 0,
      assignments_last_hour: 0,
      wait_seconds: { p50: null, p90: null },
      first_response_seconds: { p50: null, p90: null },
      notifications: { events_applied: 0, pending_fast: 0, pending_delayed: 0, purged: 0 },
    });
    const ann = await agent('ann', 1);
    const bob = await agent('bob', 1);
    await setPresence(t.service.ctx.chat, bob, 'away', now());

    // Nobody online: both wait, the first since 0 s, the second since 30 s.
    await visitorSays('v:a', 'hello');
    clock.advance(30 * SECOND);
    await visitorSays('v:b', 'anyone?');
    clock.advance(60 * SECOND);
    expect(await stats()).toMatchObject({ queued: 2, longest_wait_seconds: 90, open_conversations: 2, agents_online: 0, agents_away: 1 });
    let m = await scrape();
    expect(m.get('pmq_chat_conversations{status="queued"}')).toBe(2);
    expect(m.get('pmq_chat_conversations{status="assigned"}')).toBe(0);
    expect(m.get('pmq_chat_queue_length')).toBe(2);
    expect(m.get('pmq_chat_longest_wait_seconds')).toBe(90);
    expect([m.get('pmq_chat_agents{status="online"}'), m.get('pmq_chat_agents{status="away"}'), m.get('pmq_chat_agents{status="offline"}')]).toEqual([0, 1, 1]);
    expect(m.get('pmq_chat_assignments_total')).toBe(0);

    // Ann comes online at 90 s: she takes the oldest (it waited 90 s); the other has waited 60 s.
    await setPresence(t.service.ctx.chat, ann, 'online', now());
    expect(await stats()).toMatchObject({
      queued: 1,
      longest_wait_seconds: 60,
      open_conversations: 2,
      agents_online: 1,
      agents_away: 1,
      assignments_last_hour: 1,
      wait_seconds: { p50: 90, p90: 90 },
    });
    m = await scrape();
    expect(m.get('pmq_chat_conversations{status="queued"}')).toBe(1);
    expect(m.get('pmq_chat_conversations{status="assigned"}')).toBe(1);
    expect(m.get('pmq_chat_longest_wait_seconds')).toBe(60);
    expect([m.get('pmq_chat_agents{status="online"}'), m.get('pmq_chat_agents{status="offline"}')]).toEqual([1, 0]);
    expect(m.get('pmq_chat_assignments_total')).toBe(1);
    expect([m.get('pmq_chat_wait_seconds_count'), m.get('pmq_chat_wait_seconds_sum')]).toEqual([1, 90]);
    expect(m.get('pmq_chat_wait_seconds_bucket{le="60"}')).toBe(0);
    expect(m.get('pmq_chat_wait_seconds_bucket{le="120"}')).toBe(1);

    // Bob back from away takes the other: nobody waits.
    clock.advance(15 * SECOND);
    await setPresence(t.service.ctx.chat, bob, 'online', now());
    expect(await stats()).toMatchObject({ queued: 0, longest_wait_seconds: 0, open_conversations: 2, assignments_last_hour: 2, wait_seconds: { p50: 75, p90: 90 } });
    expect((await scrape()).get('pmq_chat_longest_wait_seconds')).toBe(0);
  });

  it('counts an assignment once when its move is recorded twice, and a transfer as an assignment without a wait', async () => {
    await start();
    const cara = await agent('cara', 2);
    const dan = await agent('dan', 2);
    const id = await visitorSays('v:c', 'help');
    clock.advance(20 * SECOND);
    // The routing step, then its moves recorded twice (a retry, the repair sweep): one assignment.
    const moves = await t.service.ctx.chat.routing.presence(cara, 'online');
    expect(moves.assigned).toEqual([{ conversation: id, agent: cara }]);
    expect(await recordMoves(t.service.ctx.chat, moves, now())).toHaveLength(1);
    expect(await recordMoves(t.service.ctx.chat, moves, now())).toEqual([]);
    expect(await stats()).toMatchObject({ assignments_last_hour: 1, wait_seconds: { p50: 20, p90: 20 } });
    expect((await scrape()).get('pmq_chat_assignments_total')).toBe(1);

    await setPresence(t.service.ctx.chat, dan, 'online', now());
    clock.advance(10 * SECOND);
    const moved = await transferConversation(t.service.ctx.chat, { kind: 'agent', uid: cara }, id, dan, now());
    expect(moved.conversation).toMatchObject({ agent: dan });
    expect(await stats()).toMatchObject({ assignments_last_hour: 2, wait_seconds: { p50: 20, p90: 20 }, open_conversations: 1 });
    const m = await scrape();
    expect(m.get('pmq_chat_assignments_total')).toBe(2);
    expect(m.get('pmq_chat_wait_seconds_count')).toBe(1);
  });

  it('gives the wait and first-response p50 and p90 of known timings, over the last hour only', async () => {
    await start();
    const eve = await agent('eve', 10);
    // Five visitors, 10 s apart, while nobody is online.
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await visitorSays(`v:${i}`, 'hi'));
      clock.advance(10 * SECOND);
    }
    // At 100 s Eve comes online and takes all five: waits of 100, 90, 80, 70 and 60 s.
    clock.advance(50 * SECOND);
    await setPresence(t.service.ctx.chat, eve, 'online', now());
    expect(await stats()).toMatchObject({ assignments_last_hour: 5, wait_seconds: { p50: 80, p90: 100 }, first_response_seconds: { p50: null, p90: null } });

    // At 200 s she answers each: first responses of 200, 190, 180, 170 and 160 s.
    clock.advance(100 * SECOND);
    for (const id of ids) expect((await agentSays(eve, id, 'hello!', `r-${id}`)).firstReply).toBe(true);
    // A second reply and a resend are no first response, and a resend no message.
    clock.advance(50 * SECOND);
    expect((await agentSays(eve, ids[0]!, 'still there?')).firstReply).toBe(false);
    expect((await agentSays(eve, ids[1]!, 'hello!', `r-${ids[1]}`)).duplicate).toBe(true);
    expect(await stats()).toMatchObject({ first_response_seconds: { p50: 180, p90: 200 }, open_conversations: 5, queued: 0 });
    let m = await scrape();
    expect([m.get('pmq_chat_first_response_seconds_count'), m.get('pmq_chat_first_response_seconds_sum')]).toEqual([5, 900]);
    expect([m.get('pmq_chat_wait_seconds_count'), m.get('pmq_chat_wait_seconds_sum')]).toEqual([5, 400]);
    // Five visitors' messages, six agent replies; the resend is not one.
    expect(m.get('pmq_chat_messages_total{kind="text"}')).toBe(11);

    // An hour later those left the figures (this process' counters keep them); a new one counts.
    clock.advance(61 * MINUTE);
    expect(await stats()).toMatchObject({ assignments_last_hour: 0, wait_seconds: { p50: null, p90: null }, first_response_seconds: { p50: null, p90: null } });
    const late = await visitorSays('v:late', 'hi');
    clock.advance(5 * SECOND);
    await agentSays(eve, late, 'hi!');
    expect(await stats()).toMatchObject({ assignments_last_hour: 1, wait_seconds: { p50: 0, p90: 0 }, first_response_seconds: { p50: 5, p90: 5 } });
    m = await scrape();
    expect([m.get('pmq_chat_assignments_total'), m.get('pmq_chat_wait_seconds_count'), m.get('pmq_chat_first_response_seconds_count')]).toEqual([6, 6, 6]);
  });

  it('counts image messages, and uploads refused by cause', async () => {
    await start({ PMQ_CHAT_MAX_IMAGE_BYTES: '2048', PMQ_RATE_LIMIT_PER_USER: '0' });
    const fay = await agent('fay', 5);
    await setPresence(t.service.ctx.chat, fay, 'online', now());
    const alice = (await t.http('POST', '/v1/tokens', { body: { uid: 'alice' } })).body.token as string;
    const id = await visitorSays('alice', 'a picture:');
    const upload = async (body: Uint8Array | ReadableStream<Uint8Array>, type: string) => {
      const headers = { authorization: `Bearer ${alice}`, 'content-type': type };
      const res = await fetch(`${t.url}/v1/chat/uploads?conversation=${id}`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
      return { status: res.status, body: (await res.json()) as { image?: { id: string }; error?: { code: string } } };
    };

    const kept = await upload(new Uint8Array(png(4, 4)), 'image/png');
    expect(kept.status).toBe(201);
    const image = kept.body.image!.id;
    await sendMessage(t.service.ctx.chat, { kind: 'visitor', uid: 'alice' }, { conversation: id, clientId: 'img-1', text: null, image }, now());
    // Its resend is no second message.
    await sendMessage(t.service.ctx.chat, { kind: 'visitor', uid: 'alice' }, { conversation: id, clientId: 'img-1', text: null, image }, now());

    expect((await upload(new TextEncoder().encode('not an image at all'), 'image/png')).body.error?.code).toBe('not_an_image');
    expect((await upload(new Uint8Array(gif(2, 2)), 'image/png')).body.error?.code).toBe('image_type_mismatch');
    expect((await upload(new Uint8Array(png(2, 2)), 'text/plain')).body.error?.code).toBe('unsupported_image_type');
    // Too large: told by its Content-Length before a byte is read, and by its bytes when sent chunked.
    expect((await upload(new Uint8Array(4096), 'image/png')).body.error?.code).toBe('image_too_large');
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(4096));
        c.close();
      },
    });
    expect((await upload(chunked, 'image/png')).body.error?.code).toBe('image_too_large');

    const m = await scrape();
    expect(m.get('pmq_chat_messages_total{kind="image"}')).toBe(1);
    expect(m.get('pmq_chat_messages_total{kind="text"}')).toBe(1);
    expect(m.get('pmq_chat_uploads_refused_total{cause="not_an_image"}')).toBe(1);
    expect(m.get('pmq_chat_uploads_refused_total{cause="image_type_mismatch"}')).toBe(1);
    expect(m.get('pmq_chat_uploads_refused_total{cause="unsupported_image_type"}')).toBe(1);
    expect(m.get('pmq_chat_uploads_refused_total{cause="image_too_large"}')).toBe(2);
  });

  it("adds the notifications' side: events applied, pending by tier and purges, service-wide", async () => {
    t = await startTestService({ roles: ['api', 'worker'], env: { PMQ_ADMIN_KEY: ADMIN_KEY } });
    const post = await t.http('POST', '/v1/events', {
      body: { events: [1, 2, 3].map((i) => ({ id: `n${i}`, type: 'comment', to: i === 3 ? 'otto' : 'nina', from: 'x' })) },
    });
    expect(post.status).toBe(202);
    await drained(t);
    // The tallies are flushed once a second.
    await waitFor(async () => (await stats()).notifications.pending_fast === 3, 10_000, 'pending_fast to reach 3');
    expect((await stats()).notifications).toEqual({ events_applied: 3, pending_fast: 3, pending_delayed: 0, purged: 0 });
    // The same events again (a retried POST) are no new events.
    await t.http('POST', '/v1/events', { body: { events: [{ id: 'n1', type: 'comment', to: 'nina', from: 'x' }, { id: 'n4', type: 'comment', to: 'nina', from: 'x' }] } });
    await drained(t);
    await waitFor(async () => (await stats()).notifications.events_applied === 4, 10_000, 'events_applied to reach 4');
    expect((await stats()).notifications).toEqual({ events_applied: 4, pending_fast: 4, pending_delayed: 0, purged: 0 });
  });

  it('takes the admin key only; without one configured, there is no such route', async () => {
    await start();
    for (const auth of [null, 'not-the-admin-key']) {
      const r = await t.http('GET', '/v1/admin/stats', { auth });
      expect(r).toEqual({ status: 401, body: { error: { code: 'unauthorized', message: expect.any(String) } } });
    }
    // The main site's API key is no admin key either.
    expect((await t.http('GET', '/v1/admin/stats')).status).toBe(401);
    await t.stop();
    t = await startTestService({ roles: ['api'] });
    const off = await t.http('GET', '/v1/admin/stats', { auth: ADMIN_KEY });
    expect(off).toEqual({ status: 404, body: { error: { code: 'not_found', message: expect.any(String) } } });
  });
});
