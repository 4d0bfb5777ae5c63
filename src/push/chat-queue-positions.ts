// Telling queued visitors their place: `chat.queue {conversation, position,
// eta_seconds}` when it changed, at most once a second service-wide (one process
// a second takes a short Redis lock and tells; the others leave it to it, and
// try again once it expires). What each visitor was last told is kept in Redis,
// so that an unchanged place is not sent again, whichever process tells.
//
// The eta: the place times the recent average handling time (assigned to
// resolved, the last HANDLING_SAMPLES conversations), over the capacity of the
// agents online now; null while nobody is online.
import type { Logger } from '../logger.js';
import { chatQueueFrameText } from '../protocol/chat-frames.js';
import type { RedisClient } from '../redis/client.js';
import type { ChatRoutingKeys, Keys } from '../redis/keys.js';
import type { ChatConversations } from '../store/chat-conversations.js';
import type { ChatRouting } from '../store/chat-routing.js';
import type { Publisher } from './publisher.js';

/** How often at most the queue is told, service-wide. */
export const QUEUE_TICK_MS = 1000;
/** The queued conversations told at most: the first ones (those further back learn when they move up). */
export const MAX_TOLD = 1000;
/** Handling times the eta averages. */
export const HANDLING_SAMPLES = 100;
/** The handling time assumed before any conversation was resolved. */
const DEFAULT_HANDLING_MS = 5 * 60_000;

export class QueuePositions {
  private readonly k: ChatRoutingKeys;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly redis: RedisClient,
    keys: Keys,
    private readonly routing: Pick<ChatRouting, 'queue' | 'agents'>,
    private readonly conversations: Pick<ChatConversations, 'get'>,
    private readonly publisher: Pick<Publisher, 'chat'>,
    private readonly logger: Logger,
  ) {
    this.k = keys.chatRouting;
  }

  /** The queue changed: its visitors are told within a second. */
  changed(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.tellIn(0);
  }

  /** A tell `ms` from now, unless one is due already. */
  private tellIn(ms: number): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.tellNow();
    }, ms);
  }

  /** A handling time (ms) for the eta: a conversation resolved `ms` after it was assigned. */
  async handled(ms: number): Promise<void> {
    await this.redis.pipeline().lpush(this.k.handling, Math.max(0, Math.round(ms))).ltrim(this.k.handling, 0, HANDLING_SAMPLES - 1).exec();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Tells the queue now when no process did in the last second; else once that second is over. */
  async tellNow(): Promise<void> {
    this.running = true;
    try {
      const mine = await this.redis.set(this.k.queueTick, '1', 'PX', QUEUE_TICK_MS, 'NX');
      if (mine === null) {
        const wait = Math.max(10, await this.redis.pttl(this.k.queueTick));
        this.tellIn(wait);
        return;
      }
      await this.tell();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not tell the queue its places');
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.changed();
      }
    }
  }

  private async tell(): Promise<void> {
    const [{ waiting }, agents, handling, told] = await Promise.all([
      this.routing.queue(MAX_TOLD),
      this.routing.agents(),
      this.redis.lrange(this.k.handling, 0, HANDLING_SAMPLES - 1),
      this.redis.hgetall(this.k.queueTold),
    ]);
    const capacity = agents.filter((a) => a.status === 'online' && !a.inGrace).reduce((sum, a) => sum + a.capacity, 0);
    const averageMs = handling.length === 0 ? DEFAULT_HANDLING_MS : handling.reduce((s, x) => s + Number(x), 0) / handling.length;
    const places = waiting.map((w, i) => {
      const position = i + 1;
      const eta = capacity === 0 ? null : Math.round((position * averageMs) / capacity / 1000);
      return { conversation: w.conversation, position, eta, text: `${position}:${eta ?? ''}` };
    });
    const inQueue = new Set(places.map((p) => p.conversation));
    // Those gone from the queue (or past MAX_TOLD) are forgotten: told again if they come back.
    const stale = Object.keys(told).filter((c) => !inQueue.has(c));
    const changed = places.filter((p) => told[p.conversation] !== p.text);
    if (stale.length > 0) await this.redis.hdel(this.k.queueTold, ...stale);
    if (changed.length === 0) return;
    const records = await Promise.all(changed.map((p) => this.conversations.get(p.conversation)));
    const users = changed.flatMap((p, i) => {
      const visitor = records[i]?.visitor;
      if (visitor === undefined) return [];
      return [{ uid: visitor, frames: [chatQueueFrameText({ conversation: p.conversation, position: p.position, eta_seconds: p.eta })] }];
    });
    await this.publisher.chat(users);
    await this.redis.hset(this.k.queueTold, Object.fromEntries(changed.map((p) => [p.conversation, p.text])));
  }
}
