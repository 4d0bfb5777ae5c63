// Conversations on real Redis (one, or the cluster: a conversation's keys share
// {c:<id>}, a visitor's {u:<visitor>}): opening, reopening, messages once per
// client_id, following routing steps in version order, resolving, history pages.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONVERSATION_ID } from '../../src/chat/conversation.js';
import { HttpError } from '../../src/errors.js';
import { isCluster } from '../../src/redis/client.js';
import { Keys } from '../../src/redis/keys.js';
import { ChatConversations } from '../../src/store/chat-conversations.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ roles: ['api'] });
});
afterAll(async () => t?.stop());

function fresh(opts: { maxMessages?: number; retentionMs?: number } = {}) {
  const { redis } = t.service.ctx;
  const keys = new Keys(`c${randomBytes(5).toString('hex')}`, 16, isCluster(redis));
  return { keys, c: new ChatConversations(redis, keys, { maxMessages: opts.maxMessages ?? 100, retentionMs: opts.retentionMs ?? 60_000 }) };
}

const at = (s: number) => new Date(Date.UTC(2026, 11, 6, 12, 0, s));
const text = (sender: string, body: string, clientId: string | null = null) => ({
  sender,
  kind: 'text' as const,
  text: body,
  image: null,
  clientId,
});

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(HttpError);
  return (err as HttpError).code;
}

