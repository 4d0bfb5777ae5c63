// The bell of the agent's own notifications: its badge is the unread total the
// server keeps, its panel lists what came, newest first, with "Mark all read".
import { h, icon, ICONS, replace, shortTime } from '../lib/dom.js';
import type { Notifications } from './notifications.js';



export function bell(notes: Notifications): HTMLElement {
  const badge = h('span', { class: 'badge', hidden: true, attrs: { 'aria-hidden': 'true' } });
  const button = h('button', { type: 'button', class: 'bell secondary', attrs: { 'aria-expanded': 'false', 'aria-controls': 'bell-panel' } }, icon(ICONS.bell), badge);
  const list = h('ul', { class: 'bell-list', attrs: { 'aria-label': 'Notifications' } });
  const empty = h('p', { class: 'muted' }, 'No notifications.');
  const markAll = h('button', { type: 'button', class: 'secondary' }, 'Mark all read');
  const panel = h(
    'div',
    { id: 'bell-panel', class: 'bell-panel card', hidden: true },
    h('div', { class: 'bell-head' }, h('h2', null, 'Notifications'), markAll),
    list,
    empty,
  );
  const root = h('div', { class: 'bell-wrap' }, button, panel);

  const open = (on: boolean) => {
    panel.hidden = !on;
    button.setAttribute('aria-expanded', String(on));
    if (on) void notes.loadFeed();
  };
  button.addEventListener('click', () => open(panel.hidden));
  markAll.addEventListener('click', () => notes.markAllRead());
  // On the document: the focus may have left the panel (its button disabled once all is read).
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !panel.hidden) {
      open(false);
      button.focus();
    }
  });
  document.addEventListener('click', (ev) => {
    if (!panel.hidden && !root.contains(ev.target as Node)) open(false);
  });

  const render = () => {
    const n = notes.unreadTotal;
    badge.textContent = String(n);
    badge.hidden = n === 0;
    button.setAttribute('aria-label', n === 0 ? 'Notifications' : `Notifications, ${n} unread`);
    markAll.disabled = n === 0;
    replace(
      list,
      ...notes.items.map((x) =>
        h(
          'li',
          { class: x.read ? 'read' : 'unread' },
          h('span', { class: 'bell-title' }, x.message.title ?? x.message.category),
          x.message.body === null ? null : h('span', { class: 'bell-body' }, x.message.body),
          h('time', { class: 'muted', dateTime: x.message.created_at }, shortTime(x.message.created_at)),
          x.read ? null : h('span', { class: 'visually-hidden' }, ' (unread)'),
        ),
      ),
    );
    empty.hidden = notes.items.length > 0;
  };
  notes.onChange(render);
  render();
  return root;
}
