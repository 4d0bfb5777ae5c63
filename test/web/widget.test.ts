// The visitor's chat widget as a site embeds it: a page of another origin loads
// /widget.js, whose launcher opens PMQ's /widget in an iframe. A real agent (a
// Node client on the same service) answers. Everything is asserted as the
// visitor sees it: text on screen, names, receipts, the badge, aria states.
import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PmqClient, type WebSocketConstructor } from '../../src/client/index.js';
import type { ChatMessageFrame, ChatTypingFrame } from '../../src/client/pmq-client.js';
import { hostSite, launchBrowser, openPage, screenshot, type HostSite, type OpenedPage } from '../helpers/browser.js';
import { png } from '../helpers/images.js';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, wsUrl } from '../helpers/ws-client.js';

const WIDGET_KEY = 'wk-widget-test';
const ADMIN_KEY = 'admin-key-widget-0123456789';

let site: HostSite;
let t: TestService;
let browser: Browser;

beforeAll(async () => {
  // The site first: the service is told its origin.
  site = await hostSite();
  t = await startTestService({
    roles: ['api', 'gateway', 'worker'],
    env: {
      PMQ_WIDGET_KEYS: WIDGET_KEY,
      PMQ_WIDGET_ORIGINS: site.origin,
      PMQ_ADMIN_KEY: ADMIN_KEY,
    },
  });
  site.embed(t.url, WIDGET_KEY);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await site?.close();
});

/** A support agent signed in from Node: what they receive, and their client to answer with. */
interface Agent {
  client: PmqClient;
  token: string;
  messages: ChatMessageFrame[];
  /** The visitor's typing, as relayed to the agent. */
  typing: ChatTypingFrame[];
  /** Waits for a message of theirs that `match` picks. */
  received(match: (m: ChatMessageFrame) => boolean, what: string): Promise<ChatMessageFrame>;
  /** Uploads an image into a conversation; its id. */
  upload(conversation: string, bytes: Buffer, type: string): Promise<string>;
  close(): void;
}

