// The webhook of a resolved conversation: its transcript, signed, POSTed to a real
// HTTP server on loopback that fails the first two tries: retried until a 2xx,
// the same delivery each time; one delivery per resolution.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConversation } from '../../src/ops/chat-manage.js';
import { sendMessage } from '../../src/ops/chat-send.js';
import { webhookSignature } from '../../workers/webhook.worker.js';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';

const SECRET = 'webhook-secret-0123456789';
let server: Server;
let t: TestService;
const received: { body: string; signature: string | undefined; status: number }[] = [];
let failFirst = 2;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      const status = failFirst-- > 0 ? 500 : 200;
      received.push({ body, signature: req.headers['x-pmq-signature'] as string | undefined, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  t = await startTestService({
    roles: ['api', 'worker'],
    env: { PMQ_CHAT_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`, PMQ_CHAT_WEBHOOK_SECRET: SECRET },
  });
});
afterAll(async () => {
  await t?.stop();
  await new Promise((resolve) => server.close(resolve));
});

describe('the chat webhook', () => {
  it('posts a resolved conversation’s transcript, signed, again after failures until it is taken, once per resolution', async () => {
    const { chat } = t.service.ctx;
    await chat.routing.setAgent('agent:w', { name: 'W', capacity: 1 });
    await chat.routing.presence('agent:w', 'online');
    const now = () => new Date();
    const first = await sendMessage(chat, { kind: 'visitor', uid: 'wv' }, { conversation: null, clientId: 'w1', text: 'hello', image: null }, now());
    const id = first.message.conversation;
    await sendMessage(chat, { kind: 'agent', uid: 'agent:w' }, { conversation: id, clientId: 'w2', text: 'hi, how can I help?', image: null }, now());
    await resolveConversation(chat, { kind: 'agent', uid: 'agent:w' }, id, now());
    // A resolve asked again (a retry after a failure, say) is the same resolution.
    await resolveConversation(chat, { kind: 'admin' }, id, now());

    await waitFor(() => received.some((r) => r.status === 200), 30_000, 'a delivery taken');
    expect(received.map((r) => r.status)).toEqual([500, 500, 200]);
    // Every try carried the same delivery, signed.
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    for (const r of received) expect(r.signature).toBe(webhookSignature(SECRET, r.body));
    const delivery = JSON.parse(received[0]!.body);
    expect(delivery).toMatchObject({ type: 'conversation.resolved', id: expect.any(String), conversation: { id, status: 'resolved', visitor: 'wv' } });
    expect(delivery.messages.map((m: { kind: string; text: string }) => [m.kind, m.text])).toEqual([
      ['system', 'assigned'],
      ['text', 'hello'],
      ['text', 'hi, how can I help?'],
      ['system', 'resolved'],
    ]);

    // Reopened and resolved again: a second delivery, of the longer transcript.
    await sendMessage(chat, { kind: 'visitor', uid: 'wv' }, { conversation: null, clientId: 'w3', text: 'one more', image: null }, now());
    await resolveConversation(chat, { kind: 'admin' }, id, now());
    await waitFor(() => received.length === 4, 30_000, 'the second delivery');
    const second = JSON.parse(received[3]!.body);
    expect(second.id).not.toBe(delivery.id);
    expect(second.messages.at(-1)).toMatchObject({ kind: 'system', text: 'resolved', from: 'admin' });
  });
});
