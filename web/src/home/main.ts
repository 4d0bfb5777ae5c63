// /: what runs here and where to go (the agent console, the admin page, the
// widget other sites embed), and a notification demo on the project's own
// client library: sign in with a user token, watch the bell count, mark read.
import '../lib/base.css';
import './home.css';
import { api } from '../lib/api.js';
import { byId, h, replace } from '../lib/dom.js';
import { signIn, signOut } from '../lib/sign-in.js';
import { connectDemo, type DemoSession } from './demo-session.js';
import { InboxView } from './inbox-view.js';

const STORAGE_KEY = 'pmq.demo.token';

const health = h('p', { class: 'health muted', attrs: { role: 'status' } }, 'Service: …');
const demoBody = h('div', { class: 'demo-body' });

replace(
  byId('app'),
  h(
    'header',
    { class: 'top' },
    h('h1', null, 'PMQ'),
    h('nav', { attrs: { 'aria-label': 'Pages' } }, h('a', { href: '/console' }, 'Agent console'), ' ', h('a', { href: '/admin' }, 'Admin')),
  ),
  h(
    'main',
    null,
    h(
      'section',
      { class: 'card intro', attrs: { 'aria-labelledby': 'intro-title' } },
      h('h2', { id: 'intro-title' }, 'What runs here'),
      h(
        'p',
        null,
        'PMQ keeps notifications for the users of a website: it counts them as unread, pushes each one over a WebSocket the moment its user is online, ' +
          'and keeps the rest until a client pulls them. On the same sockets runs a customer-service chat: visitors talk to support agents.',
      ),
      h(
        'ul',
        { class: 'pages' },
        h('li', null, h('a', { href: '/console' }, 'Agent console'), ' — where support agents answer the chat.'),
        h('li', null, h('a', { href: '/admin' }, 'Admin'), ' — agents, the queue, and the figures as they move.'),
        h('li', null, h('a', { href: '/widget.js' }, 'Chat widget'), ' — the script a site embeds for its visitors (below).'),
      ),
      health,
    ),
    embedSection(),
    h(
      'section',
      { class: 'card demo', attrs: { 'aria-labelledby': 'demo-title' } },
      h('h2', { id: 'demo-title' }, 'Notification demo'),
      h('p', { class: 'muted' }, 'Sign in as a user of the site: new notifications arrive here as they are sent, counted by the bell.'),
      demoBody,
    ),
  ),
);

void api<{ status: string; node: string }>('/healthz')
  .then((r) => (health.textContent = `Service: ${r.status} (node ${r.node})`))
  .catch(() => (health.textContent = 'Service: not answering'));

let session: DemoSession | undefined;
await signIn({
  into: demoBody,
  storageKey: STORAGE_KEY,
  label: 'User token',
  hint: 'A token the main site minted for one of its users (POST /v1/tokens with its API key). It is kept in this tab only.',
  // Connecting is the check: the hello names the user (see demo-session.ts).
  check: async (token) => {
    session?.client.close();
    session = await connectDemo(token);
  },
  devMint: { label: 'User id', placeholder: 'demo-user' },
});
if (session !== undefined) {
  const s = session;
  replace(
    demoBody,
    new InboxView(s, () => {
      s.client.close();
      signOut(STORAGE_KEY);
    }).el,
  );
}

function embedSection(): HTMLElement {
  const snippet = `<script src="${location.origin}/widget.js" data-key="YOUR_WIDGET_KEY" async></script>`;
  const copied = h('span', { class: 'muted', attrs: { role: 'status' } });
  const copy = h('button', { type: 'button', class: 'secondary small' }, 'Copy');
  // The clipboard is there on https and localhost only.
  copy.hidden = navigator.clipboard === undefined;
  copy.addEventListener('click', () => {
    navigator.clipboard.writeText(snippet).then(
      () => (copied.textContent = 'Copied.'),
      () => (copied.textContent = 'Could not copy: select the line and copy it.'),
    );
  });
  return h(
    'section',
    { class: 'card', attrs: { 'aria-labelledby': 'embed-title' } },
    h('h2', { id: 'embed-title' }, 'Embed the chat widget'),
    h('p', null, 'One line on any page of the site, with a widget key of this service (PMQ_WIDGET_KEYS; the site\u2019s origin in PMQ_WIDGET_ORIGINS):'),
    h('pre', { class: 'snippet' }, h('code', null, snippet)),
    h('div', { class: 'copy' }, copy, copied),
  );
}
