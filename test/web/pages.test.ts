// The pages as served: each of the four answers with its security headers (a CSP
// without inline script; only the widget's frame may be embedded, by the widget's
// sites), loads in Chromium without a single console error, and the development
// sign-in helper exists only outside production and for this machine.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage } from '../helpers/browser.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { rawSocket, wsUrl } from '../helpers/ws-client.js';

const SITE = 'https://shop.example';
const PAGES = ['/', '/console', '/admin', '/widget'];

let t: TestService;
let browser: Browser;

beforeAll(async () => {
  t = await startTestService({
    roles: ['api', 'gateway', 'worker'],
    env: { PMQ_WIDGET_KEYS: 'wk-pages', PMQ_WIDGET_ORIGINS: SITE, PMQ_WS_ORIGINS: SITE, PMQ_ADMIN_KEY: 'admin-key-0123456789' },
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('security headers', () => {
  it.each(PAGES)('%s has a CSP without inline script and its frame rule', async (path) => {
    const res = await fetch(t.url + path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    if (path === '/widget') {
      expect(csp).toContain(`frame-ancestors 'self' ${SITE}`);
      expect(res.headers.get('x-frame-options')).toBeNull();
    } else {
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
  });

  it('serves /widget.js as a script other sites may load', async () => {
    const res = await fetch(`${t.url}/widget.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect((await res.text()).length).toBeGreaterThan(0);
  });

  it('gives hashed assets a long cache, and an unknown asset the one 404 shape', async () => {
    const html = await (await fetch(`${t.url}/console`)).text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const res = await fetch(t.url + asset!);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    const missing = await t.http('GET', '/assets/nothing-here.js', { auth: null });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });
});

describe('without a build', () => {
  it('says how to build the pages, in the one error shape', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'pmq-no-web-'));
    const bare = await startTestService({ roles: ['api'], env: { PMQ_WEB_DIR: empty } });
    try {
      for (const path of ['/', '/console', '/widget.js']) {
        const r = await bare.http('GET', path, { auth: null });
        expect(r.status, path).toBe(404);
        expect(r.body.error).toEqual({ code: 'not_found', message: expect.stringContaining('npm run build') });
        expect(r.body.error.message).not.toContain(empty);
      }
    } finally {
      await bare.stop();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('in Chromium', () => {
  it.each(PAGES)('%s loads with no console error', async (path) => {
    const opened = await openPage(browser, t.url + path);
    await opened.page.waitForLoadState('load');
    // Something of the page's own script is on screen (nothing is rendered by the HTML itself).
    await opened.page.locator('#app *').first().waitFor();
    await opened.close();
  });
});

describe('POST /v1/dev/tokens', () => {
  it('mints a token for a registered agent on a developer machine', async () => {
    await t.http('PUT', '/v1/admin/agents/dev1', { auth: 'admin-key-0123456789', body: { name: 'Dev', capacity: 2 } });
    const r = await t.http('POST', '/v1/dev/tokens', { auth: null, body: { uid: 'agent:dev1' } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ uid: 'agent:dev1', token: expect.any(String), expires_at: expect.any(String) });
    const unknown = await t.http('POST', '/v1/dev/tokens', { auth: null, body: { uid: 'agent:nobody' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('unknown_agent');
  });

  it('is not there in production', async () => {
    const prod = await startTestService({ roles: ['api'], env: { NODE_ENV: 'production' } });
    try {
      const r = await prod.http('POST', '/v1/dev/tokens', { auth: null, body: { uid: 'u1' } });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    } finally {
      await prod.stop();
    }
  });
});

describe('/ws and the pages', () => {
  it("takes PMQ's own pages (same host) and the allowed sites, refuses others", async () => {
    const host = new URL(t.url).host;
    const own = await rawSocket(wsUrl(t), { origin: `http://${host}` });
    own.ws.close();
    const site = await rawSocket(wsUrl(t), { origin: SITE });
    site.ws.close();
    await expect(rawSocket(wsUrl(t), { origin: 'https://elsewhere.example' })).rejects.toThrow(/403/);
  });
});
