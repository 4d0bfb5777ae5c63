// The agent's own notifications (an agent's socket carries them beside the
// chat): the unread total the server keeps (always absolute), what came while
// this page is open, and, once the bell is opened, the feed from before it.
import type { MessageFrame, Unread } from '../../../src/client/pmq-client.js';
import type { AgentSession } from './agent-session.js';

export interface Notification {
  message: Omit<MessageFrame, 'type' | 'unread'>;
  read: boolean;
}

/** The feed's page the bell shows at first. */
const FEED_PAGE = 20;

export class Notifications {
  items: Notification[] = [];
  unreadTotal = 0;
  private readonly listeners = new Set<() => void>();
  private feedLoaded = false;

  constructor(
    private readonly session: AgentSession,
    /** Said to screen readers. */
    private readonly announce: (text: string) => void,
    /** An error of loading the feed. */
    private readonly failed: (err: unknown) => void,
  ) {}

  onChange(fn: () => void): void {
    this.listeners.add(fn);
  }

  received(m: MessageFrame): void {
    const { type: _type, unread: _unread, ...message } = m;
    if (this.items.some((n) => n.message.id === m.id)) return;
    this.items.unshift({ message, read: false });
    this.announce(`Notification: ${m.title ?? m.category}`);
    this.changed();
  }

  counts(u: Unread): void {
    this.unreadTotal = u.total;
    if (u.total === 0) for (const n of this.items) n.read = true;
    this.changed();
  }

  /** The feed, once: what came before this page (the socket brings what follows). */
  async loadFeed(): Promise<void> {
    if (this.feedLoaded) return;
    this.feedLoaded = true;
    try {
      const r = await this.session.http.call<{ messages: (Notification['message'] & { state: string })[] }>(
        `/v1/users/${encodeURIComponent(this.session.uid)}/messages?limit=${FEED_PAGE}`,
      );
      for (const { state, ...message } of r.messages) {
        if (!this.items.some((n) => n.message.id === message.id)) this.items.push({ message, read: state === 'read' });
      }
      this.items.sort((a, b) => b.message.seq - a.message.seq);
    } catch (err) {
      this.feedLoaded = false;
      this.failed(err);
    }
    this.changed();
  }

  markAllRead(): void {
    this.session.client.read();
    for (const n of this.items) n.read = true;
    this.changed();
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}
