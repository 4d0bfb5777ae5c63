// The pages checked by axe-core (Deque's accessibility engine, the rules of
// WCAG 2.x A and AA) in Chromium, each in the state people use it in: signed in,
// with a conversation open, at desktop and phone size. A serious or critical
// finding fails the test with what and where. axe is injected into the pages,
// so these contexts bypass the pages' CSP; every other test keeps it enforced.
import { createRequire } from 'node:module';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSite, launchBrowser, VIEWPORTS, type HostSite } from '../helpers/browser.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { mintToken, recordingClient, wsUrl, type RecordingClient } from '../helpers/ws-client.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const ADMIN_KEY = 'admin-key-a11y-0123456789';
const WIDGET_KEY = 'wk-a11y';

let browser: Browser;
let site: HostSite;
let t: TestService;
let agentToken: string;
const clients: RecordingClient[] = [];

beforeAll(async () => {
  site = await hostSite();
  t = await startTestService({
    roles: ['api', 'gateway', 'worker'],
    env: { PMQ_ADMIN_KEY: ADMIN_KEY, PMQ_WIDGET_KEYS: WIDGET_KEY, PMQ_WIDGET_ORIGINS: site.origin },
  });
  site.embed(t.url, WIDGET_KEY);
  browser = await launchBrowser();
  await t.http('PUT', '/v1/admin/agents/ada', { auth: ADMIN_KEY, body: { name: 'Ada', capacity: 3 } });
  agentToken = await mintToken(t, 'agent:ada');
  // A visitor who wrote: the console has a conversation to show.
  const v = await t.http('POST', '/v1/chat/visitors', { auth: WIDGET_KEY, headers: { origin: site.origin } });
  expect(v.status, JSON.stringify(v.body)).toBe(201);
  const visitor = recordingClient(wsUrl(t), v.body.token as string);
  clients.push(visitor);
  await visitor.ready;
  visitor.client.chat.send({ text: 'Hello, is anyone there?' });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await t?.stop();
  await site?.close();
});

interface Finding {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe's serious and critical findings in a page or frame. */
async function audit(where: Page | Frame): Promise<string[]> {
  await where.addScriptTag({ path: AXE });
  const violations = (await where.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: unknown[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations;
  })) as Finding[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function open(url: string, size: keyof typeof VIEWPORTS): Promise<Page> {
  const context = await browser.newContext({ ...VIEWPORTS[size], bypassCSP: true });
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

describe.each(['desktop', 'phone'] as const)('at %s size', (size) => {
  it('the front page, signed in to the demo', async () => {
    const page = await open(`${t.url}/`, size);
    await page.getByLabel('User token').fill(await mintToken(t, `a11y-${size}`));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText(`Connected as a11y-${size}`).waitFor();
    expect(await audit(page)).toEqual([]);
    await page.context().close();
  });

  it('the console, with a conversation open', async () => {
    const page = await open(`${t.url}/console`, size);
    await page.getByLabel('Agent token').fill(agentToken);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const item = page.getByRole('list', { name: 'My conversations' }).getByRole('listitem').first();
    await item.getByRole('button').first().click();
    await page.getByRole('log').getByText('Hello, is anyone there?').waitFor();
    expect(await audit(page)).toEqual([]);
    await page.context().close();
  });

  it('the admin page, signed in', async () => {
    const page = await open(`${t.url}/admin`, size);
    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('cell', { name: 'Ada' }).first().waitFor();
    expect(await audit(page)).toEqual([]);
    await page.context().close();
  });

  it("the widget's panel on a site", async () => {
    const page = await open(site.url, size);
    await page.getByRole('button', { name: /^Open chat/ }).click();
    await page.frameLocator('iframe[title="Chat"]').getByRole('textbox', { name: 'Message' }).waitFor();
    const frame = page.frames().find((f) => new URL(f.url()).pathname === '/widget');
    expect(frame).toBeDefined();
    expect(await audit(frame!)).toEqual([]);
    // The site's side: the launcher.
    expect(await audit(page)).toEqual([]);
    await page.context().close();
  });
});
