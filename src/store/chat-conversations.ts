// Chat conversations: their records and histories ({c:<id>}), and which one is
// each visitor's ({u:<visitor>}:chat). Every change is one Lua step on one slot
// (lua/chat-visitor-*.lua, chat-conversation-*.lua, chat-message-add-4.lua);
// where a change spans a visitor and a conversation, each step is idempotent, so
// that doing the whole again after a crash finishes it (ops/chat-*.ts do).
import { randomBytes } from 'node:crypto';
import type { ChatMessage, Conversation, ConversationStatus } from '../chat/conversation.js';
import type { RedisClient } from '../redis/client.js';
import type { Keys } from '../redis/keys.js';
import { scripts, type RecordFields } from '../redis/scripts.js';
import { refusing } from './chat-refusals.js';

export interface ConversationOptions {
  /** PMQ_CHAT_MAX_MESSAGES: a conversation's history is bounded. */
  maxMessages: number;
  /** PMQ_CHAT_RETENTION_SECONDS, in ms: how long a resolved conversation is kept. */
  retentionMs: number;
}

export interface NewMessage {
  sender: string;
  kind: 'text' | 'image';
  text: string | null;
  image: string | null;
  clientId: string | null;
}

/** Messages a history page holds at most. */
export const MAX_PAGE = 200;

