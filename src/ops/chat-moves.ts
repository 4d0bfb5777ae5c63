// What every chat operation does after a routing step: the conversations it
// moved (assigned, given back to the queue) take the move on their records, in
// the step's version order (store/chat-conversations.ts follow), so that a
// conversation never names an agent the routing does not, for longer than a
// retry or the repair sweep takes.
import type { Conversation, ConversationChange } from '../chat/conversation.js';
import type { ChatNotifier } from '../push/chat-notifier.js';
import type { RoutingMoves } from '../redis/scripts.js';
import type { ChatConversations } from '../store/chat-conversations.js';
import type { ChatRouting } from '../store/chat-routing.js';
import type { ChatUploads } from '../store/chat-uploads.js';


export interface ChatStores {
  routing: ChatRouting;
  conversations: ChatConversations;
  /** The conversations' images, on disk (PMQ_CHAT_UPLOAD_DIR). */
  uploads: ChatUploads;
  /** Tells the people concerned, on their sockets (push/chat-notifier.ts). */
  notifier: ChatNotifier;
  /** What the operations observe as they work (ops/chat-stats.ts); none: nothing is counted. */
  metrics?: ChatMetrics;
  /** A conversation was resolved: its transcript goes to the webhook, when one is configured (queues.ts). */
  resolved?: (conversation: Conversation) => Promise<void>;
}

/**
 * What the chat operations observe, each where it happens: one line there.
 * Counting never fails an operation: the promises never reject.
 */
export interface ChatMetrics {
  /** A conversation given to an agent (another than before): a change whose agent is set and new. */
  assigned(change: ConversationChange, now: Date): Promise<void>;
  /** An agent's first reply in a conversation (its time runs from the conversation's waiting_since). */
  firstReply(conversation: string, now: Date): Promise<void>;
  /** A visitor's or an agent's new message (not a resend). */
  message(kind: 'text' | 'image'): void;
  /** An upload refused; `cause`: its error code (image_too_large, not_an_image, ...). */
  uploadRefused(cause: string): void;
}

/**
 * Records a step's moves, and those of the drains it asked for (`more`), on the
 * conversations. `extra`: the step's own outcome for one conversation (a route:
 * assigned or queued). Within one step a conversation may be requeued and then
 * assigned by the drain: only where it ended counts.
 */
export async function recordMoves(
  stores: ChatStores,
  moves: RoutingMoves<unknown>,
  now: Date,
  extra?: { conversation: string; agent: string | null },
): Promise<ConversationChange[]> {
  const changes: ConversationChange[] = [];
  let step: RoutingMoves<unknown> | null = moves;
  // Bounded: each drain assigns at most its limit, and stops when the queue or the free slots run out.
  while (step !== null) {
    const final = new Map<string, string | null>();
    if (step === moves && extra) final.set(extra.conversation, extra.agent);
    for (const c of step.requeued) final.set(c, null);
    for (const { conversation, agent } of step.assigned) final.set(conversation, agent);
    for (const [conversation, agent] of final) {
      const r = await stores.conversations.follow(conversation, step.version, agent, now);
      if (r.outcome !== 'changed' || !r.conversation) continue;
      changes.push({ conversation: r.conversation, before: r.before, message: r.message });
      // Once: a move recorded again (a retry, the repair sweep) is stale, not changed.
      if (agent !== null && agent !== r.before.agent) await stores.metrics?.assigned(changes.at(-1)!, now);
    }
    step = step.more ? await stores.routing.drain() : null;
  }
  return changes;
}
