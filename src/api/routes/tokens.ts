// POST /v1/tokens {uid, ttl?}: the main site mints a PMQ token for one of its users,
// or for a registered agent. Visitor ids are PMQ's own to hand out (chat-visitors.ts):
// the main site cannot take one, by accident or otherwise.
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { userId } from '../../events/event-schema.js';
import type { Authenticator } from '../../auth/authenticator.js';
import { requireApiKey } from '../auth.js';
import { objectBody } from '../body.js';
import { isAgentId, isVisitorId } from '../../chat/participants.js';
import { NotFoundError, ReservedIdError, UnknownAgentError, fromZod } from '../../errors.js';
import { isRegisteredAgent } from '../../store/chat-agent-registry.js';
import type { RateLimiter } from '../rate-limiter.js';

const DEFAULT_TTL_SECONDS = 3600;

export function tokensRouter(ctx: Pick<Context, 'config' | 'redis' | 'keys'>, auth: Authenticator, limiter: RateLimiter, body: RequestHandler): Router {
  const schema = tokenRequest(ctx.config.tokenMaxTtlSeconds);
  const router = Router();
  router.post('/v1/tokens', requireApiKey(auth), limiter.middleware(), body, async (req, res) => {
    const parsed = schema.safeParse(objectBody(req.body, '{"uid": ..., "ttl"?: seconds}'));
    if (!parsed.success) throw fromZod(parsed.error);
    res.status(201).json(await mintChecked(ctx, auth, parsed.data));
  });
  return router;
}

/**
 * POST /v1/dev/tokens {uid, ttl?}: the same minting without the API key, for the
 * pages' sign-in on a developer's machine. Only outside production, and only to
 * a caller on this machine: anywhere else the route is not there.
 */
export function devTokensRouter(ctx: Pick<Context, 'config' | 'redis' | 'keys'>, auth: Authenticator, body: RequestHandler): Router {
  const schema = tokenRequest(ctx.config.tokenMaxTtlSeconds);
  const router = Router();
  router.post('/v1/dev/tokens', (req, _res, next) => {
    if (ctx.config.env === 'production' || !isLoopback(req.socket.remoteAddress)) {
      throw new NotFoundError('no such route: development tokens are minted outside production, for callers on this machine only');
    }
    next();
  }, body, async (req, res) => {
    const parsed = schema.safeParse(objectBody(req.body, '{"uid": ..., "ttl"?: seconds}'));
    if (!parsed.success) throw fromZod(parsed.error);
    res.status(201).json(await mintChecked(ctx, auth, parsed.data));
  });
  return router;
}

function tokenRequest(maxTtl: number) {
  return z.strictObject({
    uid: userId,
    ttl: z
      .number({ error: 'must be a number of seconds' })
      .int({ error: 'must be a whole number of seconds' })
      .min(1, { error: 'must be at least 1' })
      .max(maxTtl, { error: `must be at most ${maxTtl}` })
      .optional(),
  });
}

async function mintChecked(
  ctx: Pick<Context, 'redis' | 'keys'>,
  auth: Authenticator,
  { uid, ttl = DEFAULT_TTL_SECONDS }: { uid: string; ttl?: number | undefined },
): Promise<{ uid: string; token: string; expires_at: string }> {
  if (isVisitorId(uid)) {
    throw new ReservedIdError(`uid: ids beginning "v:" are anonymous chat visitors, made by POST /v1/chat/visitors`, 'uid');
  }
  if (isAgentId(uid) && !(await isRegisteredAgent(ctx.redis, ctx.keys, uid))) {
    throw new UnknownAgentError(`uid: no agent ${uid} is registered (an admin registers agents first)`, 'uid');
  }
  return { uid, ...(await auth.mint(uid, ttl)) };
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}