describe('ChatConversations', () => {
  it("opens one conversation per visitor: the second message goes to the same one", async () => {
    const { c } = fresh();
    const first = await c.openForVisitor('v:a', at(0));
    expect(first.outcome).toBe('created');
    expect(first.conversation).toEqual({
      id: expect.stringMatching(CONVERSATION_ID),
      visitor: 'v:a',
      status: 'queued',
      agent: null,
      created_at: at(0).toISOString(),
      waiting_since: at(0).toISOString(),
      assigned_at: null,
      resolved_at: null,
      last_seq: 0,
    });
    const again = await c.openForVisitor('v:a', at(5));
    expect(again.outcome).toBe('open');
    expect(again.conversation.id).toBe(first.conversation.id);
    expect(again.conversation.waiting_since).toBe(at(0).toISOString());
    expect((await c.openForVisitor('v:b', at(6))).conversation.id).not.toBe(first.conversation.id);
    expect(await c.openOf('v:a')).toBe(first.conversation.id);
  });

  it('numbers messages from 1 without gaps, and makes a resend with the same client_id one message', async () => {
    const { c } = fresh();
    const { conversation } = await c.openForVisitor('v:a', at(0));
    const m1 = await c.addMessage(conversation.id, text('v:a', 'hello', 'k1'), at(1));
    expect(m1.duplicate).toBe(false);
    expect(m1.message).toEqual({
      id: `${conversation.id}-1`,
      conversation: conversation.id,
      seq: 1,
      from: 'v:a',
      kind: 'text',
      text: 'hello',
      image: null,
      client_id: 'k1',
      created_at: at(1).toISOString(),
    });
    // The same client_id, whatever the text: the first message, not a second.
    const resent = await c.addMessage(conversation.id, text('v:a', 'hello?', 'k1'), at(2));
    expect(resent).toMatchObject({ duplicate: true, message: m1.message });
    const m2 = await c.addMessage(conversation.id, text('v:a', 'anyone', null), at(3));
    expect(m2.message.seq).toBe(2);
    expect((await c.get(conversation.id))!.last_seq).toBe(2);
  });

  it('takes messages from its visitor and from the agent who holds it, no one else', async () => {
    const { c } = fresh();
    const { conversation } = await c.openForVisitor('v:a', at(0));
    expect(await refusal(c.addMessage(conversation.id, text('v:other', 'hi'), at(1)))).toBe('not_participant');
    expect(await refusal(c.addMessage(conversation.id, text('agent:7', 'hi'), at(1)))).toBe('not_participant');
    await c.follow(conversation.id, 1, 'agent:7', at(2));
    const reply = await c.addMessage(conversation.id, text('agent:7', 'how can I help?'), at(3));
    expect(reply.firstReply).toBe(true);
    expect((await c.addMessage(conversation.id, text('agent:7', 'still there?'), at(4))).firstReply).toBe(false);
    expect(await refusal(c.addMessage('nope', text('v:a', 'hi'), at(1)))).toBe('no_conversation');
    // Nothing the refusals tried was stored: the assigned message, then the two replies.
    expect((await c.messages(conversation.id, null, 10)).map((m) => [m.seq, m.kind, m.text])).toEqual([
      [3, 'text', 'still there?'],
      [2, 'text', 'how can I help?'],
      [1, 'system', 'assigned'],
    ]);
  });

  it('follows routing steps in version order only, writing assigned and transferred', async () => {
    const { c } = fresh();
    const { conversation } = await c.openForVisitor('v:a', at(0));
    const assigned = await c.follow(conversation.id, 5, 'agent:1', at(1));
    expect(assigned.outcome).toBe('changed');
    expect(assigned.message).toMatchObject({ kind: 'system', text: 'assigned', from: 'agent:1', seq: 1 });
    expect(assigned.conversation).toMatchObject({ status: 'assigned', agent: 'agent:1', assigned_at: at(1).toISOString() });
    // An older step arriving late changes nothing.
    expect((await c.follow(conversation.id, 4, null, at(2))).outcome).toBe('stale');
    expect((await c.follow(conversation.id, 6, 'agent:1', at(2))).outcome).toBe('same');
    const moved = await c.follow(conversation.id, 8, 'agent:2', at(3));
    expect(moved.message).toMatchObject({ text: 'transferred', from: 'agent:2' });
    const queued = await c.follow(conversation.id, 9, null, at(4));
    expect(queued.conversation).toMatchObject({ status: 'queued', agent: null });
    expect(queued.message).toMatchObject({ text: 'transferred', from: 'agent:2' });
    expect((await c.get(conversation.id))!.last_seq).toBe(3);
  });

  it('resolves once, keeps the agent for a reopen, and reopens the same conversation on the next message', async () => {
    const { c, keys } = fresh({ retentionMs: 3_600_000 });
    const { conversation } = await c.openForVisitor('v:a', at(0));
    await c.follow(conversation.id, 1, 'agent:1', at(1));
    await c.addMessage(conversation.id, text('v:a', 'thanks'), at(2));
    const resolved = await c.resolve(conversation.id, 'agent:1', at(3));
    expect(resolved.changed).toBe(true);
    expect(resolved.message).toMatchObject({ kind: 'system', text: 'resolved', from: 'agent:1' });
    expect(resolved.conversation).toMatchObject({ status: 'resolved', agent: 'agent:1', resolved_at: at(3).toISOString() });
    expect((await c.resolve(conversation.id, 'agent:1', at(4))).changed).toBe(false);
    expect(await c.openOf('v:a')).toBeNull();
    // Set to expire after the retention, and a message to a resolved conversation is refused.
    const ttl = await t.service.ctx.redis.pttl(keys.conversation(conversation.id).messages);
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(await refusal(c.addMessage(conversation.id, text('v:a', 'late'), at(5)))).toBe('conversation_resolved');
    // A late routing step does not bring it back.
    expect((await c.follow(conversation.id, 2, 'agent:2', at(5))).outcome).toBe('none');

    const reopened = await c.openForVisitor('v:a', at(10));
    expect(reopened).toMatchObject({ outcome: 'reopened', lastAgent: 'agent:1' });
    expect(reopened.conversation).toMatchObject({ id: conversation.id, status: 'queued', agent: null, waiting_since: at(10).toISOString() });
    expect(reopened.message).toMatchObject({ kind: 'system', text: 'reopened', from: 'v:a' });
    expect(await t.service.ctx.redis.pttl(keys.conversation(conversation.id).messages)).toBe(-1);
    // Its history is all there, newest first, in pages.
    const all = await c.messages(conversation.id, null, 100);
    expect(all.map((m) => [m.seq, m.text])).toEqual([
      [4, 'reopened'],
      [3, 'resolved'],
      [2, 'thanks'],
      [1, 'assigned'],
    ]);
    expect((await c.messages(conversation.id, 4, 2)).map((m) => m.seq)).toEqual([3, 2]);
    expect((await c.messages(conversation.id, 2, 5)).map((m) => m.seq)).toEqual([1]);
    expect(await c.messages(conversation.id, 1, 5)).toEqual([]);
  });

  it('refuses a message past PMQ_CHAT_MAX_MESSAGES, and still returns a resend of an earlier one', async () => {
    const { c } = fresh({ maxMessages: 10 });
    const { conversation } = await c.openForVisitor('v:a', at(0));
    for (let i = 1; i <= 10; i++) await c.addMessage(conversation.id, text('v:a', `m${i}`, `k${i}`), at(i));
    expect(await refusal(c.addMessage(conversation.id, text('v:a', 'one more', 'k11'), at(11)))).toBe('conversation_full');
    expect((await c.addMessage(conversation.id, text('v:a', 'm3', 'k3'), at(12))).message.seq).toBe(3);
  });

  it('keeps any text a client may send, as sent', async () => {
    const { c } = fresh();
    const { conversation } = await c.openForVisitor('v:a', at(0));
    const odd = 'quote " backslash \\ slash / tab \t newline \n emoji 😀 nul \u0000 é';
    const m = await c.addMessage(conversation.id, text('v:a', odd, 'odd'), at(1));
    expect(m.message.text).toBe(odd);
    expect((await c.messages(conversation.id, null, 1))[0]!.text).toBe(odd);
  });
});
