// The agent console (/console): sign in with an agent's token, then the agent's
// conversations, the queue and the selected conversation, all kept current by
// what the socket pushes (console-store.ts).
import '../lib/base.css';
import './console.css';
import { byId, h, replace } from '../lib/dom.js';
import { signIn, signOut } from '../lib/sign-in.js';
import { openAgentSession, type AgentSession } from './agent-session.js';
import { ConsoleStore } from './console-store.js';
import { conversationLists } from './conversation-lists.js';
import { conversationPane } from './conversation-pane.js';
import { header } from './header.js';

const STORAGE_KEY = 'pmq.console.token';
const TITLE = 'PMQ — agent console';

async function start(): Promise<void> {
  const app = byId('app');
  const form = h('main', { class: 'sign-in-page' });
  replace(app, h('header', { class: 'top' }, h('h1', null, TITLE)), form);

  // The check opens the agent's socket; the one that passed is kept.
  let session: AgentSession | undefined;
  await signIn({
    into: form,
    storageKey: STORAGE_KEY,
    label: 'Agent token',
    hint: 'The token your site minted for your agent id (POST /v1/tokens with {"uid": "agent:<id>"}). It stays in this tab only.',
    check: async (token) => {
      session?.client.close();
      session = undefined;
      session = await openAgentSession(token);
    },
    devMint: { label: 'Or, on a development machine, an agent id', placeholder: 'agent:7' },
  });
  if (!session) throw new Error('signed in without a session');
  showConsole(app, new ConsoleStore(session));
}

function showConsole(app: HTMLElement, store: ConsoleStore): void {
  const notice = h('p', { class: 'notice form-error', hidden: true, attrs: { role: 'alert' } });
  const dismiss = h('button', { type: 'button', class: 'secondary small' }, 'Dismiss');
  const noticeBar = h('div', { class: 'notice-bar', hidden: true }, notice, dismiss);
  dismiss.addEventListener('click', () => store.setNotice(null));
  store.on('notice', () => {
    notice.textContent = store.notice ?? '';
    notice.hidden = store.notice === null;
    noticeBar.hidden = store.notice === null;
  });

  const announcer = h('div', { class: 'visually-hidden', attrs: { 'aria-live': 'polite' } });
  store.on('announce', () => {
    announcer.textContent = store.announcement;
  });

  // Unread chat messages in the tab's title: seen from another tab.
  store.on('lists', () => {
    const unread = store.mine().reduce((n, s) => n + store.unreadOf(s), 0);
    document.title = unread > 0 ? `(${unread}) ${TITLE}` : TITLE;
  });

  const layout = h('main', { class: 'console' });
  replace(layout, noticeBar, h('div', { class: 'layout' }, conversationLists(store), conversationPane(store, layout)));
  replace(
    app,
    header(store, () => {
      store.signOutClose();
      signOut(STORAGE_KEY);
    }),
    layout,
    announcer,
  );
}

void start();
