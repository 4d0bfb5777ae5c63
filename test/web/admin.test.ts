// /admin in Chromium, as the administrator sees it: signing in with the admin
// key, agents added, connecting, changed and removed, a visitor's conversation
// moving the counts, and events moving the notification figures, with the
// server's own answers (GET /v1/admin/agents, /v1/admin/stats) as the reference.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, screenshot, type OpenedPage } from '../helpers/browser.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { mintToken, recordingClient, wsUrl } from '../helpers/ws-client.js';

const ADMIN_KEY = 'admin-key-of-the-admin-page-test';
const WIDGET_KEY = 'wk-admin-page';
/** The page reads every 2 s: a change shows within a few readings. */
const SHOWS_WITHIN_MS = 10_000;

let t: TestService;
let browser: Browser;

beforeAll(async () => {
  t = await startTestService({
    roles: ['api', 'gateway', 'worker'],
    env: {
      PMQ_ADMIN_KEY: ADMIN_KEY,
      PMQ_WIDGET_KEYS: WIDGET_KEY,
    },
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

async function signedIn(opts: { size?: 'desktop' | 'phone'; expectedErrors?: RegExp[] } = {}): Promise<OpenedPage> {
  const opened = await openPage(browser, `${t.url}/admin`, opts);
  await opened.page.getByLabel('Admin key').fill(ADMIN_KEY);
  await opened.page.getByRole('button', { name: 'Sign in' }).click();
  await opened.page.getByRole('heading', { name: 'Agents', exact: true }).waitFor();
  return opened;
}

/** The agents' table row of an agent, by its id (agent:<id>). */
const agentRow = (page: Page, id: string) => page.getByRole('row').filter({ has: page.getByText(id, { exact: true }) });

/** A figure's number as the tile shows it (1,234 → 1234); NaN while it shows none. */
async function figure(page: Page, label: string): Promise<number> {
  const text = await page.getByRole('group', { name: label, exact: true }).locator('.tile-value').textContent();
  return Number((text ?? '').replace(/,/g, '')) + (/\d/.test(text ?? '') ? 0 : NaN);
}

async function stats(): Promise<{ queued: number; open_conversations: number; notifications: { pending_fast: number } }> {
  const r = await t.http('GET', '/v1/admin/stats', { auth: ADMIN_KEY });
  expect(r.status).toBe(200);
  return r.body;
}

async function agentsOnServer(): Promise<{ id: string; name: string; capacity: number }[]> {
  const r = await t.http('GET', '/v1/admin/agents', { auth: ADMIN_KEY });
  expect(r.status).toBe(200);
  return r.body.agents;
}

describe('signing in', () => {
  it('refuses a wrong key with a readable error, then takes the right one', async () => {
    // The refused check is a 401 the browser reports in the console.
    const { page, close } = await openPage(browser, `${t.url}/admin`, { expectedErrors: [/status of 401/] });
    await page.getByLabel('Admin key').fill('not-the-admin-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('missing or invalid admin key (unauthorized)').waitFor();
    expect(await page.getByRole('heading', { name: 'Agents' }).count()).toBe(0);

    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Agents', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    // The key stays out of the URL.
    expect(page.url()).not.toContain(ADMIN_KEY);
    await close();
  });
});

describe('agents', () => {
  it('shows an agent added in the form as offline, then online once they connect', async () => {
    const { page, close } = await signedIn();
    await page.getByLabel('Id', { exact: true }).fill('ann');
    await page.getByLabel('Name', { exact: true }).fill('Ann');
    await page.getByLabel('Capacity', { exact: true }).fill('2');
    await page.getByRole('button', { name: 'Save agent' }).click();
    await page.getByRole('status').getByText('Saved Ann (agent:ann), capacity 2.').waitFor();
    const row = agentRow(page, 'agent:ann');
    await row.getByText('offline', { exact: true }).waitFor();
    await row.getByText('0 / 2').waitFor();

    const agent = recordingClient(wsUrl(t), await mintToken(t, 'agent:ann'));
    try {
      await agent.ready;
      // No reload: the next readings show it.
      await row.getByText('online', { exact: true }).waitFor({ timeout: SHOWS_WITHIN_MS });
      expect(await row.getByText('offline', { exact: true }).count()).toBe(0);
    } finally {
      agent.close();
      await t.http('DELETE', '/v1/admin/agents/ann', { auth: ADMIN_KEY });
    }
    await close();
  });

  it('shows what the server refuses next to the field it names', async () => {
    const { page, close } = await signedIn({ expectedErrors: [/status of 400/] });
    await page.getByLabel('Id', { exact: true }).fill('too-big');
    await page.getByLabel('Name', { exact: true }).fill('Big');
    const capacity = page.getByLabel('Capacity', { exact: true });
    await capacity.fill('100000');
    await page.getByRole('button', { name: 'Save agent' }).click();
    await page.locator('.field', { has: capacity }).getByRole('alert').getByText(/must be at most 100/).waitFor();
    expect(await capacity.getAttribute('aria-invalid')).toBe('true');
    expect((await agentsOnServer()).some((a) => a.id === 'agent:too-big')).toBe(false);
    await close();
  });

  it("changes an agent's capacity in their row, as GET /v1/admin/agents then reports", async () => {
    await t.http('PUT', '/v1/admin/agents/bob', { auth: ADMIN_KEY, body: { name: 'Bob', capacity: 2 } });
    const { page, close } = await signedIn();
    const row = agentRow(page, 'agent:bob');
    await row.getByText('0 / 2').waitFor();
    const input = page.getByLabel('Capacity of Bob');
    await input.fill('7');
    await input.press('Enter');
    await row.getByText('0 / 7').waitFor();
    expect((await agentsOnServer()).find((a) => a.id === 'agent:bob')?.capacity).toBe(7);
    await close();
  });

  it('removes an agent only after a second press', async () => {
    await t.http('PUT', '/v1/admin/agents/carol', { auth: ADMIN_KEY, body: { name: 'Carol', capacity: 3 } });
    const { page, close } = await signedIn();
    const row = agentRow(page, 'agent:carol');
    await row.getByRole('button', { name: 'Remove Carol' }).click();
    const confirm = row.getByRole('button', { name: /^Really remove Carol\?/ });
    await confirm.waitFor();
    expect(await confirm.textContent()).toBe('Really remove?');
    // Asked, not done.
    expect((await agentsOnServer()).some((a) => a.id === 'agent:carol')).toBe(true);

    await confirm.click();
    await row.waitFor({ state: 'detached' });
    expect((await agentsOnServer()).some((a) => a.id === 'agent:carol')).toBe(false);
    await page.getByRole('status').getByText('Removed Carol').waitFor();
    await close();
  });
});

describe('conversations', () => {
  it("shows a visitor's conversation in the open and queued counts and the lists", async () => {
    // Nobody online: the conversation waits in the queue.
    const before = await stats();
    const { page, close } = await signedIn();
    await expect.poll(() => figure(page, 'Queued')).toBe(before.queued);

    const v = await t.http('POST', '/v1/chat/visitors', { auth: WIDGET_KEY });
    expect(v.status).toBe(201);
    const visitor = recordingClient(wsUrl(t), v.body.token);
    try {
      await visitor.ready;
      visitor.client.chat.send({ text: 'Hello, I need help' });
      await expect.poll(() => figure(page, 'Queued'), { timeout: SHOWS_WITHIN_MS }).toBe(before.queued + 1);
      expect(await figure(page, 'Open conversations')).toBe(before.open_conversations + 1);
      await page.getByText(`${before.queued + 1} queued · ${before.open_conversations - before.queued} assigned`).waitFor();
      const open = page.getByRole('table', { name: 'Open' });
      await open.getByRole('row').filter({ hasText: v.body.visitor }).getByText('queued', { exact: true }).waitFor();

      // Resolved (by the admin, over HTTP): out of the open ones, into the resolved ones.
      const list = await t.http('GET', '/v1/chat/conversations?status=queued', { auth: ADMIN_KEY });
      const conversation = list.body.conversations.find((c: { visitor: string }) => c.visitor === v.body.visitor);
      expect((await t.http('POST', `/v1/chat/conversations/${conversation.id}/resolve`, { auth: ADMIN_KEY, body: {} })).status).toBe(200);
      await expect.poll(() => figure(page, 'Queued'), { timeout: SHOWS_WITHIN_MS }).toBe(before.queued);
      await open.getByText(v.body.visitor).waitFor({ state: 'detached', timeout: SHOWS_WITHIN_MS });
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.getByRole('table', { name: 'Resolved' }).getByText(v.body.visitor).waitFor();
    } finally {
      visitor.close();
    }
    await close();
  });
});

describe('notifications', () => {
  it('moves events per second above 0 and pending fast to the events posted', async () => {
    const before = (await stats()).notifications.pending_fast;
    const { page, close } = await signedIn();
    await expect.poll(() => figure(page, 'Pending, fast tier')).toBe(before);

    // 300 events to 30 users who are not connected: each one pending, in the fast tier.
    const events = Array.from({ length: 300 }, (_, i) => ({ id: `ev-${i}`, type: 'comment', to: `reader-${i % 30}`, from: 'writer', title: `Event ${i}` }));
    expect((await t.http('POST', '/v1/events', { body: { events } })).status).toBe(202);
    await expect.poll(() => figure(page, 'Events per second'), { timeout: SHOWS_WITHIN_MS, interval: 100 }).toBeGreaterThan(0);
    await expect.poll(() => figure(page, 'Pending, fast tier'), { timeout: SHOWS_WITHIN_MS }).toBe(before + 300);
    // The chart says in words what it draws.
    const chart = page.getByRole('group', { name: 'Pending, fast tier', exact: true }).getByRole('img');
    expect(await chart.getAttribute('aria-label')).toMatch(new RegExp(`^Pending, fast tier, \\d+ readings every 2 s: now ${(before + 300).toLocaleString('en-US')}`));
    await close();
  });
});

describe('pictures', () => {
  it.each(['desktop', 'phone'] as const)('at %s size, with agents, a conversation and moving figures', async (size) => {
    await t.http('PUT', '/v1/admin/agents/dana', { auth: ADMIN_KEY, body: { name: 'Dana', capacity: 4 } });
    await t.http('PUT', '/v1/admin/agents/eli', { auth: ADMIN_KEY, body: { name: 'Eli', capacity: 2 } });
    const dana = recordingClient(wsUrl(t), await mintToken(t, 'agent:dana'));
    const v = await t.http('POST', '/v1/chat/visitors', { auth: WIDGET_KEY });
    const visitor = recordingClient(wsUrl(t), v.body.token);
    const { page, close } = await signedIn({ size });
    try {
      await Promise.all([dana.ready, visitor.ready]);
      await agentRow(page, 'agent:dana').getByText('online', { exact: true }).waitFor({ timeout: SHOWS_WITHIN_MS });
      // Dana is online with room: the visitor's conversation goes to her.
      visitor.client.chat.send({ text: 'Where is my order?' });
      await page.getByRole('table', { name: 'Open' }).getByRole('row').filter({ hasText: v.body.visitor }).getByText('Dana (agent:dana)').waitFor({ timeout: SHOWS_WITHIN_MS });
      const events = Array.from({ length: 120 }, (_, i) => ({ id: `pic-${size}-${i}`, type: 'notice', to: `pic-reader-${i % 12}` }));
      await t.http('POST', '/v1/events', { body: { events } });
      await expect.poll(() => figure(page, 'Events per second'), { timeout: SHOWS_WITHIN_MS, interval: 100 }).toBeGreaterThan(0);
      // At phone width nothing runs off the side: tables become cards.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(page, 'admin');
    } finally {
      dana.close();
      visitor.close();
    }
    await close();
  });
});
