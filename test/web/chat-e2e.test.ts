// The chat as people use it, every side a real page in Chromium: visitors on a
// site of another origin that embeds the widget, agents in the console. What each
// sees is asserted: the conversation assigned, messages both ways, images both
// ways, typing, receipts, resolve; an agent whose browser goes offline and comes
// back, and the service restarted under them, see what was sent meanwhile once
// and in order; three visitors for two agents of capacity 1 wait in the queue,
// are told their place, are assigned when a slot frees, and a transfer moves a
// conversation from one console to the other.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostSite, launchBrowser, openPage, type HostSite, type OpenedPage } from '../helpers/browser.js';
import { png } from '../helpers/images.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { mintToken } from '../helpers/ws-client.js';

const WIDGET_KEY = 'wk-e2e';
const ADMIN_KEY = 'admin-key-e2e-0123456789';
const POLL = { timeout: 30_000, interval: 50 };

let browser: Browser;
let site: HostSite;
let t: TestService;
/** Closed after each test, each asserting its page logged no error. */
let opened: OpenedPage[] = [];

/** The service on a port, key prefix and upload folder of its own, so that it can be restarted as the same service. */
interface Pinned {
  env: Record<string, string>;
  uploads: string;
}
let pinned: Pinned;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const start = () => startTestService({ roles: ['api', 'gateway', 'worker'], env: pinned.env });

beforeAll(async () => {
  browser = await launchBrowser();
  site = await hostSite();
  const uploads = await mkdtemp(join(tmpdir(), 'pmq-e2e-uploads-'));
  pinned = {
    uploads,
    env: {
      PORT: String(await freePort()),
      PMQ_KEY_PREFIX: `e2e${randomBytes(4).toString('hex')}`,
      PMQ_CHAT_UPLOAD_DIR: uploads,
      PMQ_WIDGET_KEYS: WIDGET_KEY,
      PMQ_WIDGET_ORIGINS: site.origin,
      PMQ_ADMIN_KEY: ADMIN_KEY,
    },
  };
  t = await start();
  site.embed(t.url, WIDGET_KEY);
});

afterEach(async () => {
  const pages = opened;
  opened = [];
  const closed = await Promise.allSettled(pages.map((p) => p.close()));
  for (const c of closed) if (c.status === 'rejected') throw c.reason;
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await site?.close();
  if (pinned) await rm(pinned.uploads, { recursive: true, force: true });
});

async function open(url: string, opts: Parameters<typeof openPage>[2] = {}): Promise<Page> {
  const o = await openPage(browser, url, opts);
  opened.push(o);
  return o.page;
}

/** A visitor on the site's page with the widget open. */
interface Visitor {
  page: Page;
  panel: FrameLocator;
  log: Locator;
  say(text: string): Promise<void>;
  /** The texts of the messages in the panel, in order (system lines apart). */
  texts(): Promise<string[]>;
}

async function visitor(expectedErrors: RegExp[] = []): Promise<Visitor> {
  const page = await open(site.url, { expectedErrors });
  await page.getByRole('button', { name: /^Open chat/ }).click();
  const panel = page.frameLocator('iframe[title="Chat"]');
  const box = panel.getByRole('textbox', { name: 'Message' });
  await box.waitFor();
  return {
    page,
    panel,
    log: panel.getByRole('log'),
    say: async (text) => {
      await box.fill(text);
      await box.press('Enter');
    },
    texts: () => panel.getByRole('log').locator('.bubble').allTextContents(),
  };
}

/** An agent registered by the admin, signed in to the console with the token the main site minted. */
interface Agent {
  page: Page;
  mine: Locator;
  queue: Locator;
  log: Locator;
  say(text: string): Promise<void>;
  /** The texts of the messages in the open conversation, in order. */
  texts(): Promise<string[]>;
}

