// The chat's figures of the last hour, service-wide (GET /v1/admin/stats): how
// many conversations were given to agents, and samples of the waits and the
// first responses for their percentiles. Every process writes here what it
// observes (ops/chat-stats.ts), one MULTI on one slot ({chat-stats}) each time,
// so that any process reads the whole service's hour, whichever did the work.
//
// Bounded by construction, whatever the traffic:
// - assignments: one counter per minute (INCR), each expiring after two hours;
//   the hour is the last 60 of them, read in one MGET;
// - samples: a sorted set per kind, scored by when they were observed; each
//   write drops what is older than an hour and keeps the newest
//   CHAT_SAMPLE_CAP, so that a busy hour's percentiles are those of its newest
//   CHAT_SAMPLE_CAP samples, and a reading moves at most that many members.
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis/client.js';
import type { ChatStatsKeys, Keys } from '../redis/keys.js';

/** The window of the figures: an hour. */
export const CHAT_STATS_WINDOW_MS = 60 * 60_000;
/** Samples of each kind (waits, first responses) kept at most: the newest of the hour. */
export const CHAT_SAMPLE_CAP = 1000;

const MINUTE_MS = 60_000;
const MINUTES = CHAT_STATS_WINDOW_MS / MINUTE_MS;

export interface ChatHour {
  /** Conversations given to an agent in the last 60 minutes (by the minute, this one included). */
  assignments: number;
  /** Waits (queue to agent) of the last hour, in ms, ascending. */
  waits: number[];
  /** First-response times of the last hour, in ms, ascending. */
  firstResponses: number[];
}

export class ChatStats {
  private readonly k: ChatStatsKeys;

  constructor(
    private readonly redis: RedisClient,
    keys: Keys,
  ) {
    this.k = keys.chatStats;
  }

  /** A conversation given to an agent at `now`; `waitMs`: how long it waited for one (null: none to sample). */
  async assigned(conversation: string, waitMs: number | null, now: Date): Promise<void> {
    const at = now.getTime();
    const counter = this.k.assignmentsPrefix + Math.floor(at / MINUTE_MS);
    const multi = this.redis.multi().incr(counter).pexpire(counter, 2 * CHAT_STATS_WINDOW_MS);
    if (waitMs !== null) sample(multi, this.k.wait, conversation, waitMs, at);
    await multi.exec();
  }

  /** An agent's first reply in a conversation at `now`, `ms` after it began to wait. */
  async firstResponse(conversation: string, ms: number, now: Date): Promise<void> {
    await sample(this.redis.multi(), this.k.firstResponse, conversation, ms, now.getTime()).exec();
  }

  /** The hour before `now`, service-wide. */
  async lastHour(now: Date): Promise<ChatHour> {
    const at = now.getTime();
    const minute = Math.floor(at / MINUTE_MS);
    const counters = Array.from({ length: MINUTES }, (_, i) => this.k.assignmentsPrefix + (minute - i));
    const since = at - CHAT_STATS_WINDOW_MS;
    // A sample a little ahead of `now` (another process' clock) counts: up to +inf.
    const [counts, waits, firstResponses] = await Promise.all([
      this.redis.mget(...counters),
      this.redis.zrangebyscore(this.k.wait, since, '+inf'),
      this.redis.zrangebyscore(this.k.firstResponse, since, '+inf'),
    ]);
    return {
      assignments: counts.reduce((sum, n) => sum + Number(n ?? 0), 0),
      waits: valuesOf(waits),
      firstResponses: valuesOf(firstResponses),
    };
  }
}

/**
 * Adds one sample, `<ms>:<conversation>:<at>` scored by `at` (the same
 * observation twice is one member), and trims the set to the hour and the cap.
 */
function sample(multi: ChainableCommander, key: string, conversation: string, ms: number, at: number): ChainableCommander {
  return multi
    .zadd(key, at, `${Math.max(0, Math.round(ms))}:${conversation}:${at}`)
    .zremrangebyscore(key, '-inf', `(${at - CHAT_STATS_WINDOW_MS}`)
    .zremrangebyrank(key, 0, -(CHAT_SAMPLE_CAP + 1))
    .pexpire(key, CHAT_STATS_WINDOW_MS);
}

function valuesOf(members: string[]): number[] {
  return members.map((m) => Number(m.slice(0, m.indexOf(':')))).sort((a, b) => a - b);
}
