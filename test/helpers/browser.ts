// Real pages in a real browser: Debian's Chromium driven by playwright-core
// (.ci/run installs it when missing). A page opened here fails its test on any
// console error or uncaught exception: a refused inline script (the pages' CSP),
// a failed request the page did not expect, a bug.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = process.env.PMQ_CHROMIUM ?? '/usr/bin/chromium';

/** Sizes the pages are checked and pictured at. */
export const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
} as const;

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // The flags keep Chromium from calling out (this machine's network is closed)
    // and let it run as root in a container.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions so far. */
  errors: string[];
  /** Asserts that the page logged no error, then closes its context. */
  close(): Promise<void>;
}

/**
 * A page in a context of its own (its own storage: another person), on `url`.
 * `expectedErrors` are console errors the test causes on purpose (a refused
 * request while offline): matched errors are not counted.
 */
export async function openPage(
  browser: Browser,
  url: string,
  opts: { size?: keyof typeof VIEWPORTS; expectedErrors?: RegExp[] } = {},
): Promise<OpenedPage> {
  const context = await browser.newContext({ ...VIEWPORTS[opts.size ?? 'desktop'] });
  const page = await context.newPage();
  const errors: string[] = [];
  const expected = opts.expectedErrors ?? [];
  const record = (text: string) => {
    if (!expected.some((re) => re.test(text))) errors.push(text);
  };
  page.on('console', (m) => {
    if (m.type() === 'error') record(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => record(`uncaught: ${e.message}`));
  await page.goto(url);
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close();
      expect(errors, 'errors logged by the page').toEqual([]);
    },
  };
}

/** Writes a picture of the page to PMQ_SCREENSHOTS_DIR (default var/screenshots): `<name>-<size>.png`. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = process.env.PMQ_SCREENSHOTS_DIR ?? join('var', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const width = page.viewportSize()?.width ?? 0;
  const file = join(dir, `${name}-${width < 600 ? 'phone' : 'desktop'}.png`);
  await page.screenshot({ path: file });
  return file;
}

export interface HostSite {
  /** The site's page that embeds the widget, e.g. http://localhost:41234/ */
  url: string;
  origin: string;
  /**
   * What the page embeds: PMQ's URL, the widget key, and more attributes of the
   * script tag (data-token for a signed-in user). Set after the service starts:
   * the service is told the site's origin first (PMQ_WIDGET_ORIGINS).
   */
  embed(pmqUrl: string, widgetKey: string, attrs?: Record<string, string>): void;
  close(): Promise<void>;
}

/**
 * A main site of its own origin (localhost, not 127.0.0.1: another site than
 * PMQ's) with one page that embeds the widget as the README says to.
 */
export async function hostSite(): Promise<HostSite> {
  let html = '<!doctype html><title>nothing embedded yet</title>';
  const server: Server = createServer((req, res) => {
    if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    } else if (req.url === '/favicon.ico') {
      // The browser asks; a 404 would be logged as a console error of the page.
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/`,
    origin,
    embed: (pmqUrl, widgetKey, attrs = {}) => {
      const extra = Object.entries(attrs)
        .map(([k, v]) => ` ${k}="${v}"`)
        .join('');
      html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>A shop</title></head><body><h1>A shop</h1><p>Products, prices, and a chat in the corner.</p>
<script src="${pmqUrl}/widget.js" data-key="${widgetKey}"${extra} async></script></body></html>`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
