// The console's HTTP calls, as the signed-in agent. A console that starts or
// reconnects loads a page of history per conversation at once, which may pass
// the per-user rate limit (PMQ_RATE_LIMIT_PER_USER): a refused call waits a
// moment and goes again rather than failing what the agent sees.
import type { ChatMessage, Conversation } from '../lib/records.js';
import { api, ApiError, type ApiOptions } from '../lib/api.js';

export interface AgentInfo {
  id: string;
  name: string;
  capacity: number;
  status: 'online' | 'away' | 'offline';
  load: number;
}

/** A participant's receipt, as chat.receipt carries it. */
export interface Receipt {
  by: string;
  delivered_seq: number;
  read_seq: number;
}

const RETRIES = 3;

export class AgentHttp {
  constructor(private readonly token: string) {}

  async call<T>(path: string, opts: Omit<ApiOptions, 'credential'> = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await api<T>(path, { ...opts, credential: this.token });
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 'rate_limited' || attempt >= RETRIES) throw err;
        await new Promise((resolve) => setTimeout(resolve, 600 * (attempt + 1)));
      }
    }
  }

  agents(): Promise<AgentInfo[]> {
    return this.call<{ agents: AgentInfo[] }>('/v1/chat/agents').then((r) => r.agents);
  }

  conversations(query: { status: 'queued' | 'resolved'; before?: string; limit?: number }): Promise<Conversation[]> {
    const q = new URLSearchParams({ status: query.status, limit: String(query.limit ?? 50) });
    if (query.before !== undefined) q.set('before', query.before);
    return this.call<{ conversations: Conversation[] }>(`/v1/chat/conversations?${q}`).then((r) => r.conversations);
  }

  conversation(id: string): Promise<Conversation> {
    return this.withReceipts(id).then((r) => r.conversation);
  }

  /** The record, and the visitor's and agent's receipts now. */
  withReceipts(id: string): Promise<{ conversation: Conversation; receipts: Receipt[] }> {
    return this.call<{ conversation: Conversation; receipts: Receipt[] }>(`/v1/chat/conversations/${encodeURIComponent(id)}`);
  }

  /** Newest first, before `before` (a seq) when given. */
  messages(id: string, limit: number, before?: number): Promise<ChatMessage[]> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before !== undefined) q.set('before', String(before));
    return this.call<{ messages: ChatMessage[] }>(`/v1/chat/conversations/${encodeURIComponent(id)}/messages?${q}`).then((r) => r.messages);
  }

  resolve(id: string): Promise<unknown> {
    return this.call(`/v1/chat/conversations/${encodeURIComponent(id)}/resolve`, { method: 'POST', body: {} });
  }

  /** To an agent, or (`to` undefined) back to the queue. */
  transfer(id: string, to: string | undefined): Promise<unknown> {
    return this.call(`/v1/chat/conversations/${encodeURIComponent(id)}/transfer`, { method: 'POST', body: to === undefined ? {} : { to } });
  }

  /** The image's id once stored. */
  upload(conversation: string, file: Blob): Promise<string> {
    return this.call<{ image: { id: string } }>(`/v1/chat/uploads?conversation=${encodeURIComponent(conversation)}`, {
      method: 'POST',
      body: file,
    }).then((r) => r.image.id);
  }
}
