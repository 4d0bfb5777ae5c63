// The left column: the agent's open conversations (last message, unread count),
// the queue (how long each has waited) and, on demand, the resolved ones. Each
// entry is a button that opens the conversation in the pane.
import { h, replace } from '../lib/dom.js';
import type { ConsoleStore, ConversationState } from './console-store.js';
import { personName, shortId, systemLine, waitedSince } from './format.js';

/** Re-renders at most this often in a burst (a conversation's history arriving frame by frame). */
const COALESCE_MS = 16;
/** The queue's waits move on screen without asking the server anything. */
const CLOCK_MS = 15_000;

export function conversationLists(store: ConsoleStore): HTMLElement {
  const mineCount = h('span', { class: 'count' });
  const mineList = h('ul', { class: 'conv-list', attrs: { 'aria-label': 'My conversations' } });
  const mineEmpty = h('p', { class: 'muted empty' }, 'No open conversations.');
  const queueCount = h('span', { class: 'count' });
  const queueList = h('ul', { class: 'conv-list', attrs: { 'aria-label': 'Queue' } });
  const queueEmpty = h('p', { class: 'muted empty' }, 'Nobody is waiting.');
  const resolvedList = h('ul', { class: 'conv-list', attrs: { 'aria-label': 'Resolved' } });
  const resolvedEmpty = h('p', { class: 'muted empty', hidden: true }, 'None yet.');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const resolved = h('details', { class: 'resolved' }, h('summary', null, h('h2', null, 'Resolved')), resolvedList, resolvedEmpty, more);

  resolved.addEventListener('toggle', () => {
    if (resolved.open && !store.resolvedLoaded) void store.loadResolved();
  });
  more.addEventListener('click', () => void store.loadResolved());

  const item = (s: ConversationState, detail: Node) => {
    const c = s.record;
    const unread = store.isMine(c) ? store.unreadOf(s) : 0;
    const more = store.unreadMayBeMore(s);
    const button = h(
      'button',
      {
        type: 'button',
        class: 'conv',
        title: c.visitor,
        attrs: { 'data-id': c.id, 'aria-current': store.selected === c.id ? 'true' : undefined },
      },
      h('span', { class: 'conv-who' }, shortId(c.visitor)),
      detail,
      unread > 0 ? h('span', { class: 'badge' }, `${unread}${more ? '+' : ''}`) : null,
      unread > 0 ? h('span', { class: 'visually-hidden' }, ` ${more ? 'at least ' : ''}${unread} unread`) : null,
    );
    button.addEventListener('click', () => store.select(c.id));
    return h('li', null, button);
  };

  // The last thing said; PMQ's own lines only where nobody has said anything.
  const preview = (s: ConversationState): string => {
    const sending = [...s.pending.values()].at(-1);
    if (sending) return `You: ${sending.text ?? 'Image'}`;
    const messages = store.messagesOf(s);
    const said = [...messages].reverse().find((m) => m.kind !== 'system');
    const last = said ?? messages.at(-1);
    if (!last) return s.record.last_seq === 0 ? 'No messages yet' : '…';
    const names = { me: store.me, nameOf: (u: string) => store.nameOf(u) };
    if (last.kind === 'system') return systemLine(last.text, last.from, names, undefined);
    const body = last.kind === 'image' ? 'Image' : (last.text ?? '');
    return last.from === s.record.visitor ? body : `${capital(personName(names, last.from))}: ${body}`;
  };

  const render = () => {
    // The list is drawn anew: the focus goes back to the entry it was on.
    const focused = (document.activeElement as HTMLElement | null)?.closest?.('[data-id]')?.getAttribute('data-id');
    const mine = store.mine();
    replace(mineList, ...mine.map((s) => item(s, h('span', { class: 'conv-preview' }, preview(s)))));
    mineCount.textContent = String(mine.length);
    mineEmpty.hidden = mine.length > 0;
    const queue = store.queue();
    replace(queueList, ...queue.map((s) => item(s, h('span', { class: 'conv-wait' }, `waiting ${waitedSince(s.record.waiting_since)}`))));
    queueCount.textContent = String(queue.length);
    queueEmpty.hidden = queue.length > 0;
    const done = store.resolved();
    replace(resolvedList, ...done.map((s) => item(s, h('span', { class: 'conv-preview' }, resolvedAt(s)))));
    resolvedEmpty.hidden = !store.resolvedLoaded || done.length > 0;
    more.hidden = !store.resolvedMore;
    if (focused) (document.querySelector(`.sidebar [data-id="${CSS.escape(focused)}"]`) as HTMLElement | null)?.focus();
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      render();
    }, COALESCE_MS);
  };
  store.on('lists', later);
  setInterval(() => {
    if (store.queue().length > 0) later();
  }, CLOCK_MS);
  render();

  return h(
    'aside',
    { class: 'sidebar', attrs: { 'aria-label': 'Conversations' } },
    h('section', { class: 'card' }, h('h2', null, 'My conversations ', mineCount), mineList, mineEmpty),
    h('section', { class: 'card' }, h('h2', null, 'Queue ', queueCount), queueList, queueEmpty),
    h('section', { class: 'card' }, resolved),
  );
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function resolvedAt(s: ConversationState): string {
  const at = s.record.resolved_at;
  return at === null ? 'Resolved' : `Resolved ${new Date(at).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' })}`;
}