async function agent(id: string, name: string, capacity: number, expectedErrors: RegExp[] = []): Promise<Agent> {
  const put = await t.http('PUT', `/v1/admin/agents/${id}`, { auth: ADMIN_KEY, body: { name, capacity } });
  expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
  const page = await open(`${t.url}/console`, { expectedErrors });
  await page.getByLabel('Agent token').fill(await mintToken(t, `agent:${id}`));
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => page.locator('#agent-status').textContent(), POLL).toBe('Online');
  const box = page.getByRole('textbox', { name: 'Message' });
  return {
    page,
    mine: page.getByRole('list', { name: 'My conversations' }),
    queue: page.getByRole('list', { name: 'Queue' }),
    log: page.getByRole('log'),
    say: async (text) => {
      await box.fill(text);
      await box.press('Enter');
    },
    // Sent messages (not those still on their way), an image as ''.
    texts: () => page.getByRole('log').locator('.msg:not(.pending)').evaluateAll((els) => els.map((e) => e.querySelector('.msg-text')?.textContent ?? '')),
  };
}

const shown = (l: Locator) => l.waitFor({ state: 'visible', timeout: POLL.timeout });
const loadedWidth = (img: Locator) => expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), POLL);

describe('the chat in the browser, visitor and agent', { timeout: 120_000 }, () => {
  it('assigns, carries messages, images, typing and receipts both ways, and resolves', async () => {
    const ann = await agent('ann', 'Ann', 2);
    const v = await visitor();
    await v.say('Hello from the shop');

    // The console is pushed the new conversation; opening it shows the message.
    const item = ann.mine.getByRole('listitem').first();
    await expect.poll(() => item.textContent(), POLL).toContain('Hello from the shop');
    await item.getByRole('button').first().click();
    await shown(ann.log.getByText('Hello from the shop'));
    // The visitor sees who answers, and that it was read.
    await shown(v.panel.getByRole('heading', { name: 'Ann' }));
    await shown(v.log.getByText('Read', { exact: true }));

    // Typing both ways.
    const annBox = ann.page.getByRole('textbox', { name: 'Message' });
    await annBox.pressSequentially('Let me');
    await shown(v.panel.getByText('Ann is typing…'));
    await annBox.fill('');
    await v.panel.getByRole('textbox', { name: 'Message' }).pressSequentially('Also');
    await shown(ann.page.getByText('The visitor is typing…'));
    await v.panel.getByRole('textbox', { name: 'Message' }).fill('');

    // Text both ways; the agent's message read by the visitor whose panel is open.
    await ann.say('Let me check that for you');
    await shown(v.log.getByText('Let me check that for you'));
    const annsMessage = ann.log.locator('.msg-me', { hasText: 'Let me check that for you' });
    await expect.poll(() => annsMessage.locator('.receipt').textContent(), POLL).toBe('Read');

    // Images both ways, each shown decoded on the other side.
    await v.panel.locator('input[type=file]').setInputFiles({ name: 'order.png', mimeType: 'image/png', buffer: png(30, 20) });
    await loadedWidth(ann.log.getByRole('img', { name: 'Image from the visitor' })).toBe(30);
    await ann.page.locator('#composer-file').setInputFiles({ name: 'label.png', mimeType: 'image/png', buffer: png(44, 22) });
    await loadedWidth(v.log.getByRole('img', { name: 'An image from the agent' })).toBe(44);

    await ann.page.getByRole('button', { name: 'Resolve' }).click();
    await shown(v.log.getByText('Conversation resolved', { exact: true }));
    await shown(ann.page.getByText('No open conversations.'));
    // Each message once, in order, on both sides.
    expect(await v.texts()).toEqual(['Hello from the shop', 'Let me check that for you', '', '']);
    expect(await ann.texts()).toEqual(['Hello from the shop', 'Let me check that for you', '', '']);
  });

  it('shows an agent what was sent while their browser was offline, and while the service restarted: once, in order', async () => {
    // Connections tried while offline or while the service is down fail, and Chromium logs them.
    const refused = [/ERR_INTERNET_DISCONNECTED/, /ERR_CONNECTION_REFUSED/, /WebSocket connection to .* failed/];
    const bea = await agent('bea', 'Bea', 1, refused);
    const v = await visitor(refused);
    await v.say('one');
    await bea.mine.getByRole('listitem').first().getByRole('button').first().click();
    await shown(bea.log.getByText('one', { exact: true }));

    // The agent's browser loses its network (Chromium's emulation, through CDP).
    const cdp = await bea.page.context().newCDPSession(bea.page);
    const network = (offline: boolean) =>
      cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await network(true);
    await expect.poll(() => bea.page.locator('#agent-status').textContent(), POLL).toBe('Reconnecting…');
    for (const text of ['two', 'three', 'four']) await v.say(text);
    await expect.poll(() => v.panel.getByText('Sending…').count(), POLL).toBe(0);
    // Not on the agent's screen while offline: the last message before is, nothing after it.
    expect(await bea.texts()).toEqual(['one']);
    await network(false);
    await expect.poll(() => bea.texts(), POLL).toEqual(['one', 'two', 'three', 'four']);

    // The service stops and comes back on the same port and Redis; the visitor
    // writes while it is down: the widget keeps the message and sends it on return.
    await t.stop();
    await v.say('during the restart');
    await shown(v.panel.getByText('Sending…'));
    t = await start();
    await expect.poll(() => bea.texts(), POLL).toEqual(['one', 'two', 'three', 'four', 'during the restart']);
    await expect.poll(() => bea.page.locator('#agent-status').textContent(), POLL).toBe('Online');
    await bea.say('back again');
    await expect.poll(() => v.texts(), POLL).toEqual(['one', 'two', 'three', 'four', 'during the restart', 'back again']);
    await bea.page.getByRole('button', { name: 'Resolve' }).click();
    await shown(v.log.getByText('Conversation resolved', { exact: true }));
  });

  it('queues the third visitor for two agents of capacity 1, tells their place, assigns them when a slot frees; a transfer moves a conversation between consoles', async () => {
    const cat = await agent('cat', 'Cat', 1);
    const dan = await agent('dan', 'Dan', 1);
    const v1 = await visitor();
    await v1.say('first visitor');
    const v2 = await visitor();
    await v2.say('second visitor');
    for (const a of [cat, dan]) await expect.poll(() => a.mine.getByRole('listitem').count(), POLL).toBe(1);

    const v3 = await visitor();
    await v3.say('third visitor');
    await shown(v3.panel.getByText('You are number 1 in the queue', { exact: false }));
    // Both consoles show who waits.
    for (const a of [cat, dan]) await expect.poll(() => a.queue.getByRole('listitem').count(), POLL).toBe(1);

    // Cat resolves theirs: the third visitor is Cat's now, and nobody waits.
    const catsFirst = (await cat.mine.getByRole('listitem').first().textContent()) ?? '';
    await cat.mine.getByRole('listitem').first().getByRole('button').first().click();
    await cat.page.getByRole('button', { name: 'Resolve' }).click();
    await shown(v3.panel.getByRole('heading', { name: 'Cat' }));
    for (const a of [cat, dan]) await shown(a.page.getByText('Nobody is waiting.'));
    await expect.poll(() => cat.mine.getByRole('listitem').first().textContent(), POLL).toContain('third visitor');
    expect(catsFirst).not.toContain('third visitor');

    // Dan resolves theirs, and Cat transfers the third visitor to Dan.
    await dan.mine.getByRole('listitem').first().getByRole('button').first().click();
    await dan.page.getByRole('button', { name: 'Resolve' }).click();
    await shown(dan.page.getByText('No open conversations.'));
    await cat.mine.getByRole('listitem').first().getByRole('button').first().click();
    await cat.page.getByLabel('Transfer to').selectOption('agent:dan');
    await cat.page.getByRole('button', { name: 'Transfer', exact: true }).click();
    await shown(cat.page.getByText('No open conversations.'));
    await expect.poll(() => dan.mine.getByRole('listitem').first().textContent(), POLL).toContain('third visitor');
    await dan.mine.getByRole('listitem').first().getByRole('button').first().click();
    await shown(dan.log.getByText('third visitor'));
    await shown(v3.panel.getByRole('heading', { name: 'Dan' }));
    await dan.page.getByRole('button', { name: 'Resolve' }).click();
    await shown(v3.log.getByText('Conversation resolved', { exact: true }));
  });
});
