// The pull API of one user: unread counts, read, the feed, delivery acks.
// Each route takes the API key or that user's own token.
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { USER_ID } from '../../events/event-schema.js';
import { categories, categoryList, messageIds } from '../../events/read-schema.js';
import { ack, type AckDeps } from '../../ops/ack.js';
import { read, type ReadDeps } from '../../ops/read.js';
import { listFeed } from '../../store/feed.js';
import { getUnread, type ReadTarget } from '../../store/unread.js';
import type { Authenticator } from '../../auth/authenticator.js';
import { requireUserOrApiKey } from '../auth.js';
import { objectBody } from '../body.js';
import { ValidationError, fromZod } from '../../errors.js';
import type { RateLimiter } from '../rate-limiter.js';

const MAX_PAGE = 100;

// POST .../read takes one of three bodies; the keys present say which was meant,
// so that an error names the field of that shape.
const readByIds = z.strictObject({ ids: messageIds });
const readByCategory = z.strictObject({ category: categories });
const readAll = z.strictObject({});

const ackBody = z.strictObject({ ids: messageIds });

const pageQuery = z.strictObject({
  before: z.coerce.number({ error: 'must be a seq number' }).int({ error: 'must be a seq number' }).positive().optional(),
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(MAX_PAGE, { error: `must be at most ${MAX_PAGE}` })
    .default(20),
});

export function usersRouter(ctx: ReadDeps & AckDeps, auth: Authenticator, limiter: RateLimiter, body: RequestHandler): Router {
  const router = Router();
  const { redis, keys } = ctx;

  router.use('/v1/users/:uid', (req, _res, next) => {
    if (!USER_ID.test(req.params.uid ?? '')) throw new ValidationError('uid: must match ^[A-Za-z0-9_.:-]{1,64}$', 'uid');
    next();
  });
  router.use('/v1/users/:uid', requireUserOrApiKey(auth), limiter.middleware(), body);

  router.get('/v1/users/:uid/unread', async (req, res) => {
    res.json(await getUnread(redis, keys, req.params.uid!));
  });

  router.post('/v1/users/:uid/read', async (req, res) => {
    const body = objectBody(req.body, '{}, {"category": ...} or {"ids": [...]}');
    if ('ids' in body && 'category' in body) {
      throw new ValidationError('ids, category: send one of them, not both (read by id or by category)');
    }
    let target: ReadTarget;
    if ('ids' in body) {
      const parsed = readByIds.safeParse(body);
      if (!parsed.success) throw fromZod(parsed.error);
      target = { ids: parsed.data.ids };
    } else if ('category' in body) {
      const parsed = readByCategory.safeParse(body);
      if (!parsed.success) throw fromZod(parsed.error);
      target = { categories: categoryList(parsed.data.category) };
    } else {
      const parsed = readAll.safeParse(body);
      if (!parsed.success) throw fromZod(parsed.error);
      target = { all: true };
    }
    res.json(await read(ctx, req.params.uid!, target));
  });

  router.get('/v1/users/:uid/messages', async (req, res) => {
    const parsed = pageQuery.safeParse(req.query);
    if (!parsed.success) throw fromZod(parsed.error);
    res.json(await listFeed(redis, keys, req.params.uid!, parsed.data.before, parsed.data.limit));
  });

  router.post('/v1/users/:uid/ack', async (req, res) => {
    const parsed = ackBody.safeParse(objectBody(req.body, '{"ids": [...]}'));
    if (!parsed.success) throw fromZod(parsed.error);
    res.json({ uid: req.params.uid, acked: await ack(ctx, req.params.uid!, parsed.data.ids) });
  });

  return router;
}
