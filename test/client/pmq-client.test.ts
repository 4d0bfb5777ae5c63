// The client library against a real service: reconnects, re-auth, dedupe.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_OFFLINE, PmqClient, type NetworkWatch, type WebSocketConstructor } from '../../src/client/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, recordingClient, wsUrl } from '../helpers/ws-client.js';

const clock = new ManualClock();
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ roles: ['api', 'gateway', 'worker'], clock });
});
afterAll(async () => {
  await t.stop();
});

describe('PmqClient', () => {
  it('reconnects after the socket drops and gets what came meanwhile, once', async () => {
    const c = recordingClient(wsUrl(t), await mintToken(t, 'cl1'));
    await c.ready;
    await t.http('POST', '/v1/events', { body: { id: 'k1', type: 'notice', to: 'cl1' } });
    await c.waitForMessages(1);
    // Close the socket under the client, as a dropped connection would.
    const ws = (c.client as unknown as { ws: { close(code: number): void } }).ws;
    ws.close(4000);
    await waitFor(() => c.closes.length === 1, 5000, 'the close');
    expect(c.closes[0]).toMatchObject({ willReconnect: true });
    await t.http('POST', '/v1/events', { body: { id: 'k2', type: 'notice', to: 'cl1' } });
    await waitFor(() => c.hellos.length === 2, 5000, 'a second hello');
    await c.waitForMessages(2);
    expect(c.messages.map((m) => m.id)).toEqual(['k1', 'k2']);
    c.close();
  });

  it('asks its token function again after the token expired', async () => {
    let calls = 0;
    const token = async () => {
      calls++;
      return mintToken(t, 'cl2', 60);
    };
    const c = recordingClient(wsUrl(t), token);
    await c.ready;
    clock.advance(61_000);
    // Force a reconnect: the old token is expired by now; the function gives a new one.
    (c.client as unknown as { ws: { close(code: number): void } }).ws.close(4000);
    await waitFor(() => c.hellos.length === 2, 5000, 're-auth with a fresh token');
    expect(calls).toBe(2);
    c.close();
  });

  it('stops on an invalid static token rather than retrying for ever', async () => {
    const c = recordingClient(wsUrl(t), 'not-a-token');
    await waitFor(() => c.closes.length === 1, 5000, 'the close');
    expect(c.closes[0]).toMatchObject({ code: 4401, willReconnect: false });
    // A retry is scheduled in the same turn as the close event (a reconnect timer);
    // none is, so no new socket will ever be opened.
    expect((c.client as unknown as { timer: unknown }).timer).toBeUndefined();
    expect(c.closes).toHaveLength(1);
  });

  it("drops its socket when the browser says it is offline, and reconnects the moment it is back", async () => {
    // The browser's window as the client sees it: its online/offline events and navigator.onLine.
    const events = new EventTarget();
    let online = true;
    const network: NetworkWatch = {
      addEventListener: (type, fn) => events.addEventListener(type, fn),
      removeEventListener: (type, fn) => events.removeEventListener(type, fn),
      online: () => online,
    };
    const c = recordingClient(wsUrl(t), await mintToken(t, 'cl-net'), { network });
    await c.ready;
    online = false;
    events.dispatchEvent(new Event('offline'));
    await waitFor(() => c.closes.length === 1, 5000, 'the close');
    expect(c.closes[0]).toMatchObject({ code: CLOSE_OFFLINE, willReconnect: true });
    expect(c.client.connected).toBe(false);
    // Nothing is tried while offline: no retry timer, however short the backoff.
    expect((c.client as unknown as { timer: unknown }).timer).toBeUndefined();
    await t.http('POST', '/v1/events', { body: { id: 'net1', type: 'notice', to: 'cl-net' } });
    online = true;
    events.dispatchEvent(new Event('online'));
    await waitFor(() => c.hellos.length === 2, 5000, 'a second hello');
    await c.waitForMessages(1);
    expect(c.messages.map((m) => m.id)).toEqual(['net1']);
    c.close();
  });

  it('drops a message it already has, by id', async () => {
    const c = recordingClient(wsUrl(t), await mintToken(t, 'cl3'), { autoAck: false });
    await c.ready;
    await t.http('POST', '/v1/events', { body: { id: 'dup', type: 'notice', to: 'cl3' } });
    await c.waitForMessages(1);
    // The pending message comes again, then the counts, in one write: once the counts are here, so is the duplicate.
    const before = c.unread.length;
    c.client.pull();
    await waitFor(() => c.unread.length > before, 5000, 'the answer to the pull');
    expect(c.messages.map((m) => m.id)).toEqual(['dup']);
    c.close();
  });

  it('keeps the counts the server sends', async () => {
    const client = new PmqClient({
      url: wsUrl(t),
      token: await mintToken(t, 'cl4'),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    client.connect();
    await waitFor(() => client.connected, 5000, 'connected');
    await t.http('POST', '/v1/events', { body: { events: [{ id: 'u1', type: 'comment', to: 'cl4', from: 'x' }, { id: 'u2', type: 'notice', to: 'cl4' }] } });
    await waitFor(() => client.unread.total === 2, 5000, 'two unread');
    client.read({ category: 'notice' });
    await waitFor(() => client.unread.total === 1, 5000, 'one unread');
    expect(client.unread).toEqual({ total: 1, counts: { comment: 1 } });
    expect(client.lastSeq).toBe(2);
    client.close();
  });

  describe('the chat', () => {
    it('makes a send over a dropped link one message: sent again at the reconnect with its client_id, until its echo', async () => {
      await t.service.ctx.chat.routing.setAgent('agent:cl', { name: 'CL', capacity: 5 });
      const agent = recordingClient(wsUrl(t), await mintToken(t, 'agent:cl'));
      await agent.ready;
      const visitor = recordingClient(wsUrl(t), await mintToken(t, 'cl-visitor'));
      await visitor.ready;
      const heard: string[] = [];
      visitor.client.on('chat.message', (m) => heard.push(m.text ?? ''));

      for (const text of ['one', 'two', 'three']) {
        visitor.client.chat.send({ text });
        // The link drops at once: the send may or may not have reached the server.
        (visitor.client as unknown as { ws: { close(code: number): void } }).ws.close(4000);
        await waitFor(() => visitor.client.chat.pending() === 0, 10_000, `the echo of ${text}`);
      }
      await waitFor(() => heard.includes('three'), 10_000, 'the last echo');
      const conversation = (await t.service.ctx.chat.conversations.openOf('cl-visitor'))!;
      const history = await t.service.ctx.chat.conversations.messages(conversation, null, 50);
      expect(history.filter((m) => m.kind === 'text').map((m) => m.text)).toEqual(['three', 'two', 'one']);
      agent.close();
      visitor.close();
    });

    it('forgets a send the server refused, naming it', async () => {
      const visitor = recordingClient(wsUrl(t), await mintToken(t, 'cl-visitor-2'));
      await visitor.ready;
      const errors: { ref?: string; code: string }[] = [];
      visitor.client.on('error', (e) => errors.push(e));
      const clientId = visitor.client.chat.send({ conversation: 'A'.repeat(22), text: 'nobody' });
      await waitFor(() => errors.length === 1, 10_000, 'the refusal');
      expect(errors[0]).toMatchObject({ code: 'no_conversation', ref: clientId });
      expect(visitor.client.chat.pending()).toBe(0);
      visitor.close();
    });
  });
});
