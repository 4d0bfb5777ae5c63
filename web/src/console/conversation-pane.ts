// The main pane: the selected conversation, its state and what the agent can
// do with it (resolve, transfer to an online agent or back to the queue), its
// transcript, the visitor's typing and the composer. Drawn anew when another
// conversation is selected, updated in place while it stays.
import { h, replace } from '../lib/dom.js';
import { Composer } from './composer.js';
import type { ConsoleStore } from './console-store.js';
import { errorText, shortId, waitedSince } from './format.js';
import { Transcript } from './transcript.js';

const QUEUE = 'queue';
/** The width at which the console is one column (console.css). */
const narrow = matchMedia('(max-width: 760px)');

export function conversationPane(store: ConsoleStore, layout: HTMLElement): HTMLElement {
  const pane = h('section', { class: 'pane card', attrs: { 'aria-labelledby': 'pane-title' } });
  let update: () => void = () => undefined;

  const show = () => {
    const id = store.selected;
    layout.classList.toggle('chat-open', id !== null);
    const s = id === null ? undefined : store.conversations.get(id);
    if (id === null || !s) {
      replace(pane, h('h2', { id: 'pane-title', class: 'visually-hidden' }, 'Conversation'), h('p', { class: 'muted pane-empty' }, 'Choose a conversation on the left.'));
      update = () => undefined;
      return;
    }
    const visitor = shortId(s.record.visitor);
    const back = h('button', { type: 'button', class: 'secondary back' }, '← Conversations');
    back.addEventListener('click', () => {
      store.select(null);
      // Back where the agent came from: the conversation's entry in the list.
      (layout.querySelector(`.sidebar [data-id="${CSS.escape(id)}"]`) as HTMLElement | null)?.focus();
    });
    const title = h('h2', { id: 'pane-title', title: s.record.visitor, tabIndex: -1 }, `Visitor ${visitor}`);
    const state = h('p', { class: 'muted pane-state' });
    const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });

    const resolve = h('button', { type: 'button', class: 'danger' }, 'Resolve');
    resolve.addEventListener('click', () => {
      error.textContent = '';
      resolve.disabled = true;
      store.resolve(id).catch((err: unknown) => {
        error.textContent = errorText(err);
        resolve.disabled = false;
      });
    });

    const target = h('select', { id: 'transfer-to', name: 'to' });
    const move = h('button', { type: 'submit', class: 'secondary' }, 'Transfer');
    const transfer = h(
      'form',
      { class: 'transfer', attrs: { 'aria-label': 'Transfer' } },
      h('label', { attrs: { for: 'transfer-to' } }, 'Transfer to'),
      target,
      move,
    );
    target.addEventListener('focus', () => void store.refreshAgents());
    transfer.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (target.value === '') {
        error.textContent = 'Choose an agent, or the queue, to transfer to.';
        return;
      }
      error.textContent = '';
      move.disabled = true;
      store
        .transfer(id, target.value === QUEUE ? undefined : target.value)
        .catch((err: unknown) => {
          error.textContent = errorText(err);
        })
        .finally(() => {
          move.disabled = false;
        });
    });
    const actions = h('div', { class: 'pane-actions' }, resolve, transfer);

    const transcript = new Transcript(store, id, `Conversation with ${visitor}`);
    const typing = h('p', { class: 'typing muted', attrs: { 'aria-live': 'polite' } });
    const composer = new Composer(store, id);
    composer.dropOn(pane);

    replace(
      pane,
      h('div', { class: 'pane-head' }, back, h('div', { class: 'pane-title' }, title, state), actions),
      error,
      transcript.el,
      typing,
      composer.el,
    );

    let optionsSig: string | undefined;
    update = () => {
      const now = store.conversations.get(id);
      if (!now) return;
      const c = now.record;
      const mine = store.isMine(c);
      state.textContent =
        c.status === 'queued'
          ? `Waiting in the queue for ${waitedSince(c.waiting_since)}`
          : c.status === 'resolved'
            ? 'Resolved'
            : mine
              ? 'Assigned to you'
              : `Assigned to ${store.nameOf(c.agent ?? '')}`;
      actions.hidden = !mine;
      resolve.disabled = !mine || store.link !== 'connected';
      // Whom to hand it to: online agents but oneself (the server still says no to a full one).
      // Drawn again only when that changes: an open drop-down is not closed under the agent's hand.
      const options = store.agents.filter((a) => a.id !== store.me && a.status === 'online');
      const sig = options.map((a) => `${a.id}:${a.name}:${a.load}:${a.capacity}`).join('|');
      if (sig !== optionsSig) {
        optionsSig = sig;
        const keep = target.value;
        replace(
          target,
          h('option', { value: '' }, 'Choose…'),
          ...options.map((a) => h('option', { value: a.id }, `${a.name} (${a.load} / ${a.capacity})`)),
          h('option', { value: QUEUE }, 'Back to the queue'),
        );
        target.value = [...target.options].some((o) => o.value === keep) ? keep : '';
      }
      transcript.update();
      typing.textContent = now.visitorTyping ? 'The visitor is typing…' : '';
      composer.enable(
        mine,
        c.status === 'queued' ? 'Waiting for an agent: routing assigns it.' : c.status === 'resolved' ? 'This conversation is resolved.' : 'Another agent holds this conversation.',
      );
    };
    update();
    // Where the agent goes on: the reply box of their own conversation; on a phone,
    // where the list just went away, the conversation's title (no keyboard popping up).
    if (narrow.matches) title.focus();
    else if (store.isMine(s.record)) composer.focus();
  };

  // A burst of frames (a history arriving message by message) is drawn once.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      update();
    }, 16);
  };
  let shown: string | null | undefined;
  store.on('conversation', (id) => {
    if (store.selected !== shown) {
      shown = store.selected;
      clearTimeout(timer);
      timer = undefined;
      show();
    } else if (id === undefined || id === shown) later();
  });
  store.on('agent', later);
  shown = store.selected;
  show();
  return pane;
}
