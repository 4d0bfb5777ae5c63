// The agent console (/console) in Chromium, against the real service: agents
// sign in through the page's form with a token the main site minted, visitors
// are Node-side PmqClients with a token from POST /v1/chat/visitors. Every
// assertion is about what the agent sees: lists, counts, the transcript, the
// header's status and the bell.
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatMessageFrame, ChatReceiptFrame } from '../../src/client/pmq-client.js';
import { launchBrowser, openPage, screenshot, type OpenedPage } from '../helpers/browser.js';
import { png } from '../helpers/images.js';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, recordingClient, wsUrl, type RecordingClient } from '../helpers/ws-client.js';

const ADMIN_KEY = 'admin-key-console-0123456789';
const WIDGET_KEY = 'wk-console';

let browser: Browser;
let t: TestService;
/** What each test opened, closed after it whatever happened. */
let opened: OpenedPage[] = [];
let visitors: RecordingClient[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  t = await startTestService({
    roles: ['api', 'gateway', 'worker'],
    env: {
      PMQ_ADMIN_KEY: ADMIN_KEY,
      PMQ_WIDGET_KEYS: WIDGET_KEY,
    },
  });
});
afterEach(async () => {
  for (const v of visitors) v.close();
  visitors = [];
  const pages = opened;
  opened = [];
  // Every page is closed (each asserts it logged no error) and the service stopped, whichever fails.
  const closed = await Promise.allSettled(pages.map((p) => p.close()));
  await t?.stop();
  for (const c of closed) if (c.status === 'rejected') throw c.reason;
});

/** Waits (up to 15 s) until `fn` gives what the matcher expects. */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000, interval: 50 });

