// The chat's figures. What the operations observe (ChatMetrics, chat-moves.ts)
// goes to this process' Prometheus metrics and, for the service-wide hour of
// GET /v1/admin/stats, to Redis (store/chat-stats.ts); adminStats reads that
// hour back with the routing's state now and the notification side's tallies.
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { RedisClient } from '../redis/client.js';
import type { Keys } from '../redis/keys.js';
import type { ChatConversations } from '../store/chat-conversations.js';
import type { ChatRouting } from '../store/chat-routing.js';
import { ChatStats } from '../store/chat-stats.js';
import { readStats } from '../store/stats.js';
import type { ConversationChange } from '../chat/conversation.js';
import type { ChatMetrics } from './chat-moves.js';

type ChatPromMetrics = Pick<Metrics, 'chatAssignments' | 'chatWait' | 'chatFirstResponse' | 'chatMessages' | 'chatUploadsRefused'>;

/** ChatMetrics as the service counts them: in this process' metrics, and the hour's in Redis. */
export class ObservedChatMetrics implements ChatMetrics {
  constructor(
    private readonly metrics: ChatPromMetrics,
    private readonly stats: ChatStats,
    private readonly conversations: Pick<ChatConversations, 'get'>,
    private readonly logger: Logger,
  ) {}

  /** The wait is sampled for a conversation that came from the queue; one transferred between agents did not wait. */
  async assigned({ conversation: c, before }: ConversationChange, now: Date): Promise<void> {
    this.metrics.chatAssignments.inc();
    const waitMs = before.agent === null && c.assigned_at !== null ? Date.parse(c.assigned_at) - Date.parse(c.waiting_since) : null;
    if (waitMs !== null) this.metrics.chatWait.observe(Math.max(0, waitMs) / 1000);
    await this.stats.assigned(c.id, waitMs, now).catch((err: unknown) => this.failed(err, 'assignment'));
  }

  async firstReply(conversation: string, now: Date): Promise<void> {
    try {
      const record = await this.conversations.get(conversation);
      if (record === null) return;
      const ms = Math.max(0, now.getTime() - Date.parse(record.waiting_since));
      this.metrics.chatFirstResponse.observe(ms / 1000);
      await this.stats.firstResponse(conversation, ms, now);
    } catch (err) {
      this.failed(err, 'first response');
    }
  }

  message(kind: 'text' | 'image'): void {
    this.metrics.chatMessages.inc({ kind });
  }

  uploadRefused(cause: string): void {
    this.metrics.chatUploadsRefused.inc({ cause });
  }

  /** The operation's work is done: a figure lost is logged, not raised. */
  private failed(err: unknown, what: string): void {
    this.logger.warn({ err: (err as Error).message }, `chat stats: recording a ${what} failed`);
  }
}

export interface AdminStatsDeps {
  redis: RedisClient;
  keys: Keys;
  chat: { routing: Pick<ChatRouting, 'summary'> };
}

/** p50 and p90 of a list of ms, in seconds; null for none. */
export interface Percentiles {
  p50: number | null;
  p90: number | null;
}

/** GET /v1/admin/stats: the chat now and over the last hour, and the notifications' tallies, service-wide. */
export interface AdminStats {
  queued: number;
  longest_wait_seconds: number;
  agents_online: number;
  agents_away: number;
  open_conversations: number;
  assignments_last_hour: number;
  wait_seconds: Percentiles;
  first_response_seconds: Percentiles;
  /** events_applied counts from the first event on: a reader's two readings give events per second. */
  notifications: { events_applied: number; pending_fast: number; pending_delayed: number; purged: number };
}

export async function adminStats(deps: AdminStatsDeps, now: Date): Promise<AdminStats> {
  const [routing, hour, tallies] = await Promise.all([
    deps.chat.routing.summary(),
    new ChatStats(deps.redis, deps.keys).lastHour(now),
    readStats(deps.redis, deps.keys),
  ]);
  return {
    queued: routing.queued,
    longest_wait_seconds: longestWaitSeconds(routing.oldestWaitingSince, now),
    agents_online: routing.agents.online,
    agents_away: routing.agents.away,
    open_conversations: routing.queued + routing.assigned,
    assignments_last_hour: hour.assignments,
    wait_seconds: percentiles(hour.waits),
    first_response_seconds: percentiles(hour.firstResponses),
    notifications: { events_applied: tallies.applied, pending_fast: tallies.fast, pending_delayed: tallies.delayed, purged: tallies.purged },
  };
}

/** How long the queue's oldest has waited by `now`, in seconds; 0 when nobody waits. */
export function longestWaitSeconds(oldestWaitingSince: number | null, now: Date): number {
  return oldestWaitingSince === null ? 0 : Math.max(0, now.getTime() - oldestWaitingSince) / 1000;
}

/** Nearest-rank percentiles (the smallest value with p of them at or below it) of ms sorted ascending, in seconds. */
export function percentiles(sortedMs: number[]): Percentiles {
  const at = (p: number) => (sortedMs.length === 0 ? null : sortedMs[Math.max(0, Math.ceil(p * sortedMs.length) - 1)]! / 1000);
  return { p50: at(0.5), p90: at(0.9) };
}
