// The console's top bar: who is signed in, their status as the server reports
// it (or the socket's trouble), the switch between online and away, the load,
// the notifications' bell and signing out.
import { h } from '../lib/dom.js';
import { bell } from './bell.js';
import type { ConsoleStore } from './console-store.js';

export function header(store: ConsoleStore, signOut: () => void): HTMLElement {
  const who = h('span', { class: 'agent-who' });
  const status = h('span', { id: 'agent-status', class: 'status-pill', attrs: { role: 'status', 'aria-live': 'polite' } });
  const available = h(
    'button',
    { type: 'button', class: 'switch', attrs: { role: 'switch', 'aria-checked': 'false', 'aria-describedby': 'agent-status' } },
    h('span', { class: 'switch-track', attrs: { 'aria-hidden': 'true' } }),
    'Available',
  );
  const load = h('span', { class: 'load', attrs: { 'aria-live': 'polite' } });
  const out = h('button', { type: 'button', class: 'secondary' }, 'Sign out');

  available.addEventListener('click', () => {
    const want = store.status === 'online' ? 'away' : 'online';
    // Busy until the server says what it made of it (chat.agent).
    available.setAttribute('aria-busy', 'true');
    store.setStatus(want);
  });
  out.addEventListener('click', signOut);

  const render = () => {
    who.replaceChildren(h('strong', null, store.name), ' ', h('span', { class: 'muted' }, store.me === store.name ? '' : store.me));
    const shown =
      store.link === 'reconnecting' ? 'Reconnecting…' : store.link === 'closed' ? 'Offline: sign in again' : store.status === 'online' ? 'Online' : store.status === 'away' ? 'Away' : 'Offline';
    status.textContent = shown;
    status.dataset.state = store.link === 'connected' ? store.status : 'offline';
    available.setAttribute('aria-checked', String(store.link === 'connected' && store.status === 'online'));
    available.disabled = store.link !== 'connected';
    available.title = store.status === 'online' ? 'Switch to away: keep your conversations, take no new ones' : 'Switch to online: take conversations from the queue';
    const held = store.mine().length;
    load.replaceChildren(h('span', { class: 'muted' }, 'Load '), `${held} / ${store.capacity}`);
  };
  store.on('agent', () => {
    available.removeAttribute('aria-busy');
    render();
  });
  store.on('lists', render);
  render();

  return h('header', { class: 'top console-top' }, h('h1', null, 'PMQ console'), who, status, available, load, bell(store.notifications), out);
}
