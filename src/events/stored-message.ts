// The message as kept in a user's `msg` hash, and as clients see it.
import type { AcceptedEvent } from './event-schema.js';
import { isCounted } from './event-schema.js';

/** What the Lua scripts read back: `category`, `counted` and `accepted_at` (see lua/includes/stored-message.lua). */
export interface StoredMessage {
  id: string;
  category: string;
  from?: string;
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
  created_at: string;
  accepted_at: number;
  counted: boolean;
}

export type MessageState = 'pending' | 'delivered' | 'read';
export type Tier = 'fast' | 'delayed';

/** A message as the pull API and the socket frames show it. */
export interface MessageView {
  id: string;
  seq: number;
  category: string;
  from: string | null;
  title: string | null;
  body: string | null;
  data: Record<string, unknown> | null;
  created_at: string;
  state: MessageState;
  /** Where it waits for delivery; null once delivered (or never pending). */
  tier: Tier | null;
}

/**
 * The order of the fields is part of the contract with the Lua scripts
 * (lua/includes/stored-message.lua reads `id`, `category` at the start of the JSON
 * and `accepted_at`, `counted` at its end, without decoding the rest).
 */
export function toStoredMessage(e: AcceptedEvent): StoredMessage {
  return {
    id: e.id,
    category: e.category,
    ...(e.from !== undefined && { from: e.from }),
    ...(e.title !== undefined && { title: e.title }),
    ...(e.body !== undefined && { body: e.body }),
    ...(e.data !== undefined && { data: e.data }),
    created_at: e.created_at,
    accepted_at: e.accepted_at,
    counted: isCounted(e),
  };
}

export function toView(m: StoredMessage, seq: number, state: MessageState, tier: Tier | null): MessageView {
  return {
    id: m.id,
    seq,
    category: m.category,
    from: m.from ?? null,
    title: m.title ?? null,
    body: m.body ?? null,
    data: m.data ?? null,
    created_at: m.created_at,
    state,
    tier,
  };
}
