// The agents as the chat's own pages see them: an agent's console lists them all
// (whom to transfer to, who is online), a visitor's widget asks the name of the
// one who answers. Changing them is the admin's (chat-admin.ts).
import { Router } from 'express';
import type { Context } from '../../context.js';
import type { Authenticator } from '../../auth/authenticator.js';
import type { KeySet } from '../../auth/key-set.js';
import { AGENT_ID_PART, AGENT_PREFIX, isAgentId } from '../../chat/participants.js';
import { ForbiddenError, ValidationError } from '../../errors.js';
import { agentCard, agentView, listAgents } from '../../ops/chat-agents.js';
import { requireChatCaller } from '../auth.js';
import type { RateLimiter } from '../rate-limiter.js';

export function chatAgentsRouter(ctx: Pick<Context, 'chat'>, auth: Authenticator, adminKeys: KeySet, limiter: RateLimiter): Router {
  const router = Router();
  router.use('/v1/chat/agents', requireChatCaller(auth, adminKeys), limiter.middleware());

  router.get('/v1/chat/agents', async (req, res) => {
    if (req.chatCaller!.kind === 'visitor') throw new ForbiddenError("the agents' list is for agents and admins; a visitor may ask one agent's name by id");
    res.json({ agents: (await listAgents(ctx.chat)).map(agentView) });
  });

  // `agent:7` or `7`: the id as conversations name it, or its part after agent:.
  router.get('/v1/chat/agents/:id', async (req, res) => {
    const raw = req.params.id ?? '';
    const id = isAgentId(raw) ? raw.slice(AGENT_PREFIX.length) : raw;
    if (!AGENT_ID_PART.test(id)) throw new ValidationError('id: must be agent:<id>, <id> matching ^[A-Za-z0-9_.-]{1,58}$', 'id');
    res.json({ agent: await agentCard(ctx.chat, id) });
  });
  return router;
}
