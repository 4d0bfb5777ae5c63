// The pages people use PMQ through (DESIGN.md, "Pages"), built from web/ by Vite
// into dist/web: the front page, the agent console, the admin page, the visitor
// widget's frame and its loader, /widget.js. Each page answers with security
// headers of its own: no inline script anywhere, and only the widget's frame may
// be embedded, by the sites of PMQ_WIDGET_ORIGINS.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type Response } from 'express';
import type { Config } from '../../config.js';
import { NotFoundError } from '../../errors.js';

/** Path → the built file that answers it. */
const PAGES: Record<string, string> = {
  '/': 'index.html',
  '/console': 'console.html',
  '/admin': 'admin.html',
  '/widget': 'widget.html',
};

/** Hashed assets never change under their name; the loader and the pages do. */
const ASSET_MAX_AGE = '365d';
const LOADER_MAX_AGE_S = 300;

/**
 * The policy of every page: scripts, styles, fonts and connections of PMQ's own
 * origin only ('self' takes in ws: and wss: to the same host), images also from
 * blob: URLs (chat images are fetched with the token, then shown), no plugins.
 */
function contentSecurityPolicy(frameAncestors: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/** The folder of the built pages: PMQ_WEB_DIR, else dist/web of the package this file is in. */
export function webDirOf(config: Pick<Config, 'webDir'>): string {
  if (config.webDir !== undefined) return resolve(config.webDir);
  // src/api/routes (tsx, tests) or dist/src/api/routes (built): the package is where package.json is.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'web');
}

export function pagesRouter(config: Pick<Config, 'webDir' | 'chat'>): Router {
  const root = webDirOf(config);
  const widgetAncestors = config.chat.widgetOrigins.length === 0 ? '*' : ["'self'", ...config.chat.widgetOrigins].join(' ');
  const pagePolicy = contentSecurityPolicy("'none'");
  const framePolicy = contentSecurityPolicy(widgetAncestors);

  const common = (res: Response) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
  };
  const sendBuilt = (res: Response, file: string) =>
    new Promise<void>((done, fail) => {
      res.sendFile(file, { root, dotfiles: 'deny' }, (err) => {
        // Not built (running from source without `npm run build`): say how to get the pages.
        // (The folder is not named: a server's paths are nobody else's business; PMQ_WEB_DIR says it.)
        if (err && !res.headersSent) fail(new NotFoundError('the pages are not built here: run npm run build (or set PMQ_WEB_DIR)'));
        else done();
      });
    });

  const router = Router();
  for (const [path, file] of Object.entries(PAGES)) {
    const widgetFrame = path === '/widget';
    router.get(path, async (_req, res) => {
      common(res);
      res.setHeader('Content-Security-Policy', widgetFrame ? framePolicy : pagePolicy);
      if (!widgetFrame) {
        res.setHeader('X-Frame-Options', 'DENY');
        res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      }
      res.setHeader('Cache-Control', 'no-cache');
      await sendBuilt(res, file);
    });
  }
  router.get('/widget.js', async (_req, res) => {
    common(res);
    // Loaded by a <script> on the sites' own pages.
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.setHeader('Cache-Control', `public, max-age=${LOADER_MAX_AGE_S}`);
    await sendBuilt(res, 'widget.js');
  });
  router.use(
    '/assets',
    (_req, res, next) => {
      common(res);
      next();
    },
    express.static(join(root, 'assets'), { immutable: true, maxAge: ASSET_MAX_AGE, index: false, fallthrough: true }),
  );
  return router;
}
