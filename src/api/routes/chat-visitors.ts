// POST /v1/chat/visitors: a site's chat widget opens an anonymous visitor, `v:<id>`,
// and gets a user token for it (DESIGN.md, "Customer-service chat" → "Who").
// Browsers call it from the site's pages, so it answers CORS preflights too.
import { randomBytes } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Context } from '../../context.js';
import type { Authenticator } from '../../auth/authenticator.js';
import { KeySet } from '../../auth/key-set.js';
import { VISITOR_PREFIX } from '../../chat/participants.js';
import { NotFoundError, fromZod } from '../../errors.js';
import { requireWidgetKey } from '../auth.js';
import { objectBody } from '../body.js';
import { cors } from '../cors.js';
import { perAddressPerMinute } from '../rate-limiter.js';

const PATH = '/v1/chat/visitors';

/** 16 random bytes: 22 base64url characters, `v:` and all well inside a user id's 64. */
const VISITOR_ID_BYTES = 16;

export function chatVisitorsRouter(ctx: Pick<Context, 'config' | 'clock'>, auth: Authenticator, body: RequestHandler): Router {
  const { widgetKeys, widgetOrigins, visitorsPerMinute, visitorTokenTtlSeconds } = ctx.config.chat;
  const keys = new KeySet(widgetKeys);
  // Nothing to ask for yet; a field the widget thinks it can set is refused, not ignored.
  const schema = z.strictObject({});

  // Without widget keys the service has no anonymous visitors: the route is not there.
  const enabled: RequestHandler = (_req, _res, next) => {
    if (keys.size === 0) throw new NotFoundError('no such route: anonymous chat visitors are off (no widget keys are configured)');
    next();
  };
  const allowed = cors({ origins: widgetOrigins, methods: ['POST'], headers: ['Authorization', 'Content-Type'] });

  const router = Router();
  router.options(PATH, enabled, allowed);
  // The address is limited after the key: a request that could open no visitor spends nothing.
  router.post(PATH, enabled, allowed, requireWidgetKey(keys), perAddressPerMinute(visitorsPerMinute, ctx.clock), body, async (req, res) => {
    const parsed = schema.safeParse(objectBody(req.body, '{} or no body'));
    if (!parsed.success) throw fromZod(parsed.error);
    const visitor = `${VISITOR_PREFIX}${randomBytes(VISITOR_ID_BYTES).toString('base64url')}`;
    res.status(201).json({ visitor, ...(await auth.mint(visitor, visitorTokenTtlSeconds)) });
  });
  return router;
}