export class ChatConversations {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly opts: ConversationOptions,
  ) {}

  /**
   * The conversation a visitor's message goes to, open: their open one, else
   * their last one reopened, else a new one. `lastAgent`: who held it before a
   * reopen (the agent routing prefers).
   */
  async openForVisitor(visitor: string, now: Date) {
    const { id } = await scripts.chatVisitorOpen(this.redis, this.keys.user(visitor).chat, randomBytes(16).toString('base64url'));
    const opened = await refusing(() => scripts.chatConversationOpen(this.redis, this.keys.conversation(id), id, visitor, now));
    return {
      conversation: toConversation(opened.record),
      outcome: opened.outcome,
      lastAgent: opened.lastAgent,
      message: parseMessage(opened.message),
    };
  }

  /** The visitor's open conversation's id, or null. */
  async openOf(visitor: string): Promise<string | null> {
    return this.redis.hget(this.keys.user(visitor).chat, 'open');
  }

  /** A message of the visitor or of the agent who holds the conversation; a resend (same client_id) returns the first. */
  async addMessage(conversation: string, message: NewMessage, now: Date) {
    const r = await refusing(() => scripts.chatMessageAdd(this.redis, this.keys.conversation(conversation), message, now, this.opts.maxMessages));
    return { duplicate: r.outcome === 'duplicate', message: parseMessage(r.message)!, visitor: r.visitor, agent: r.agent, firstReply: r.firstReply };
  }

  /**
   * The record takes a routing step's outcome for this conversation, if that
   * step (its `version`) is newer than the last it took. `message`: the system
   * message it wrote (assigned, transferred), if any.
   */
  async follow(conversation: string, version: number, agent: string | null, now: Date) {
    const r = await scripts.chatConversationFollow(
      this.redis,
      this.keys.conversation(conversation),
      version,
      agent === null ? 'queued' : 'assigned',
      agent,
      now,
    );
    return {
      outcome: r.outcome,
      message: parseMessage(r.message),
      conversation: r.outcome === 'none' ? null : toConversation(r.record),
      before: { status: r.was as ConversationStatus | null, agent: r.before },
    };
  }

  /** Resolved by `by`; its keys expire after the retention, and it is its visitor's open one no more. */
  async resolve(conversation: string, by: string, now: Date) {
    const r = await refusing(() =>
      scripts.chatConversationResolve(this.redis, this.keys.conversation(conversation), by, now, this.opts.retentionMs),
    );
    const record = toConversation(r.record);
    await scripts.chatVisitorClose(this.redis, this.keys.user(record.visitor).chat, conversation);
    return { changed: r.outcome === 'resolved', message: parseMessage(r.message), conversation: record };
  }

  /** A participant's receipt moves forward (`read` delivers too); never back, never past the last message. */
  receipt(conversation: string, uid: string, kind: 'delivered' | 'read', seq: number) {
    return refusing(() => scripts.chatReceipt(this.redis, this.keys.conversation(conversation), uid, kind, seq));
  }

  /** A participant's receipts (0 before any). */
  async receiptsOf(conversation: string, uid: string): Promise<{ delivered: number; read: number }> {
    const [delivered, read] = await this.redis.hmget(this.keys.conversation(conversation).receipts, `${uid}:delivered`, `${uid}:read`);
    return { delivered: Number(delivered ?? 0), read: Number(read ?? 0) };
  }

  /** Messages after `afterSeq`, oldest first, at most `limit`: what a participant has not yet received. */
  async messagesAfter(conversation: string, afterSeq: number, limit: number): Promise<ChatMessage[]> {
    const last = await this.lastSeq(conversation);
    const count = Math.min(limit, MAX_PAGE, last - afterSeq);
    return this.bySeq(conversation, Array.from({ length: Math.max(0, count) }, (_, i) => afterSeq + 1 + i));
  }

  /** The seq up to which the conversation's messages are out to the sockets (see push/chat-notifier.ts). */
  async publishedThrough(conversation: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.conversation(conversation).record, 'published_seq')) ?? 0);
  }

  /** Moves that mark to `seq` (never back). */
  published(conversation: string, seq: number): Promise<number> {
    return scripts.chatPublished(this.redis, this.keys.conversation(conversation).record, seq);
  }

  /**
   * Into the index of resolved conversations (all, and its agent's), dropping
   * what is past the retention. A second slot: a crash before it leaves the
   * conversation out of the lists, never out of reach by its id.
   */
  async indexResolved(c: Conversation): Promise<void> {
    if (c.resolved_at === null) return;
    const k = this.keys.chatResolved;
    const at = Date.parse(c.resolved_at);
    const expired = `(${at - this.opts.retentionMs}`;
    const multi = this.redis.multi().zadd(k.all, at, c.id).zremrangebyscore(k.all, '-inf', expired);
    if (c.agent !== null) {
      const mine = k.byAgentPrefix + c.agent;
      multi.zadd(mine, at, c.id).zremrangebyscore(mine, '-inf', expired).pexpire(mine, this.opts.retentionMs);
    }
    await multi.exec();
  }

  /** Out of that index again (reopened). */
  async unindexResolved(id: string, agent: string | null): Promise<void> {
    const k = this.keys.chatResolved;
    const multi = this.redis.multi().zrem(k.all, id);
    if (agent !== null) multi.zrem(k.byAgentPrefix + agent, id);
    await multi.exec();
  }

  /**
   * Resolved conversations, newest first, resolved before `before` (ms; all when
   * null): all of them, or one agent's. Those past their retention are skipped.
   */
  async resolved(agent: string | null, before: number | null, limit: number): Promise<Conversation[]> {
    const k = this.keys.chatResolved;
    const key = agent === null ? k.all : k.byAgentPrefix + agent;
    const ids = await this.redis.zrevrangebyscore(key, before === null ? '+inf' : `(${before}`, '-inf', 'LIMIT', 0, Math.min(limit, MAX_PAGE));
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records.filter((c): c is Conversation => c !== null && c.status === 'resolved');
  }

  async get(conversation: string): Promise<Conversation | null> {
    const record = await this.redis.hgetall(this.keys.conversation(conversation).record);
    return record.id === undefined ? null : toConversation(record);
  }

  /**
   * Its history, newest first: the `limit` messages before seq `before` (all
   * the newest when null). Seqs have no gaps, so a page is one HMGET.
   */
  async messages(conversation: string, before: number | null, limit: number): Promise<ChatMessage[]> {
    const last = await this.lastSeq(conversation);
    const top = Math.min(last, before === null ? last : before - 1);
    const count = Math.min(limit, MAX_PAGE, top);
    return this.bySeq(conversation, Array.from({ length: Math.max(0, count) }, (_, i) => top - i));
  }

  private async lastSeq(conversation: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.conversation(conversation).record, 'last_seq')) ?? 0);
  }

  /** The messages of these seqs, in their order (seqs have no gaps: one HMGET). */
  private async bySeq(conversation: string, seqs: number[]): Promise<ChatMessage[]> {
    if (seqs.length === 0) return [];
    const stored = await this.redis.hmget(this.keys.conversation(conversation).messages, ...seqs.map(String));
    return stored.flatMap((json) => (json === null ? [] : [JSON.parse(json) as ChatMessage]));
  }
}

function parseMessage(json: string | null): ChatMessage | null {
  return json === null ? null : (JSON.parse(json) as ChatMessage);
}

const iso = (ms: string | undefined) => (ms === undefined || ms === '' ? null : new Date(Number(ms)).toISOString());

function toConversation(r: RecordFields): Conversation {
  return {
    id: r.id!,
    visitor: r.visitor!,
    status: r.status as ConversationStatus,
    agent: r.agent === '' || r.agent === undefined ? null : r.agent,
    created_at: iso(r.created_at)!,
    waiting_since: iso(r.waiting_since)!,
    assigned_at: iso(r.assigned_at),
    resolved_at: iso(r.resolved_at),
    last_seq: Number(r.last_seq ?? 0),
  };
}
