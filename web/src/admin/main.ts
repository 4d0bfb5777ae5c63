// /admin: the service's administrator signs in with the admin key, then sees the
// chat's figures as they move, manages the agents, follows the conversations by
// status and the notification side. Everything here is read over HTTP every
// POLL_MS while the tab is in view (figures are read, not pushed to admins).
import '../lib/base.css';
import './admin.css';
import { api, ApiError } from '../lib/api.js';
import { byId, h, replace } from '../lib/dom.js';
import { signIn, signOut } from '../lib/sign-in.js';
import { AdminApi } from './admin-api.js';
import { AgentForm } from './agent-form.js';
import { AgentsTable } from './agents-table.js';
import { ConversationsPanel } from './conversations.js';
import { Figures } from './figures.js';
import { Poller } from './poller.js';

const STORAGE_KEY = 'pmq.admin.key';
const POLL_MS = 2000;

const signOutButton = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Sign out');
signOutButton.addEventListener('click', () => signOut(STORAGE_KEY));
const updated = h('p', { class: 'updated muted' });
const main = h('main', { id: 'main' });
replace(
  byId('app'),
  h(
    'header',
    { class: 'top' },
    h('h1', null, 'PMQ admin'),
    h('nav', { attrs: { 'aria-label': 'Pages' } }, h('a', { href: '/' }, 'Home'), ' ', h('a', { href: '/console' }, 'Agent console')),
    updated,
    signOutButton,
  ),
  main,
);

const key = await signIn({
  into: main,
  storageKey: STORAGE_KEY,
  label: 'Admin key',
  hint: "The service's PMQ_ADMIN_KEY. It is kept in this tab only, until you sign out or close it.",
  check: async (k) => {
    await api('/v1/admin/stats', { credential: k });
  },
});
signOutButton.hidden = false;

// Said to screen readers: what an action did, and an agent's status changing.
const announcer = h('div', { class: 'visually-hidden', attrs: { role: 'status', 'aria-live': 'polite' } });
const announce = (text: string) => {
  announcer.textContent = '';
  // A new text node in a later frame: the same words twice are read twice.
  requestAnimationFrame(() => (announcer.textContent = text));
};

const admin = new AdminApi(key);
const figures = new Figures(`${POLL_MS / 1000} s`);
const form = new AgentForm(admin, async (agent) => {
  announce(`Saved ${agent.name}`);
  await poller.now();
});
const agents = new AgentsTable({ api: admin, announce, refresh: () => poller.now(), edit: (a) => form.edit(a) });
const conversations = new ConversationsPanel(admin, (id) => agents.nameOf(id));

const poller = new Poller(POLL_MS, async () => {
  try {
    const [stats, list] = await Promise.all([admin.stats(), admin.agents(), conversations.refreshOpen()]);
    figures.update(stats, performance.now());
    agents.update(list);
    conversations.updateCounts(stats);
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    updated.classList.remove('failing');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      // The key was changed on the server: ask for the new one.
      poller.stop();
      signOut(STORAGE_KEY);
      return;
    }
    updated.textContent = `Update failed (${err instanceof Error ? err.message : String(err)}); trying again`;
    updated.classList.add('failing');
  }
});

replace(
  main,
  announcer,
  section('chat', 'Chat now', figures.chat),
  section('agents', 'Agents', agents.el, form.el),
  section('conversations', 'Conversations', conversations.el),
  section('notifications', 'Notifications', figures.notifications),
);
poller.start();
void conversations.loadResolved(true);

function section(id: string, title: string, ...content: HTMLElement[]): HTMLElement {
  return h('section', { class: 'card', attrs: { 'aria-labelledby': `${id}-title` } }, h('h2', { id: `${id}-title` }, title), ...content);
}
