// One conversation's messages, oldest at the top: "Load earlier" (or scrolling
// to the top) pages the history upward, new messages join at the bottom. Each
// message is drawn once and kept by its seq (a pending send by its client_id),
// so that a merge never shows one twice and a screen reader hears only what
// is new; only receipts change in place.
import { h, shortTime } from '../lib/dom.js';
import type { ConsoleStore, ConversationState, PendingSend } from './console-store.js';
import { personName, systemLine, type Names } from './format.js';
import type { ChatMessage } from '../lib/records.js';

interface Drawn {
  el: HTMLElement;
  /** What the element shows: drawn again when it changes. */
  sig: string;
  receipt?: HTMLElement;
}

export class Transcript {
  readonly el: HTMLElement;
  private readonly earlier: HTMLButtonElement;
  private readonly items: HTMLElement;
  private readonly drawn = new Map<string, Drawn>();

  constructor(
    private readonly store: ConsoleStore,
    private readonly id: string,
    label: string,
  ) {
    this.earlier = h('button', { type: 'button', class: 'secondary earlier' }, 'Load earlier messages');
    this.earlier.addEventListener('click', () => void store.loadEarlier(id));
    this.items = h('div', { class: 'items' });
    this.el = h(
      'div',
      { class: 'transcript', tabIndex: 0, attrs: { role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': label } },
      this.earlier,
      this.items,
    );
    // Scrolled to the top by the agent (wheel, touch, keys, the scroll bar), not by
    // the page bringing a control into view: the next page comes by itself.
    let userScrolled = 0;
    for (const kind of ['wheel', 'touchmove', 'keydown', 'pointerdown'] as const) {
      this.el.addEventListener(kind, () => (userScrolled = Date.now()), { passive: true });
    }
    this.el.addEventListener('scroll', () => {
      if (this.el.scrollTop < 40 && Date.now() - userScrolled < 1000) void store.loadEarlier(id);
    });
  }

  update(): void {
    const s = this.store.conversations.get(this.id);
    if (!s) return;
    const view = this.el;
    const atBottom = view.scrollHeight - view.scrollTop - view.clientHeight < 48;
    const fromBottom = view.scrollHeight - view.scrollTop;
    const firstBefore = this.items.firstElementChild;

    this.earlier.hidden = this.store.hasAllHistory(s) || s.messages.size === 0;
    this.earlier.disabled = s.loadingEarlier;
    this.earlier.textContent = s.loadingEarlier ? 'Loading…' : 'Load earlier messages';
    this.el.setAttribute('aria-busy', String(s.loadingEarlier));

    const names: Names = { me: this.store.me, nameOf: (u) => this.store.nameOf(u) };
    const wanted: [string, () => Drawn, string][] = [];
    // Who held it before each line: a "transferred" line says to whom, or back to the queue.
    let heldBy: string | null | undefined = undefined;
    for (const m of this.store.messagesOf(s)) {
      if (m.kind === 'system') {
        const line = systemLine(m.text, m.from, names, heldBy);
        if (m.text === 'assigned') heldBy = m.from;
        else if (m.text === 'transferred') heldBy = heldBy === m.from ? null : heldBy === undefined ? undefined : m.from;
        else if (m.text === 'resolved' || m.text === 'reopened') heldBy = m.text === 'reopened' ? null : heldBy;
        wanted.push([`m${m.seq}`, () => this.system(m, line), line]);
      } else {
        wanted.push([`m${m.seq}`, () => this.message(s, m, names), `${m.from}`]);
      }
    }
    for (const p of s.pending.values()) wanted.push([`p${p.clientId}`, () => this.pending(p), `${p.stage}|${p.error ?? ''}`]);

    const keep = new Set(wanted.map(([key]) => key));
    for (const [key, d] of this.drawn) {
      if (!keep.has(key)) {
        d.el.remove();
        this.drawn.delete(key);
      }
    }
    let prev: Element | null = null;
    for (const [key, draw, sig] of wanted) {
      let d = this.drawn.get(key);
      if (d && d.sig !== sig) {
        d.el.remove();
        d = undefined;
      }
      if (!d) {
        d = { ...draw(), sig };
        this.drawn.set(key, d);
      }
      const at: Element | null = prev === null ? this.items.firstElementChild : prev.nextElementSibling;
      if (at !== d.el) this.items.insertBefore(d.el, at);
      prev = d.el;
    }
    for (const m of s.messages.values()) {
      const d = this.drawn.get(`m${m.seq}`);
      if (d?.receipt) d.receipt.textContent = this.store.receiptOf(s, m.seq);
    }

    // New at the bottom: follow them when the agent was there; older ones on top: the view stays put.
    if (atBottom && this.items.firstElementChild === firstBefore) view.scrollTop = view.scrollHeight;
    else if (firstBefore !== null && this.items.firstElementChild !== firstBefore) view.scrollTop = view.scrollHeight - fromBottom;
    else if (firstBefore === null) view.scrollTop = view.scrollHeight;
  }

  private system(m: ChatMessage, line: string): Drawn {
    return { el: h('p', { class: 'msg-system' }, line, ' · ', h('time', { dateTime: m.created_at }, shortTime(m.created_at))), sig: line };
  }

  private message(s: ConversationState, m: ChatMessage, names: Names): Drawn {
    const mine = m.from === this.store.me;
    const fromVisitor = m.from === s.record.visitor;
    const who = fromVisitor ? 'Visitor' : mine ? 'You' : personName(names, m.from);
    const receipt = mine ? h('span', { class: 'receipt' }) : undefined;
    const el = h(
      'div',
      { class: `msg ${mine ? 'msg-me' : fromVisitor ? 'msg-visitor' : 'msg-agent'}`, attrs: { 'data-seq': m.seq } },
      h('div', { class: 'msg-meta' }, h('span', { class: 'msg-who' }, who), ' ', h('time', { dateTime: m.created_at }, shortTime(m.created_at))),
      m.kind === 'image' && m.image !== null ? this.image(m.image, fromVisitor ? 'Image from the visitor' : mine ? 'Image you sent' : `Image from ${who}`) : h('p', { class: 'msg-text' }, m.text ?? ''),
      receipt,
    );
    return { el, sig: '', receipt };
  }

  private image(id: string, alt: string): HTMLElement {
    const img = h('img', { class: 'msg-image', alt });
    const box = h('div', { class: 'msg-image-box' }, img);
    this.store.imageSrc(id).then(
      (src) => {
        img.src = src;
      },
      () => box.replaceChildren(h('p', { class: 'form-error' }, 'The image could not be loaded.')),
    );
    return box;
  }

  private pending(p: PendingSend): Drawn {
    const body = p.preview !== null ? h('img', { class: 'msg-image', alt: 'Image being sent', src: p.preview }) : h('p', { class: 'msg-text' }, p.text ?? '');
    const state =
      p.error !== null
        ? h(
            'div',
            { class: 'pending-error' },
            h('span', { class: 'form-error', attrs: { role: 'alert' } }, `Not sent: ${p.error}`),
            ' ',
            this.button('Retry', () => this.store.retry(this.id, p.clientId)),
            ' ',
            this.button('Dismiss', () => this.store.dismiss(this.id, p.clientId)),
          )
        : h('span', { class: 'receipt' }, p.stage === 'uploading' ? 'Uploading…' : 'Sending…');
    return { el: h('div', { class: 'msg msg-me pending' }, h('div', { class: 'msg-meta' }, h('span', { class: 'msg-who' }, 'You')), body, state), sig: '' };
  }

  private button(label: string, onclick: () => void): HTMLButtonElement {
    const b = h('button', { type: 'button', class: 'secondary small' }, label);
    b.addEventListener('click', onclick);
    return b;
  }
}
