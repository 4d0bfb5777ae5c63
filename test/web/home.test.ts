// The front page in Chromium: it links the pages and shows how to embed the
// widget; its notification demo signs in with a user token, counts what is sent
// to that user with the bell, lists it, and marks it read, as the server agrees.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { mintToken } from '../helpers/ws-client.js';

let t: TestService;
let browser: Browser;

beforeAll(async () => {
  t = await startTestService({
    roles: ['api', 'gateway', 'worker'],
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

async function postEvent(to: string, id: string, title: string, body: string): Promise<void> {
  const r = await t.http('POST', '/v1/events', { body: { id, type: 'comment', to, from: 'ann', title, body } });
  expect(r.status).toBe(202);
}

async function unreadOnServer(uid: string): Promise<number> {
  const r = await t.http('GET', `/v1/users/${uid}/unread`);
  expect(r.status).toBe(200);
  return r.body.total;
}

async function signInDemo(page: Page, token: string, uid: string): Promise<void> {
  await page.getByLabel('User token').fill(token);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByText(`Connected as ${uid}`).waitFor();
}

describe('the front page', () => {
  it('says what runs here, links the console, the admin page and the widget, and shows the embed line', async () => {
    const { page, close } = await openPage(browser, `${t.url}/`);
    await page.getByRole('heading', { name: 'What runs here' }).waitFor();
    const main = page.getByRole('main');
    expect(await main.getByRole('link', { name: 'Agent console' }).getAttribute('href')).toBe('/console');
    expect(await main.getByRole('link', { name: 'Admin' }).getAttribute('href')).toBe('/admin');
    expect(await main.getByRole('link', { name: 'Chat widget' }).getAttribute('href')).toBe('/widget.js');
    await page.getByText(`<script src="${t.url}/widget.js" data-key="YOUR_WIDGET_KEY" async></script>`).waitFor();
    await page.getByText(/^Service: ok/).waitFor();
    await close();
  });
});

describe('the notification demo', () => {
  it('refuses a token that is not one, with a readable error', async () => {
    const { page, close } = await openPage(browser, `${t.url}/`);
    await page.getByLabel('User token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').getByText(/This token was refused/).waitFor();
    expect(await page.getByRole('button', { name: /^Notifications/ }).count()).toBe(0);
    await close();
  });

  it('counts a message with the bell, lists it, and marks it read as the server agrees', async () => {
    const uid = 'home-u1';
    const { page, close } = await openPage(browser, `${t.url}/`);
    await signInDemo(page, await mintToken(t, uid), uid);
    await page.getByRole('button', { name: 'Notifications, 0 unread' }).waitFor();
    await page.getByText('No messages yet.').waitFor();

    await postEvent(uid, 'home-1', 'New comment', 'Nice post');
    const bell = page.getByRole('button', { name: 'Notifications, 1 unread' });
    await bell.waitFor();
    expect(await bell.locator('.badge').textContent()).toBe('1');
    const list = page.getByRole('list', { name: 'Messages' });
    const item = list.getByRole('listitem').filter({ hasText: 'New comment' });
    await item.getByText('Nice post').waitFor();
    await item.getByText('Unread', { exact: true }).waitFor();
    await item.getByText('from ann').waitFor();

    await item.getByRole('button', { name: 'Mark read: New comment' }).click();
    await page.getByRole('button', { name: 'Notifications, 0 unread' }).waitFor();
    expect(await page.locator('.bell .badge').isHidden()).toBe(true);
    expect(await item.getByText('Unread', { exact: true }).isHidden()).toBe(true);
    expect(await unreadOnServer(uid)).toBe(0);
    await close();
  });

  it('marks all read, and lists what came before the sign-in, newest first', async () => {
    const uid = 'home-u2';
    // Sent while the user was away: pending, pushed after the hello.
    await postEvent(uid, 'home-2a', 'First', 'one');
    await postEvent(uid, 'home-2b', 'Second', 'two');
    await expect.poll(() => unreadOnServer(uid)).toBe(2);
    const { page, close } = await openPage(browser, `${t.url}/`);
    await signInDemo(page, await mintToken(t, uid), uid);
    await page.getByRole('button', { name: 'Notifications, 2 unread' }).waitFor();
    const items = page.getByRole('list', { name: 'Messages' }).getByRole('listitem');
    await items.nth(1).waitFor();
    expect(await items.locator('.title').allTextContents()).toEqual(['Second', 'First']);

    await page.getByRole('button', { name: 'Mark all read' }).click();
    await page.getByRole('button', { name: 'Notifications, 0 unread' }).waitFor();
    expect(await page.getByText('Unread', { exact: true }).filter({ visible: true }).count()).toBe(0);
    expect(await unreadOnServer(uid)).toBe(0);
    await close();
  });
});

describe('pictures', () => {
  it.each(['desktop', 'phone'] as const)('at %s size, signed in with messages', async (size) => {
    const uid = `home-pic-${size}`;
    const { page, close } = await openPage(browser, `${t.url}/`, { size });
    await signInDemo(page, await mintToken(t, uid), uid);
    await postEvent(uid, `${uid}-1`, 'Your order shipped', 'It arrives on Thursday.');
    await postEvent(uid, `${uid}-2`, 'New comment', 'Ann replied to your review.');
    await page.getByRole('button', { name: 'Notifications, 2 unread' }).waitFor();
    await page.getByRole('list', { name: 'Messages' }).getByRole('listitem').nth(1).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // The demo in view: that is what the picture is for.
    await page.getByRole('heading', { name: 'Notification demo' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'home');
    await close();
  });
});
