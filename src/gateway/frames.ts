// The wire protocol of /ws: JSON frames {"type": ...}. Client frames are
// validated here; server frames are built here. docs/protocol.md lists them all.
import { z } from 'zod';
import { categories, messageIds as ids } from '../events/read-schema.js';
import type { MessageView } from '../events/stored-message.js';
import type { UnreadCounts } from '../store/unread.js';

export const since = z
  .number({ error: 'must be a seq number' })
  .int({ error: 'must be a seq number' })
  .nonnegative({ error: 'must be a seq number' });

/** Also what `/ws?token=&since=` is checked against: the same limits either way. */
export const authFrame = z.strictObject({
  type: z.literal('auth'),
  token: z.string({ error: 'must be a string' }).min(1).max(4096),
  since: since.optional(),
});

export const clientFrame = z.discriminatedUnion(
  'type',
  [
    authFrame,
    z.strictObject({ type: z.literal('ack'), ids }),
    // read: all (neither field), by category, or by ids
    z
      .strictObject({
        type: z.literal('read'),
        ids: ids.optional(),
        category: categories.optional(),
      })
      .refine((f) => f.ids === undefined || f.category === undefined, {
        error: 'send ids or category, not both',
        path: ['category'],
      }),
    z.strictObject({ type: z.literal('pull') }),
    z.strictObject({ type: z.literal('ping') }),
  ],
  { error: 'type: must be one of auth, ack, read, pull, ping' },
);

export type ClientFrame = z.infer<typeof clientFrame>;

export const CLIENT_FRAME_TYPES = new Set(['auth', 'ack', 'read', 'pull', 'ping']);

/** A message as pushed: the feed's view without its state and tier. */
export type MessageFrame = { type: 'message' } & Omit<MessageView, 'state' | 'tier'>;

export function messageFrame(m: MessageView): MessageFrame {
  return {
    type: 'message',
    id: m.id,
    seq: m.seq,
    category: m.category,
    from: m.from,
    title: m.title,
    body: m.body,
    data: m.data,
    created_at: m.created_at,
  };
}

/** The message frame as sent: built once per message, whatever the number of its sockets. */
export function messageFrameText(m: MessageView): string {
  return JSON.stringify(messageFrame(m));
}

export interface Unread {
  total: number;
  counts: Record<string, number>;
}

export interface HelloFrame {
  type: 'hello';
  uid: string;
  node: string;
  heartbeat_ms: number;
  unread: Unread;
  /** false: messages after the client's `since` were purged; it should reload. */
  recovered: boolean;
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  field?: string;
}

export function helloFrame(h: Omit<HelloFrame, 'type'>): string {
  const frame: HelloFrame = { type: 'hello', ...h };
  return JSON.stringify(frame);
}

export function unreadFrame(u: Pick<UnreadCounts, 'total' | 'counts'>): string {
  return JSON.stringify({ type: 'unread', total: u.total, counts: u.counts });
}

export function errorFrame(code: string, message: string, field?: string): string {
  const frame: ErrorFrame = { type: 'error', code, message, ...(field !== undefined && { field }) };
  return JSON.stringify(frame);
}

/** Close codes, besides the standard ones (1009 too big, 1012 restart, 1013 try later). */
export const CLOSE = {
  /** bad or missing token */
  unauthorized: 4401,
  /** the token has expired: get a new one */
  tokenExpired: 4402,
  /** no auth frame within PMQ_WS_AUTH_TIMEOUT_MS */
  authTimeout: 4408,
  /** the main site that resolves tokens is down: retry later */
  authUnavailable: 4503,
  /** the user already holds PMQ_WS_MAX_SOCKETS_PER_USER sockets on this node */
  tooManySockets: 4429,
  /** frames sent faster than the limit, well past it */
  policy: 1008,
  /** the send buffer passed its bound: reconnect and resume by seq */
  slowConsumer: 1013,
  /** this node is going down: reconnect (elsewhere) */
  restart: 1012,
  /** the store is unreachable while authenticating: reconnect later */
  internal: 1011,
  tooBig: 1009,
} as const;