async function agentOnline(id: string, name: string): Promise<Agent> {
  const put = await t.http('PUT', `/v1/admin/agents/${id}`, { auth: ADMIN_KEY, body: { name, capacity: 3 } });
  expect(put.status).toBeLessThan(300);
  const token = await mintToken(t, `agent:${id}`);
  const client = new PmqClient({ url: wsUrl(t), token, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: { minMs: 50, maxMs: 200 } });
  const messages: ChatMessageFrame[] = [];
  const typing: ChatTypingFrame[] = [];
  client.on('chat.message', (m) => messages.push(m));
  client.on('chat.typing', (f) => typing.push(f));
  const hello = new Promise((resolve) => client.on('hello', resolve));
  client.connect();
  await hello;
  return {
    client,
    token,
    messages,
    typing,
    received: (match, what) => waitFor(() => messages.find(match), 30_000, what),
    upload: async (conversation, bytes, type) => {
      const res = await fetch(`${t.url}/v1/chat/uploads?conversation=${conversation}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': type },
        body: new Uint8Array(bytes),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { image: { id: string } }).image.id;
    },
    close: () => client.close(),
  };
}

/** The site's page in a browser context of its own (a visitor of their own), and the widget's parts on it. */
interface Visitor {
  opened: OpenedPage;
  page: Page;
  launcher: Locator;
  iframe: Locator;
  panel: FrameLocator;
  log: Locator;
  textbox: Locator;
  /** Anonymous visitors the page asked PMQ for (POST /v1/chat/visitors) since it was opened. */
  visitorsMade(): number;
  /** Writes and sends with Enter. */
  say(text: string): Promise<void>;
}

async function visitSite(size: 'desktop' | 'phone' = 'desktop', expectedErrors: RegExp[] = []): Promise<Visitor> {
  const opened = await openPage(browser, site.url, { size, expectedErrors });
  const page = opened.page;
  const panel = page.frameLocator('iframe[title="Chat"]');
  const textbox = panel.getByRole('textbox', { name: 'Message' });
  let made = 0;
  // The loader waits for the page's load event before anything: none is missed here.
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/chat/visitors') made++;
  });
  return {
    opened,
    page,
    launcher: page.getByRole('button', { name: /^Open chat/ }),
    iframe: page.locator('iframe[title="Chat"]'),
    panel,
    log: panel.getByRole('log'),
    textbox,
    visitorsMade: () => made,
    say: async (text) => {
      await textbox.fill(text);
      await textbox.press('Enter');
    },
  };
}

// Waiting on what the visitor sees (vitest's expect has no locator matchers).
const POLL = { timeout: 30_000 };
const shown = (l: Locator) => l.waitFor({ state: 'visible' });
const hidden = (l: Locator) => l.waitFor({ state: 'hidden' });
/** Focused in its own document (the panel's text box in the frame, the launcher on the site's page). */
const focused = (l: Locator) => expect.poll(() => l.evaluate((el) => el === el.ownerDocument.activeElement), POLL).toBe(true);

/** The texts of the messages in the panel's log, in order. */
function bubbles(v: Visitor): Promise<string[]> {
  return v.log.locator('.bubble').allTextContents();
}

describe('the visitor widget on a site', () => {
  it('chats with an agent: name, typing, receipts, images both ways, the badge, resolved', async () => {
    const agent = await agentOnline('ann', 'Ann');
    const v = await visitSite();
    try {
      // Nothing but the launcher until it is pressed: no panel, no visitor made for a page view.
      await expect.poll(() => v.launcher.getAttribute('aria-expanded'), POLL).toBe('false');
      expect(await v.iframe.count()).toBe(0);
      expect(v.visitorsMade()).toBe(0);
      await v.launcher.click();
      await expect.poll(() => v.launcher.getAttribute('aria-expanded'), POLL).toBe('true');
      await shown(v.iframe);
      await shown(v.panel.getByRole('heading', { name: 'Chat with us' }));
      expect(v.visitorsMade()).toBe(1);

      await v.say('hello');
      const hello = await agent.received((m) => m.text === 'hello', 'the visitor\'s "hello"');
      const conversation = hello.conversation;
      expect(hello.from).toMatch(/^v:/);

      // Assigned to Ann at once: her name in the header, and who joined in the transcript.
      await shown(v.panel.getByRole('heading', { name: 'Ann' }));
      await shown(v.log.getByText('Ann joined'));
      await expect.poll(() => v.log.getByText('hello', { exact: true }).count(), POLL).toBe(1);
      await expect.poll(() => v.panel.getByText('Sending…').count(), POLL).toBe(0);
      // Her client acked it: delivered.
      await shown(v.log.getByText('Delivered', { exact: true }));

      // Ann reads it.
      agent.client.chat.read(conversation, hello.seq);
      await shown(v.log.getByText('Read', { exact: true }));

      agent.client.chat.typing(conversation, true);
      await shown(v.panel.getByText('Ann is typing…'));
      agent.client.chat.typing(conversation, false);
      await expect.poll(() => v.panel.getByText('Ann is typing…').count(), POLL).toBe(0);

      agent.client.chat.send({ conversation, text: 'Hi! How can I help?' });
      await shown(v.log.getByText('Hi! How can I help?'));

      // The visitor's typing reaches Ann, on then off.
      await v.textbox.pressSequentially('I have a');
      await waitFor(() => agent.typing.at(-1)?.on === true, 15_000, 'the visitor typing');
      await v.textbox.fill('');
      await waitFor(() => agent.typing.at(-1)?.on === false, 15_000, 'the visitor no longer typing');

      // An image from the visitor, through the panel's file input.
      const picture = png(48, 32);
      await v.panel.locator('input[type=file]').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: picture });
      const sentImage = await agent.received((m) => m.kind === 'image', "the visitor's image");
      expect(sentImage.from).toBe(hello.from);
      const fetched = await fetch(`${t.url}/v1/chat/uploads/${sentImage.image}`, { headers: { authorization: `Bearer ${agent.token}` } });
      expect(Buffer.from(await fetched.arrayBuffer())).toEqual(picture);
      await shown(v.log.getByRole('img', { name: 'Your image' }));
      // And one dropped onto the panel.
      await v.panel.locator('.panel').evaluate((panel, bytes) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'dropped.png', { type: 'image/png' }));
        panel.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, [...png(20, 20)]);
      await waitFor(() => agent.messages.filter((m) => m.kind === 'image').length === 2, 15_000, 'the dropped image');
      await expect.poll(() => v.log.getByRole('img', { name: 'Your image' }).count(), POLL).toBe(2);

      // An image from the agent: shown, decoded.
      const id = await agent.upload(conversation, png(64, 40), 'image/png');
      agent.client.chat.send({ conversation, image: id });
      const theirs = v.log.getByRole('img', { name: 'An image from the agent' });
      await shown(theirs);
      await expect.poll(() => theirs.evaluate((img: HTMLImageElement) => img.naturalWidth), POLL).toBe(64);
      await screenshot(v.page, 'widget');

      // Closed, a reply comes: the launcher counts it; opening reads it.
      await v.launcher.click();
      await hidden(v.iframe);
      agent.client.chat.send({ conversation, text: 'Anything else?' });
      await shown(v.page.getByRole('button', { name: 'Open chat, 1 unread' }));
      await v.launcher.click();
      await shown(v.log.getByText('Anything else?'));
      await shown(v.page.getByRole('button', { name: 'Open chat', exact: true }));

      agent.client.chat.resolve(conversation);
      await shown(v.log.getByText('Conversation resolved', { exact: true }));
      expect(await bubbles(v)).toEqual(['hello', 'Hi! How can I help?', '', '', '', 'Anything else?']);
    } finally {
      agent.close();
      await v.opened.close();
    }
  });

  it('shows the history on return, with what came meanwhile, each message once', async () => {
    const agent = await agentOnline('bob', 'Bob');
    const v = await visitSite();
    try {
      await v.launcher.click();
      await v.say('first');
      const first = await agent.received((m) => m.text === 'first', '"first"');
      agent.client.chat.send({ conversation: first.conversation, text: 'second' });
      await shown(v.log.getByText('second'));
      await v.say('third');
      const third = await agent.received((m) => m.text === 'third', '"third"');
      await expect.poll(() => v.panel.getByText('Sending…').count(), POLL).toBe(0);
      agent.client.chat.read(first.conversation, third.seq);
      await shown(v.log.getByText('Read', { exact: true }));

      // Back on the page: the same visitor (their token kept by the site's page), the same messages.
      await v.page.reload();
      await v.launcher.click();
      await shown(v.panel.getByRole('heading', { name: 'Bob' }));
      await expect.poll(() => bubbles(v), POLL).toEqual(['first', 'second', 'third']);
      expect(await v.log.locator('.sys').allTextContents()).toEqual(['Bob joined']);
      // Bob had read it: said again from the server's receipts, with no new receipt frame.
      await shown(v.log.getByText('Read', { exact: true }));

      // Away from the site while Bob answers; back, the launcher counts it before it is opened.
      await v.page.goto('about:blank');
      agent.client.chat.send({ conversation: first.conversation, text: 'while you were away' });
      await agent.received((m) => m.text === 'while you were away', 'the echo of the reply');
      await v.page.goto(site.url);
      await shown(v.page.getByRole('button', { name: 'Open chat, 1 unread' }));
      await v.launcher.click();
      await expect.poll(() => bubbles(v), POLL).toEqual(['first', 'second', 'third', 'while you were away']);
      // One visitor all along: the token the site's page kept.
      expect(v.visitorsMade()).toBe(1);
      agent.client.chat.resolve(first.conversation);
      await shown(v.log.getByText('Conversation resolved', { exact: true }));
    } finally {
      agent.close();
      await v.opened.close();
    }
  });

  it('pages the history upward with "Load earlier messages"', async () => {
    const agent = await agentOnline('fay', 'Fay');
    const v = await visitSite();
    try {
      await v.launcher.click();
      await v.say('start');
      const { conversation } = await agent.received((m) => m.text === 'start', '"start"');
      const replies = Array.from({ length: 60 }, (_, i) => `m${i + 1}`);
      for (const text of replies) agent.client.chat.send({ conversation, text });
      await shown(v.log.getByText('m60', { exact: true }));

      // Back: the newest page (50 messages: "assigned" and "start" are older), then the rest on demand.
      await v.page.reload();
      await v.launcher.click();
      await expect.poll(() => bubbles(v), POLL).toEqual(replies.slice(10));
      await v.panel.getByRole('button', { name: 'Load earlier messages' }).click();
      await expect.poll(() => bubbles(v), POLL).toEqual(['start', ...replies]);
      await hidden(v.panel.getByRole('button', { name: 'Load earlier messages' }));
      await shown(v.log.getByText('Fay joined'));
      agent.client.chat.resolve(conversation);
    } finally {
      agent.close();
      await v.opened.close();
    }
  });

  it('says when it reconnects, and sends what was written meanwhile', async () => {
    const agent = await agentOnline('gus', 'Gus');
    const v = await visitSite();
    try {
      await v.launcher.click();
      await v.say('before');
      const { conversation } = await agent.received((m) => m.text === 'before', '"before"');
      await shown(v.panel.getByRole('heading', { name: 'Gus' }));

      await v.opened.context.setOffline(true);
      await shown(v.panel.getByRole('status').getByText('Reconnecting…'));
      await v.say('written offline');
      await shown(v.panel.getByText('Sending…'));
      await v.opened.context.setOffline(false);

      await agent.received((m) => m.text === 'written offline', 'the message written offline');
      await hidden(v.panel.getByRole('status'));
      await expect.poll(() => v.panel.getByText('Sending…').count(), POLL).toBe(0);
      await expect.poll(() => bubbles(v), POLL).toEqual(['before', 'written offline']);
      expect(agent.messages.filter((m) => m.text === 'written offline')).toHaveLength(1);
      agent.client.chat.resolve(conversation);
    } finally {
      agent.close();
      await v.opened.close();
    }
  });

  it("chats as the site's signed-in user when the site gives a token (data-token)", async () => {
    const agent = await agentOnline('hal', 'Hal');
    site.embed(t.url, WIDGET_KEY, { 'data-token': await mintToken(t, 'user-42') });
    const v = await visitSite();
    try {
      await v.launcher.click();
      await v.say('signed in here');
      const said = await agent.received((m) => m.text === 'signed in here', 'the signed-in user\'s message');
      expect(said.from).toBe('user-42');
      await shown(v.panel.getByRole('heading', { name: 'Hal' }));
      agent.client.chat.resolve(said.conversation);
    } finally {
      site.embed(t.url, WIDGET_KEY);
      agent.close();
      await v.opened.close();
    }
  });

  it('shows the queue place while no agent is online, then the agent who takes it', async () => {
    const v = await visitSite();
    let agent: Agent | undefined;
    try {
      await v.launcher.click();
      await v.say('anyone there?');
      await shown(v.panel.getByRole('heading', { name: 'Waiting for an agent' }));
      await shown(v.panel.getByText('You are number 1 in the queue'));

      agent = await agentOnline('cat', 'Cat');
      const asked = await agent.received((m) => m.text === 'anyone there?', 'the queued message');
      await shown(v.panel.getByRole('heading', { name: 'Cat' }));
      await shown(v.log.getByText('Cat joined'));
      await expect.poll(() => v.panel.getByText('You are number 1 in the queue').count(), POLL).toBe(0);
      agent.client.chat.resolve(asked.conversation);
      await shown(v.log.getByText('Conversation resolved', { exact: true }));
    } finally {
      agent?.close();
      await v.opened.close();
    }
  });

  it('works by keyboard: Tab to the launcher, Enter opens, Escape closes', async () => {
    const v = await visitSite();
    try {
      await v.page.keyboard.press('Tab');
      await focused(v.launcher);
      await v.page.keyboard.press('Enter');
      await expect.poll(() => v.launcher.getAttribute('aria-expanded'), POLL).toBe('true');
      await shown(v.iframe);
      // Focus went into the panel, on the text box.
      await focused(v.textbox);
      await v.page.keyboard.press('Escape');
      await expect.poll(() => v.launcher.getAttribute('aria-expanded'), POLL).toBe('false');
      await hidden(v.iframe);
      await focused(v.launcher);
      // The panel's own close button too.
      await v.page.keyboard.press('Enter');
      await focused(v.textbox);
      await v.panel.getByRole('button', { name: 'Close chat' }).press('Enter');
      await hidden(v.iframe);
      await focused(v.launcher);
    } finally {
      await v.opened.close();
    }
  });

  it('fills a phone screen', async () => {
    const agent = await agentOnline('dan', 'Dan');
    const v = await visitSite('phone');
    try {
      await v.launcher.tap();
      await shown(v.iframe);
      expect(await v.iframe.boundingBox()).toEqual({ x: 0, y: 0, width: 390, height: 844 });
      await v.say('Is the blue one in stock?');
      const asked = await agent.received((m) => m.text === 'Is the blue one in stock?', 'the question');
      agent.client.chat.send({ conversation: asked.conversation, text: 'Yes, in all sizes. Shall I reserve one for you?' });
      await shown(v.log.getByText('Yes, in all sizes.', { exact: false }));
      await v.say('Yes please, a medium.');
      await shown(v.log.getByText('Yes please, a medium.'));
      await screenshot(v.page, 'widget');
      // Full screen hides the launcher: the panel's close button gives it back.
      await hidden(v.launcher);
      // Activated as a screen reader does (a click on the element): a touch tap
      // into the frame was, on a loaded machine, hit-tested against the header's
      // heading beside the button, though the layout and elementFromPoint say the button.
      await v.panel.getByRole('button', { name: 'Close chat' }).dispatchEvent('click');
      await hidden(v.iframe);
      await shown(v.launcher);
      agent.client.chat.resolve(asked.conversation);
    } finally {
      agent.close();
      await v.opened.close();
    }
  });

  it('tells the visitor when an image is refused, and sends nothing', async () => {
    const agent = await agentOnline('eve', 'Eve');
    // The refused upload is a 415 the browser logs: expected.
    const v = await visitSite('desktop', [/status of 415/]);
    try {
      await v.launcher.click();
      // No conversation yet: an image cannot go, and the button says why.
      await v.panel.getByRole('button', { name: 'Send an image' }).press('Enter');
      await expect.poll(() => v.panel.getByRole('alert').textContent(), POLL).toMatch(/Send a message first/);

      await v.say('about my order');
      const asked = await agent.received((m) => m.text === 'about my order', 'the first message');
      await shown(v.panel.getByRole('heading', { name: 'Eve' }));
      await v.panel.locator('input[type=file]').setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('these are notes, not a picture\n') });
      await expect.poll(() => v.panel.getByRole('alert').textContent(), POLL).toBe('This file is not an image that can be sent: use a PNG, JPEG, GIF or WebP picture.');
      await expect.poll(() => v.panel.locator('.msg.pending').count(), POLL).toBe(0);

      // The next message is the agent's next one: nothing went in between.
      await v.say('after');
      await agent.received((m) => m.text === 'after', '"after"');
      const received = agent.messages.filter((m) => m.conversation === asked.conversation && m.kind !== 'system');
      expect(received.map((m) => [m.kind, m.text])).toEqual([
        ['text', 'about my order'],
        ['text', 'after'],
      ]);
      await expect.poll(() => v.panel.getByRole('alert').textContent(), POLL).toBe('');
      agent.client.chat.resolve(asked.conversation);
    } finally {
      agent.close();
      await v.opened.close();
    }
  });
});
