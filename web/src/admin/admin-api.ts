// The admin's calls to PMQ, typed as the README's "Chat: agents (admin key)" and
// "Chat: conversations" describe them. Every call carries the admin key.
import { api } from '../lib/api.js';
import type { Conversation } from '../lib/records.js';

export interface AdminStats {
  queued: number;
  longest_wait_seconds: number;
  agents_online: number;
  agents_away: number;
  open_conversations: number;
  assignments_last_hour: number;
  wait_seconds: Percentiles;
  first_response_seconds: Percentiles;
  notifications: { events_applied: number; pending_fast: number; pending_delayed: number; purged: number };
}

/** null while the last hour has no sample. */
export interface Percentiles {
  p50: number | null;
  p90: number | null;
}

export interface Agent {
  /** agent:<id> */
  id: string;
  name: string;
  capacity: number;
  status: 'online' | 'away' | 'offline';
  /** Disconnected, keeping their conversations for the grace period. */
  in_grace: boolean;
  load: number;
}


export const AGENT_PREFIX = 'agent:';

export class AdminApi {
  constructor(private readonly key: string) {}

  stats(): Promise<AdminStats> {
    return api<AdminStats>('/v1/admin/stats', { credential: this.key });
  }

  async agents(): Promise<Agent[]> {
    return (await api<{ agents: Agent[] }>('/v1/admin/agents', { credential: this.key })).agents;
  }

  /** `id` is the part after agent:. */
  async putAgent(id: string, body: { name: string; capacity: number }): Promise<Agent> {
    return (await api<{ agent: Agent }>(`/v1/admin/agents/${encodeURIComponent(id)}`, { method: 'PUT', body, credential: this.key })).agent;
  }

  async deleteAgent(id: string): Promise<void> {
    await api<void>(`/v1/admin/agents/${encodeURIComponent(id)}`, { method: 'DELETE', credential: this.key });
  }

  /** Open ones (queued and assigned, oldest waiting first), or resolved ones newest first, paged by `before`. */
  async conversations(q: { status?: 'resolved'; before?: string; limit: number }): Promise<Conversation[]> {
    const params = new URLSearchParams({ limit: String(q.limit) });
    if (q.status) params.set('status', q.status);
    if (q.before) params.set('before', q.before);
    return (await api<{ conversations: Conversation[] }>(`/v1/chat/conversations?${params}`, { credential: this.key })).conversations;
  }
}

/** "7" for "agent:7": the admin routes take the part after the prefix. */
export function agentIdPart(id: string): string {
  return id.startsWith(AGENT_PREFIX) ? id.slice(AGENT_PREFIX.length) : id;
}
