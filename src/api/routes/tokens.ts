// POST /v1/tokens {uid, ttl?}: the main site mints a PMQ token for one of its users.
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { userId } from '../../events/event-schema.js';
import type { Authenticator } from '../../auth/authenticator.js';
import { requireApiKey } from '../auth.js';
import { objectBody } from '../body.js';
import { fromZod } from '../../errors.js';
import type { RateLimiter } from '../rate-limiter.js';

const DEFAULT_TTL_SECONDS = 3600;

export function tokensRouter(ctx: Pick<Context, 'config'>, auth: Authenticator, limiter: RateLimiter, body: RequestHandler): Router {
  const schema = z.strictObject({
    uid: userId,
    ttl: z
      .number({ error: 'must be a number of seconds' })
      .int({ error: 'must be a whole number of seconds' })
      .min(1, { error: 'must be at least 1' })
      .max(ctx.config.tokenMaxTtlSeconds, { error: `must be at most ${ctx.config.tokenMaxTtlSeconds}` })
      .optional(),
  });
  const router = Router();
  router.post('/v1/tokens', requireApiKey(auth), limiter.middleware(), body, async (req, res) => {
    const parsed = schema.safeParse(objectBody(req.body, '{"uid": ..., "ttl"?: seconds}'));
    if (!parsed.success) throw fromZod(parsed.error);
    const { uid, ttl = DEFAULT_TTL_SECONDS } = parsed.data;
    res.status(201).json({ uid, ...(await auth.mint(uid, ttl)) });
  });
  return router;
}
