// The demo's notifications as the page holds them: the messages received (pushed,
// or from the feed), newest first, each read or not; and the unread counts,
// always the server's own (hello, a message's counts, an `unread` frame): the
// page never adds or subtracts, so its badge cannot drift from the server's.
import type { MessageFrame, Unread } from '../../../src/client/pmq-client.js';

export interface InboxItem {
  id: string;
  seq: number;
  category: string;
  from: string | null;
  title: string | null;
  body: string | null;
  created_at: string;
  unread: boolean;
}

/** A message of GET /v1/users/:uid/messages. */
export interface FeedMessage extends Omit<InboxItem, 'unread'> {
  state: 'pending' | 'delivered' | 'read';
}

/** Messages kept on the page at most (the oldest go first). */
const KEEP = 100;

type Change = { kind: 'items' } | { kind: 'unread' } | { kind: 'new'; item: InboxItem };

export class Inbox {
  private readonly items = new Map<string, InboxItem>();
  private _unread: Unread = { total: 0, counts: {} };
  private readonly listeners = new Set<(c: Change) => void>();

  get unread(): Unread {
    return this._unread;
  }

  /** Newest first. */
  list(): InboxItem[] {
    return [...this.items.values()].sort((a, b) => b.seq - a.seq);
  }

  onChange(fn: (c: Change) => void): void {
    this.listeners.add(fn);
  }

  /** A pushed message: pending, so unread when it comes. A second copy changes nothing. */
  received(m: MessageFrame): void {
    if (this.items.has(m.id)) return;
    const item = { ...pick(m), unread: true };
    this.add(item);
    this.emit({ kind: 'new', item });
  }

  /** A page of the feed, with each message's state as the server has it. */
  loaded(feed: FeedMessage[]): void {
    for (const m of feed) {
      const known = this.items.get(m.id);
      // A read here since the page was asked for stays read.
      if (known) known.unread &&= m.state !== 'read';
      else this.add({ ...pick(m), unread: m.state !== 'read' });
    }
    this.emit({ kind: 'items' });
  }

  /** The server's counts. A category it counts at 0 has no unread message, here either. */
  setUnread(u: Unread): void {
    this._unread = { total: u.total, counts: { ...u.counts } };
    for (const item of this.items.values()) if (item.unread && !(u.counts[item.category]! > 0)) item.unread = false;
    this.emit({ kind: 'unread' });
    this.emit({ kind: 'items' });
  }

  /** Marked read by this page (the server's new counts follow as `unread`). */
  markRead(ids?: string[]): void {
    for (const item of this.items.values()) if (ids === undefined || ids.includes(item.id)) item.unread = false;
    this.emit({ kind: 'items' });
  }

  private add(item: InboxItem): void {
    this.items.set(item.id, item);
    if (this.items.size > KEEP) {
      const oldest = this.list().pop();
      if (oldest) this.items.delete(oldest.id);
    }
  }

  private emit(c: Change): void {
    for (const fn of this.listeners) fn(c);
  }
}

function pick(m: Omit<InboxItem, 'unread'>): Omit<InboxItem, 'unread'> {
  return { id: m.id, seq: m.seq, category: m.category, from: m.from, title: m.title, body: m.body, created_at: m.created_at };
}
