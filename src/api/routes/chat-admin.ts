// The admin API of the chat (admin key): agents, registered, changed, listed,
// removed (their conversations go back to the queue); the service's figures.
import { Router, type RequestHandler } from 'express';
import type { Context } from '../../context.js';
import { AGENT_ID_PART } from '../../chat/participants.js';
import { agentBody } from '../../chat/chat-schemas.js';
import { ValidationError, fromZod } from '../../errors.js';
import { agentView, deleteAgent, listAgents, putAgent } from '../../ops/chat-agents.js';
import { adminStats } from '../../ops/chat-stats.js';
import { requireAdminKey } from '../auth.js';
import type { KeySet } from '../../auth/key-set.js';
import { objectBody } from '../body.js';

type ChatAdminDeps = Pick<Context, 'chat' | 'clock' | 'config' | 'redis' | 'keys'>;

export function chatAdminRouter(ctx: ChatAdminDeps, adminKeys: KeySet, body: RequestHandler): Router {
  const router = Router();
  const schema = agentBody(ctx.config.chat.maxCapacity);
  router.use('/v1/admin', requireAdminKey(adminKeys), body);
  router.use('/v1/admin/agents/:id', (req, _res, next) => {
    if (!AGENT_ID_PART.test(req.params.id ?? '')) throw new ValidationError('id: must match ^[A-Za-z0-9_.-]{1,58}$ (the agent is agent:<id>)', 'id');
    next();
  });

  router.put('/v1/admin/agents/:id', async (req, res) => {
    const parsed = schema.safeParse(objectBody(req.body, '{"name": ..., "capacity": ...}'));
    if (!parsed.success) throw fromZod(parsed.error);
    const r = await putAgent(ctx.chat, req.params.id!, parsed.data, new Date(ctx.clock.now()));
    res.status(r.created ? 201 : 200).json({ agent: agentView(r.agent) });
  });

  router.get('/v1/admin/agents', async (_req, res) => {
    res.json({ agents: (await listAgents(ctx.chat)).map(agentView) });
  });

  router.delete('/v1/admin/agents/:id', async (req, res) => {
    await deleteAgent(ctx.chat, req.params.id!, new Date(ctx.clock.now()));
    res.status(204).end();
  });

  // The chat now and over the last hour, and the notifications' tallies, service-wide.
  router.get('/v1/admin/stats', async (_req, res) => {
    res.json(await adminStats(ctx, new Date(ctx.clock.now())));
  });
  return router;
}
