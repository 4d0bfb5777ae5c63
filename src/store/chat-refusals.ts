// The chat scripts refuse with an error reply "PMQ <code>" (lua/chat-*.lua):
// here, once, each code becomes the typed error a client gets, with its message.
import { ChatConflictError, NoConversationError, NotParticipantError, UnknownAgentError, type HttpError } from '../errors.js';

const REFUSALS: Record<string, () => HttpError> = {
  unknown_agent: () => new UnknownAgentError('no such agent is registered'),
  agent_unavailable: () => new ChatConflictError('agent_unavailable', 'that agent is not taking conversations now (offline, away, or full)'),
  not_assigned: () => new ChatConflictError('not_assigned', 'no agent holds this conversation'),
  too_many_agents: () => new ChatConflictError('too_many_agents', 'as many agents are registered as PMQ_CHAT_MAX_AGENTS allows'),
  no_conversation: () => new NoConversationError(),
  not_participant: () => new NotParticipantError(),
  conversation_resolved: () => new ChatConflictError('conversation_resolved', 'this conversation is resolved'),
  conversation_full: () => new ChatConflictError('conversation_full', 'this conversation holds as many messages as PMQ_CHAT_MAX_MESSAGES allows'),
};

/** Runs a chat script; its refusal comes out as the typed error, anything else as it was. */
export async function refusing<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const code = /^PMQ ([a-z_]+)\b/.exec((err as Error).message ?? '')?.[1];
    const refusal = code === undefined ? undefined : REFUSALS[code];
    throw refusal ? refusal() : err;
  }
}
