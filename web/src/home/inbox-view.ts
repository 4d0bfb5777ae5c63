// The demo on screen: a bell whose badge is the server's unread total, the
// messages newest first with an unread marker, "Mark read" on each and "Mark all
// read". Items are kept by id and updated in place; new ones are announced to
// screen readers, a burst (the backlog after a sign-in) as one sentence.
import { h, icon, ICONS, shortTime } from '../lib/dom.js';
import type { DemoSession } from './demo-session.js';
import type { InboxItem } from './inbox.js';

/** New messages that come within this time are announced together. */
const ANNOUNCE_AFTER_MS = 400;

interface ItemView {
  li: HTMLLIElement;
  marker: HTMLElement;
  button: HTMLButtonElement;
}

export class InboxView {
  readonly el: HTMLElement;
  private readonly badge = h('span', { class: 'badge', hidden: true, attrs: { 'aria-hidden': 'true' } });
  private readonly bell: HTMLButtonElement;
  private readonly markAll = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Mark all read');
  private readonly connection = h('p', { class: 'connection', attrs: { role: 'status' } });
  private readonly list = h('ul', { id: 'inbox-list', class: 'inbox', attrs: { 'aria-label': 'Messages' } });
  private readonly empty = h('p', { class: 'muted empty' }, 'No messages yet.');
  private readonly panel: HTMLElement;
  private readonly announcer = h('div', { class: 'visually-hidden', attrs: { role: 'status', 'aria-live': 'polite' } });
  private readonly views = new Map<string, ItemView>();
  private fresh: InboxItem[] = [];
  private announceTimer: ReturnType<typeof setTimeout> | undefined;
  private online = false;

  constructor(
    private readonly s: DemoSession,
    onSignOut: () => void,
  ) {
    this.bell = h(
      'button',
      { type: 'button', class: 'bell', attrs: { 'aria-expanded': 'true', 'aria-controls': 'inbox-panel' } },
      icon(ICONS.bell),
      this.badge,
    );
    this.bell.addEventListener('click', () => this.toggle());
    this.markAll.addEventListener('click', () => {
      s.client.read();
      s.inbox.markRead();
    });
    const signOut = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
    signOut.addEventListener('click', onSignOut);

    this.panel = h('div', { id: 'inbox-panel' }, this.list, this.empty);
    this.panel.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        this.toggle(false);
        this.bell.focus();
      }
    });
    this.el = h(
      'div',
      { class: 'demo-inbox' },
      h('div', { class: 'demo-bar' }, this.bell, this.markAll, this.connection, signOut),
      this.panel,
      sendYourself(s.uid),
      this.announcer,
    );

    s.inbox.onChange((c) => {
      if (c.kind === 'new') this.announceLater(c.item);
      else if (c.kind === 'unread') this.showCount();
      else this.render();
    });
    s.client.on('hello', () => this.setOnline(true, `Connected as ${s.uid}`));
    s.client.on('close', (c) => {
      if (c.willReconnect) this.setOnline(false, 'Connection lost; reconnecting…');
      else if (c.code === 4402) this.setOnline(false, 'Your token has expired: sign out, then sign in with a new one.');
      else this.setOnline(false, `Disconnected (${c.code}): sign out, then sign in again.`);
    });
    this.setOnline(s.client.connected, `Connected as ${s.uid}`);
    this.showCount();
    this.render();
  }

  private setOnline(online: boolean, text: string): void {
    this.online = online;
    this.connection.textContent = text;
    this.connection.classList.toggle('offline', !online);
    // A read sent while the socket is down would be lost: the buttons wait for it.
    this.markAll.disabled = !online || this.s.inbox.unread.total === 0;
    for (const v of this.views.values()) v.button.disabled = !online;
  }

  private showCount(): void {
    const total = this.s.inbox.unread.total;
    this.badge.textContent = total > 99 ? '99+' : String(total);
    this.badge.hidden = total === 0;
    this.bell.setAttribute('aria-label', `Notifications, ${total} unread`);
    this.markAll.disabled = !this.online || total === 0;
  }

  private render(): void {
    const items = this.s.inbox.list();
    const keep = new Set(items.map((i) => i.id));
    for (const [id, v] of this.views) {
      if (!keep.has(id)) {
        v.li.remove();
        this.views.delete(id);
      }
    }
    const order = items.map((item) => {
      const v = this.views.get(item.id) ?? this.create(item);
      v.li.classList.toggle('unread', item.unread);
      v.marker.hidden = !item.unread;
      v.button.hidden = !item.unread;
      v.button.disabled = !this.online;
      return v.li;
    });
    // Moving an item would take the focus out of it: only when the order changed.
    if (order.some((li, i) => this.list.children[i] !== li)) this.list.append(...order);
    this.empty.hidden = items.length > 0;
  }

  private create(item: InboxItem): ItemView {
    const marker = h('span', { class: 'marker' }, 'Unread');
    const label = item.title ?? item.body ?? item.category;
    const button = h('button', { type: 'button', class: 'secondary small', attrs: { 'aria-label': `Mark read: ${label}` } }, 'Mark read');
    const li = h(
      'li',
      { class: 'message', tabIndex: -1 },
      h(
        'div',
        { class: 'meta' },
        h('span', { class: 'category' }, item.category),
        item.from === null ? null : h('span', null, `from ${item.from}`),
        h('time', { dateTime: item.created_at }, shortTime(item.created_at)),
        marker,
      ),
      item.title === null ? null : h('p', { class: 'title' }, item.title),
      item.body === null ? null : h('p', { class: 'body' }, item.body),
      button,
    );
    button.addEventListener('click', () => {
      this.s.client.read({ ids: [item.id] });
      this.s.inbox.markRead([item.id]);
      // The button goes away with the marker: keep the keyboard's place on its message.
      li.focus();
    });
    const v = { li, marker, button };
    this.views.set(item.id, v);
    return v;
  }

  private toggle(open = this.panel.hidden): void {
    this.panel.hidden = !open;
    this.bell.setAttribute('aria-expanded', String(open));
  }

  private announceLater(item: InboxItem): void {
    this.fresh.push(item);
    clearTimeout(this.announceTimer);
    this.announceTimer = setTimeout(() => {
      const fresh = this.fresh;
      this.fresh = [];
      const one = fresh[0];
      this.announcer.textContent =
        fresh.length === 1 && one
          ? `New ${one.category}${one.from === null ? '' : ` from ${one.from}`}: ${one.title ?? one.body ?? ''}`
          : `${fresh.length} new messages`;
    }, ANNOUNCE_AFTER_MS);
  }
}

/** How to send oneself a notification, with this page's origin and the signed-in uid. */
function sendYourself(uid: string): HTMLElement {
  const body = JSON.stringify({ id: 'demo-1', type: 'comment', to: uid, from: 'someone', title: 'Hello', body: 'A first notification' });
  const command = `curl -s ${location.origin}/v1/events \\\n  -H "authorization: Bearer $KEY" -H 'content-type: application/json' \\\n  -d '${body}'`;
  return h(
    'details',
    { class: 'send-yourself' },
    h('summary', null, 'Send yourself a notification'),
    h('p', { class: 'hint' }, 'With an API key of this service in $KEY (change the id for each new one):'),
    h('pre', null, h('code', null, command)),
  );
}