/** An agent registered by the admin, and the token the main site mints for them. */
async function agent(id: string, capacity: number, name = `Agent ${id.toUpperCase()}`): Promise<string> {
  const r = await t.http('PUT', `/v1/admin/agents/${id}`, { auth: ADMIN_KEY, body: { name, capacity } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return mintToken(t, `agent:${id}`);
}

/** The console in a browser context of its own, signed in through its form with `token`. */
async function signIn(token: string, opts: { size?: 'desktop' | 'phone'; expectedErrors?: RegExp[] } = {}): Promise<Page> {
  const o = await openPage(browser, `${t.url}/console`, opts);
  opened.push(o);
  await o.page.getByLabel('Agent token').fill(token);
  await o.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await o.page.locator('#agent-status').waitFor();
  return o.page;
}

const status = (page: Page) => page.locator('#agent-status');
const mine = (page: Page) => page.getByRole('list', { name: 'My conversations' });
const queue = (page: Page) => page.getByRole('list', { name: 'Queue' });
/** A conversation's entry in a list, by its visitor. */
const entry = (list: Locator, v: Visitor) => list.locator(`button[title="${v.uid}"]`);
const transcript = (page: Page) => page.getByRole('log');

interface Visitor {
  uid: string;
  token: string;
  rec: RecordingClient;
  /** Chat messages and receipts the visitor's socket received. */
  chat: ChatMessageFrame[];
  receipts: ChatReceiptFrame[];
  /** Sends a text and waits for its echo; resolves with it. */
  say(text: string): Promise<ChatMessageFrame>;
  conversation(): string;
}

async function visitor(): Promise<Visitor> {
  const r = await t.http('POST', '/v1/chat/visitors', { auth: WIDGET_KEY });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const rec = recordingClient(wsUrl(t), r.body.token as string);
  visitors.push(rec);
  const v: Visitor = {
    uid: r.body.visitor as string,
    token: r.body.token as string,
    rec,
    chat: [],
    receipts: [],
    say: async (text) => {
      const clientId = rec.client.chat.send({ text, ...(v.chat.length > 0 && { conversation: v.conversation() }) });
      return waitFor(() => v.chat.find((m) => m.client_id === clientId), 10_000, `the echo of "${text}"`);
    },
    conversation: () => {
      const c = v.chat[0]?.conversation;
      if (c === undefined) throw new Error('the visitor has no conversation yet');
      return c;
    },
  };
  rec.client.on('chat.message', (m) => v.chat.push(m));
  rec.client.on('chat.receipt', (x) => v.receipts.push(x));
  await rec.ready;
  return v;
}

describe('the agent console', () => {
  it('refuses a token that is not an agent, takes an agent, and signs out', async () => {
    const token = await agent('ann', 2, 'Ann');
    const o = await openPage(browser, `${t.url}/console`, { expectedErrors: [/status of 40[13]/] });
    opened.push(o);
    const { page } = o;
    const form = page.getByLabel('Agent token');
    const signInButton = page.getByRole('button', { name: 'Sign in', exact: true });

    // A site user's token: the chat's agents' list refuses it.
    await form.fill(await mintToken(t, '42'));
    await signInButton.click();
    await poll(() => page.getByRole('alert').textContent()).toMatch(/not an agent's/);
    // The admin key is no agent's token either: it opens no socket.
    await form.fill(ADMIN_KEY);
    await signInButton.click();
    await poll(() => page.getByRole('alert').textContent()).toMatch(/refused this token/);
    expect(await page.locator('#agent-status').count()).toBe(0);

    await form.fill(token);
    await signInButton.click();
    await poll(() => status(page).textContent()).toBe('Online');
    await poll(() => page.locator('.agent-who').textContent()).toContain('Ann');
    expect(await page.getByRole('switch', { name: 'Available' }).getAttribute('aria-checked')).toBe('true');
    await poll(() => page.locator('.load').textContent()).toBe('Load 0 / 2');
    // The token stays in the tab, not the URL: a reload is still signed in.
    expect(page.url()).not.toContain(token);
    await page.reload();
    await poll(() => status(page).textContent()).toBe('Online');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Agent token').waitFor();
  });

  it('shows a visitor’s conversation with its unread count, and lets the agent answer, send images, see receipts and resolve', async () => {
    const token = await agent('ann', 2, 'Ann');
    const page = await signIn(token);
    await poll(() => status(page).textContent()).toBe('Online');

    const v = await visitor();
    await v.say('Hello, my order is late');
    const item = entry(mine(page), v);
    await poll(() => item.textContent()).toContain('Hello, my order is late');
    await poll(() => item.locator('.badge').textContent()).toBe('1');
    await poll(() => page.locator('.load').textContent()).toBe('Load 1 / 2');

    await item.click();
    const log = transcript(page);
    await log.getByText('Hello, my order is late').waitFor();
    await poll(() => item.locator('.badge').count()).toBe(0);
    expect(await item.getAttribute('aria-current')).toBe('true');
    expect(await log.getAttribute('aria-live')).toBe('polite');
    // The visitor hears that it was read.
    await waitFor(() => v.receipts.some((r) => r.by === 'agent:ann' && r.read_seq >= 1), 10_000, "the agent's read receipt");

    // A reply, by Enter; the visitor gets it, then delivers and reads it.
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Let me check that for you');
    await box.press('Enter');
    const reply = await waitFor(() => v.chat.find((m) => m.from === 'agent:ann' && m.text === 'Let me check that for you'), 10_000, 'the reply');
    const mineMsg = log.locator('.msg-me', { hasText: 'Let me check that for you' });
    await poll(() => mineMsg.locator('.receipt').textContent()).toBe('Delivered');
    v.rec.client.chat.read(v.conversation(), reply.seq);
    await poll(() => mineMsg.locator('.receipt').textContent()).toBe('Read');
    expect(await box.inputValue()).toBe('');

    // Shift+Enter is a new line, not a send.
    await box.fill('line one');
    await box.press('Shift+Enter');
    await box.pressSequentially('line two');
    expect(await box.inputValue()).toBe('line one\nline two');
    await box.press('Enter');
    await waitFor(() => v.chat.find((m) => m.text === 'line one\nline two'), 10_000, 'the two-line message');

    // An image from the agent: chosen with the file input, received as an image message.
    await page.locator('#composer-file').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: png(12, 9) });
    const sent = await waitFor(() => v.chat.find((m) => m.from === 'agent:ann' && m.kind === 'image'), 10_000, "the agent's image");
    expect(sent.image).toEqual(expect.any(String));
    const ownImage = log.getByRole('img', { name: 'Image you sent' });
    await poll(() => ownImage.first().evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(12);
    // Dropped on the conversation, or pasted into the message box: sent the same way.
    const bytes = [...png(5, 5)];
    await page.evaluate((b) => {
      const dropped = new DataTransfer();
      dropped.items.add(new File([new Uint8Array(b)], 'dropped.png', { type: 'image/png' }));
      document.querySelector('.pane')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dropped, bubbles: true, cancelable: true }));
      const pasted = new DataTransfer();
      pasted.items.add(new File([new Uint8Array(b)], 'pasted.png', { type: 'image/png' }));
      document.querySelector('#composer-text')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: pasted, bubbles: true, cancelable: true }));
    }, bytes);
    await waitFor(() => v.chat.filter((m) => m.from === 'agent:ann' && m.kind === 'image').length === 3, 10_000, 'the dropped and the pasted image');
    await poll(() => ownImage.count()).toBe(3);

    // An image from the visitor: uploaded, sent, and shown loaded in the console.
    const up = await fetch(`${t.url}/v1/chat/uploads?conversation=${v.conversation()}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${v.token}`, 'content-type': 'image/png' },
      body: new Uint8Array(png(8, 6)),
    });
    expect(up.status).toBe(201);
    v.rec.client.chat.send({ conversation: v.conversation(), image: ((await up.json()) as { image: { id: string } }).image.id });
    const theirs = log.getByRole('img', { name: 'Image from the visitor' });
    await poll(() => theirs.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(8);

    // The visitor types; then stops.
    v.rec.client.chat.typing(v.conversation(), true);
    await page.getByText('The visitor is typing…').waitFor();
    v.rec.client.chat.typing(v.conversation(), false);
    await page.getByText('The visitor is typing…').waitFor({ state: 'detached' });

    await screenshot(page, 'console');
    // The same agent on a phone: one column, the conversation over the list.
    const phone = await signIn(token, { size: 'phone' });
    await entry(mine(phone), v).click();
    await transcript(phone).getByText('Let me check that for you').waitFor();
    await poll(() => mine(phone).isVisible()).toBe(false);
    await poll(() => transcript(phone).getByRole('img', { name: 'Image from the visitor' }).evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(8);
    await screenshot(phone, 'console');
    await phone.getByRole('button', { name: '← Conversations' }).click();
    await entry(mine(phone), v).waitFor();

    // Resolved: it leaves the open list (of both the agent's screens), the visitor is told.
    await page.getByRole('button', { name: 'Resolve' }).click();
    await item.waitFor({ state: 'detached' });
    await entry(mine(phone), v).waitFor({ state: 'detached' });
    await page.getByText('No open conversations.').waitFor();
    await waitFor(() => v.chat.find((m) => m.kind === 'system' && m.text === 'resolved'), 10_000, 'the resolved line');
    await log.getByText('Resolved by you').waitFor();
  });

  it('shows in a new tab what was read and delivered before it: no unread count, the visitor’s receipt', async () => {
    const token = await agent('ida', 2, 'Ida');
    const first = await signIn(token);
    const v = await visitor();
    await v.say('Where is my parcel?');
    await entry(mine(first), v).click();
    await transcript(first).getByText('Where is my parcel?').waitFor();
    await waitFor(() => v.receipts.some((r) => r.by === 'agent:ida' && r.read_seq >= 2), 10_000, "the agent's read receipt");
    const box = first.getByRole('textbox', { name: 'Message' });
    await box.fill('It left the warehouse today');
    await box.press('Enter');
    const reply = await waitFor(() => v.chat.find((m) => m.text === 'It left the warehouse today'), 10_000, 'the reply');
    v.rec.client.chat.read(v.conversation(), reply.seq);
    await poll(() => transcript(first).locator('.msg-me', { hasText: 'It left the warehouse today' }).locator('.receipt').textContent()).toBe('Read');

    // Another browser (nothing kept in its storage): the server's receipts say the same.
    const second = await signIn(token);
    const item = entry(mine(second), v);
    await poll(() => item.textContent()).toContain('It left the warehouse today');
    // Read in the first browser: no unread count here either.
    await poll(() => item.locator('.badge').count()).toBe(0);
    await item.click();
    await poll(() => transcript(second).locator('.msg-me', { hasText: 'It left the warehouse today' }).locator('.receipt').textContent()).toBe('Read');
  });

  it('pages a long history upward, by the button and by scrolling, each message once and in order', async () => {
    const token = await agent('hal', 2);
    // Written while the agent is away: the conversation waits, and is theirs once they are back.
    // (Signing in afterwards would bring the whole unread history with the hello instead: no page to load.)
    const page = await signIn(token);
    await poll(() => status(page).textContent()).toBe('Online');
    await page.getByRole('switch', { name: 'Available' }).click();
    await poll(() => status(page).textContent()).toBe('Away');
    const v = await visitor();
    const texts = Array.from({ length: 120 }, (_, i) => `m${String(i + 1).padStart(3, '0')}`);
    for (const text of texts) await v.say(text);
    await page.getByRole('switch', { name: 'Available' }).click();

    const item = entry(mine(page), v);
    await poll(() => item.locator('.conv-preview').textContent()).toBe('m120');
    // Unread: at least the visitor's messages of the page the assignment brought.
    await poll(() => item.locator('.badge').textContent()).toBe('49+');
    await item.click();
    const log = transcript(page);
    const shown = () => log.locator('.msg-visitor .msg-text').allTextContents();
    await log.getByText('m120', { exact: true }).waitFor();
    // The newest page: the last 50 messages (the assignment's line among them).
    await poll(shown).toEqual(texts.slice(71));
    expect(await log.getByText('m071', { exact: true }).count()).toBe(0);

    await log.getByRole('button', { name: 'Load earlier messages' }).click();
    await log.getByText('m022', { exact: true }).waitFor();
    await poll(shown).toEqual(texts.slice(21));
    expect(await log.getByText('m021', { exact: true }).count()).toBe(0);

    // Scrolled up to the top with the wheel: the last page comes by itself.
    await log.hover();
    await poll(async () => {
      await page.mouse.wheel(0, -4000);
      return log.getByText('m001', { exact: true }).count();
    }).toBe(1);
    await poll(shown).toEqual(texts);
    await log.getByRole('button', { name: 'Load earlier messages' }).waitFor({ state: 'hidden' });
    // Live messages join below, merged by seq with the pages.
    await v.say('m121');
    await poll(shown).toEqual([...texts, 'm121']);
    expect(await log.getByText('Assigned to you').count()).toBe(1);
  });

  it('shares the queue between two consoles, hands it out as slots free, and transfers between them', async () => {
    const tokenA = await agent('a', 1);
    const tokenB = await agent('b', 1);
    const pageA = await signIn(tokenA);
    await poll(() => status(pageA).textContent()).toBe('Online');
    const pageB = await signIn(tokenB, { expectedErrors: [/status of 409/] });
    await poll(() => status(pageB).textContent()).toBe('Online');

    const [v1, v2, v3] = [await visitor(), await visitor(), await visitor()];
    await v1.say('first');
    await v2.say('second');
    await v3.say('third');

    // One each; the third waits, shown in both queues.
    for (const page of [pageA, pageB]) {
      await poll(() => mine(page).getByRole('listitem').count()).toBe(1);
      await entry(queue(page), v3).waitFor();
    }
    const aHasV1 = (await entry(mine(pageA), v1).count()) === 1;
    const [ofA, ofB] = aHasV1 ? [v1, v2] : [v2, v1];
    await entry(mine(pageB), ofB).waitFor();

    // A full agent cannot be given more: B is told so, readably, and keeps it.
    await entry(mine(pageB), ofB).click();
    await transcript(pageB).getByText(ofB === v1 ? 'first' : 'second').waitFor();
    await pageB.getByLabel('Transfer to').selectOption('agent:a');
    await pageB.getByRole('button', { name: 'Transfer', exact: true }).click();
    await poll(() => pageB.locator('.pane').getByRole('alert').textContent()).toMatch(/cannot take it now.*agent_unavailable/);
    expect(await entry(mine(pageB), ofB).count()).toBe(1);

    // A resolves: the third is theirs, and leaves both queues.
    await entry(mine(pageA), ofA).click();
    await pageA.getByRole('button', { name: 'Resolve' }).click();
    await entry(mine(pageA), v3).waitFor();
    for (const page of [pageA, pageB]) {
      await page.getByText('Nobody is waiting.').waitFor();
      expect(await entry(queue(page), v3).count()).toBe(0);
    }
    await poll(() => entry(mine(pageA), v3).textContent()).toContain('third');

    // A frees their slot; B hands their conversation over to A.
    await entry(mine(pageA), v3).click();
    await pageA.getByRole('button', { name: 'Resolve' }).click();
    await entry(mine(pageA), v3).waitFor({ state: 'detached' });
    await pageB.getByLabel('Transfer to').selectOption('agent:a');
    await pageB.getByRole('button', { name: 'Transfer', exact: true }).click();
    await entry(mine(pageB), ofB).waitFor({ state: 'detached' });
    await entry(mine(pageA), ofB).waitFor();
    await poll(() => pageB.locator('.pane-state').textContent()).toBe('Assigned to Agent A');
    await entry(mine(pageA), ofB).click();
    await transcript(pageA).getByText('Transferred to you').waitFor();
    await transcript(pageA).getByText(ofB === v1 ? 'first' : 'second').waitFor();
  });

  it('takes no new conversation while away, and takes the queue on coming back', async () => {
    const token = await agent('cat', 2);
    const page = await signIn(token);
    await poll(() => status(page).textContent()).toBe('Online');
    const available = page.getByRole('switch', { name: 'Available' });
    await available.click();
    await poll(() => status(page).textContent()).toBe('Away');
    expect(await available.getAttribute('aria-checked')).toBe('false');

    const v = await visitor();
    await v.say('anyone there?');
    // In the queue (every console sees it), not among the agent's own.
    await entry(queue(page), v).waitFor();
    expect(await entry(mine(page), v).count()).toBe(0);
    await poll(() => entry(queue(page), v).textContent()).toMatch(/waiting/);

    await available.click();
    await poll(() => status(page).textContent()).toBe('Online');
    await entry(mine(page), v).waitFor();
    await entry(queue(page), v).waitFor({ state: 'detached' });
    await poll(() => entry(mine(page), v).textContent()).toContain('anyone there?');
  });

  it("counts the agent's own notifications on the bell, and marks them read", async () => {
    const token = await agent('dee', 1);
    const page = await signIn(token);
    await poll(() => status(page).textContent()).toBe('Online');
    await page.getByRole('button', { name: 'Notifications', exact: true }).waitFor();

    const post = async (id: string, title: string) => {
      const r = await t.http('POST', '/v1/events', { body: { id, type: 'notice', to: 'agent:dee', title, body: 'from the main site' } });
      expect(r.status).toBe(202);
    };
    await post('n-1', 'Shift starts at 9');
    await page.getByRole('button', { name: 'Notifications, 1 unread' }).waitFor();
    await post('n-2', 'New macro available');
    const bellButton = page.getByRole('button', { name: 'Notifications, 2 unread' });
    await poll(() => bellButton.locator('.badge').textContent()).toBe('2');

    await bellButton.click();
    const list = page.getByRole('list', { name: 'Notifications' });
    await poll(() => list.getByRole('listitem').allTextContents()).toEqual([expect.stringContaining('New macro available'), expect.stringContaining('Shift starts at 9')]);
    await page.getByRole('button', { name: 'Mark all read' }).click();
    await page.getByRole('button', { name: 'Notifications', exact: true }).waitFor();
    expect(await page.locator('.bell .badge').isVisible()).toBe(false);
    // Escape closes the list.
    await page.keyboard.press('Escape');
    await list.waitFor({ state: 'hidden' });
  });
});
