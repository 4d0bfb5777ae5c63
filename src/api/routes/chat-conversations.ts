// The chat's conversations over HTTP, for visitors, agents and admins: the same
// operations as the WS frames (ops/chat-*.ts), who may do what decided there.
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Context } from '../../context.js';
import type { Authenticator } from '../../auth/authenticator.js';
import type { KeySet } from '../../auth/key-set.js';
import { agentUid, conversationId, sendBody, transferBody } from '../../chat/chat-schemas.js';
import { fromZod } from '../../errors.js';
import { MAX_PAGE } from '../../store/chat-conversations.js';
import { conversationMessages, conversationReceipts, listConversations, MAX_LIST, resolveConversation, transferConversation, viewConversation } from '../../ops/chat-manage.js';
import { sendMessage } from '../../ops/chat-send.js';
import { requireChatCaller } from '../auth.js';
import { objectBody } from '../body.js';
import type { RateLimiter } from '../rate-limiter.js';

type ChatRouteDeps = Pick<Context, 'chat' | 'clock'>;

const positive = (what: string) =>
  z.coerce.number({ error: `must be ${what}` }).int({ error: `must be ${what}` }).positive({ error: `must be ${what}` });

const listQuery = z.strictObject({
  status: z.enum(['queued', 'assigned', 'resolved'], { error: 'must be queued, assigned or resolved' }).optional(),
  agent: agentUid.optional(),
  before: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).transform((s) => Date.parse(s)).optional(),
  limit: positive('a whole number from 1').max(MAX_LIST, { error: `must be at most ${MAX_LIST}` }).default(50),
});

const pageQuery = z.strictObject({
  before: positive('a seq number').optional(),
  limit: positive('a whole number from 1').max(MAX_PAGE, { error: `must be at most ${MAX_PAGE}` }).default(50),
});

const parse = <T>(schema: z.ZodType<T>, value: unknown): T => {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fromZod(parsed.error);
  return parsed.data;
};

export function chatConversationsRouter(
  ctx: ChatRouteDeps,
  auth: Authenticator,
  adminKeys: KeySet,
  limiter: RateLimiter,
  body: RequestHandler,
): Router {
  const router = Router();
  const now = () => new Date(ctx.clock.now());
  router.use('/v1/chat/conversations', requireChatCaller(auth, adminKeys), limiter.middleware(), body);
  router.use('/v1/chat/conversations/:id', (req, _res, next) => {
    parse(z.object({ id: conversationId }), req.params);
    next();
  });

  router.get('/v1/chat/conversations', async (req, res) => {
    const q = parse(listQuery, req.query);
    res.json({ conversations: await listConversations(ctx.chat, req.chatCaller!, q) });
  });

  router.get('/v1/chat/conversations/:id', async (req, res) => {
    const conversation = await viewConversation(ctx.chat, req.chatCaller!, req.params.id!);
    res.json({ conversation, receipts: await conversationReceipts(ctx.chat, conversation) });
  });

  router.get('/v1/chat/conversations/:id/messages', async (req, res) => {
    const q = parse(pageQuery, req.query);
    res.json({ messages: await conversationMessages(ctx.chat, req.chatCaller!, req.params.id!, q.before ?? null, q.limit) });
  });

  router.post('/v1/chat/conversations/:id/messages', async (req, res) => {
    const b = parse(sendBody, objectBody(req.body, '{"client_id": ..., "text": ...} or {"client_id": ..., "image": ...}'));
    const r = await sendMessage(
      ctx.chat,
      req.chatCaller!,
      { conversation: req.params.id!, clientId: b.client_id, text: b.text ?? null, image: b.image ?? null },
      now(),
    );
    res.status(r.duplicate ? 200 : 201).json({ message: r.message });
  });

  router.post('/v1/chat/conversations/:id/resolve', async (req, res) => {
    parse(z.strictObject({}), objectBody(req.body ?? {}, '{} or no body'));
    const r = await resolveConversation(ctx.chat, req.chatCaller!, req.params.id!, now());
    res.json({ conversation: r.conversation });
  });

  router.post('/v1/chat/conversations/:id/transfer', async (req, res) => {
    const b = parse(transferBody, objectBody(req.body ?? {}, '{"to": "agent:7"}, or {} for the queue'));
    const r = await transferConversation(ctx.chat, req.chatCaller!, req.params.id!, b.to ?? null, now());
    res.json({ conversation: r.conversation });
  });
  return router;
}
