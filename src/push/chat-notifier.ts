// Who hears of what in the chat: a message goes to every socket of its
// conversation's visitor and agent (the sender's other devices too); a change of
// a conversation goes to its visitor, its agent now and before, and, when it
// enters or leaves the queue, to every agent signed in (their consoles show the
// queue: nothing waits for a reload). An agent given a conversation gets its
// record and then its history at once: what the visitor wrote while queued.
//
// A conversation's messages reach the sockets in seq order, whichever process
// stored them: each publisher waits (briefly) until those before its own are
// out, publishes, then moves the conversation's mark (published_seq). Without it,
// two nodes storing messages 3 and 4 at once may publish 4 first. A publisher
// that died between storing and publishing holds the next one up for at most
// ORDER_WAIT_MS; the lost message is in the history and in what a reconnect sends.
import type { ChatMessage, ConversationChange } from '../chat/conversation.js';
import { offlineNotice } from '../chat/offline-notice.js';
import { chatAgentFrameText, chatConversationFrameText, chatMessageFrameText } from '../protocol/chat-frames.js';
import type { UserFrames } from '../protocol/node-message.js';
import type { ChatConversations } from '../store/chat-conversations.js';
import type { AgentState, ChatRouting } from '../store/chat-routing.js';
import type { QueuePositions } from './chat-queue-positions.js';
import type { Publisher } from './publisher.js';

/** The history a newly assigned agent gets with the conversation, at most. */
export const CATCH_UP_MESSAGES = 50;
/** How long a message waits at most for the one before it to be published. */
export const ORDER_WAIT_MS = 300;

export class ChatNotifier {
  constructor(
    private readonly publisher: Pick<Publisher, 'chat'>,
    private readonly routing: Pick<ChatRouting, 'agents'>,
    private readonly conversations: Pick<ChatConversations, 'messages' | 'receiptsOf' | 'publishedThrough' | 'published'>,
    private readonly positions: Pick<QueuePositions, 'changed' | 'handled'>,
    /** Posts a notification event (as POST /v1/events would): a visitor away gets one per conversation. */
    private readonly notify: (event: ReturnType<typeof offlineNotice>) => Promise<void>,
  ) {}

  /** The queue changed without a record's change (a conversation queued as it opened): its visitors are told their places. */
  queueChanged(): void {
    this.positions.changed();
  }

  /** A conversation resolved `ms` after it was assigned: the queue's eta learns from it. */
  handled(ms: number): Promise<void> {
    return this.positions.handled(ms);
  }

  /**
   * A new message (not a resend): to its visitor and its agent. An agent's
   * reply to a visitor who has no socket open also becomes a notification of
   * category `chat`, one per conversation until they read it (chat/offline-notice.ts).
   */
  async message(m: ChatMessage, visitor: string, agent: string | null): Promise<void> {
    const frame = chatMessageFrameText(m);
    const online = await this.inTurn(m, () =>
      this.publisher.chat([visitor, agent].filter((u): u is string => u !== null).map((uid) => ({ uid, frames: [frame] }))),
    );
    if (m.from === agent && !online.has(visitor)) {
      const { read } = await this.conversations.receiptsOf(m.conversation, visitor);
      await this.notify(offlineNotice(m, visitor, read));
    }
  }

  /** An agent's status or capacity changed: every socket of theirs (their console's switch and load). */
  async agent(a: AgentState): Promise<void> {
    const frame = chatAgentFrameText({ agent: a.agent, name: a.name, status: a.status, capacity: a.capacity, load: a.load });
    await this.publisher.chat([{ uid: a.agent, frames: [frame] }]);
  }

  /** Conversations that changed (assigned, transferred, queued, resolved, reopened). */
  async changed(changes: ConversationChange[]): Promise<void> {
    if (changes.length === 0) return;
    let consoles: string[] | undefined;
    if (changes.some((ch) => ch.before.status === 'queued' || ch.conversation.status === 'queued')) this.positions.changed();
    // One publish per change: a change with a system message takes its turn in its conversation's order.
    for (const { conversation: c, before, message } of changes) {
      const framesOf = new Map<string, string[]>();
      const add = (uid: string | null, frames: string[]) => {
        if (uid === null) return;
        const list = framesOf.get(uid);
        if (list) list.push(...frames);
        else framesOf.set(uid, [...frames]);
      };
      const record = chatConversationFrameText(c);
      const system = message === null ? [] : [chatMessageFrameText(message)];
      add(c.visitor, [record, ...system]);
      if (before.agent !== null && before.agent !== c.agent) add(before.agent, [record, ...system]);
      if (c.agent !== null && c.agent !== before.agent) {
        // Oldest first, the system message among them: the agent's screen fills at once.
        const history = await this.conversations.messages(c.id, null, CATCH_UP_MESSAGES);
        add(c.agent, [record, ...history.reverse().map(chatMessageFrameText)]);
      } else {
        add(c.agent, [record, ...system]);
      }
      if (before.status === 'queued' || c.status === 'queued') {
        consoles ??= (await this.routing.agents()).filter((a) => a.status !== 'offline').map((a) => a.agent);
        for (const agent of consoles) if (agent !== c.agent && agent !== before.agent) add(agent, [record]);
      }
      const users: UserFrames<string>[] = [...framesOf].map(([uid, frames]) => ({ uid, frames }));
      if (message === null) await this.publisher.chat(users);
      else await this.inTurn(message, () => this.publisher.chat(users));
    }
  }

  /** Runs `publish` once the messages before `m` in its conversation are out, then marks `m` out. */
  private async inTurn<T>(m: ChatMessage, publish: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + ORDER_WAIT_MS;
    for (let pause = 1; (await this.conversations.publishedThrough(m.conversation)) < m.seq - 1 && Date.now() < deadline; pause = Math.min(pause * 2, 20)) {
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    const result = await publish();
    await this.conversations.published(m.conversation, m.seq);
    return result;
  }
}
